//! Senlin's answers: one top-level key, and 202 + `Location` of the action for what starts one.

use super::context::Caller;
use super::error::SenlinError;
use crate::Answer;
use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub type Reply = Result<Response, SenlinError>;

/// `{key: value}` with `status`.
pub fn keyed(status: StatusCode, key: &str, value: Value) -> Reply {
    Ok((status, Json(json!({ key: value }))).into_response())
}

/// The action id of a `/v1` answer that started one (its `Location: /v1/actions/<id>`).
pub fn action_id(answer: &Answer) -> Option<String> {
    let location = answer.headers.get(header::LOCATION)?.to_str().ok()?;
    location.strip_prefix("/v1/actions/").map(str::to_owned)
}

/// 202 with Senlin's `Location` of `action` and `body` (none: an empty body).
pub fn accepted(caller: &Caller, action: &str, body: Option<Value>) -> Reply {
    let location = [(header::LOCATION, caller.action_url(action))];
    Ok(match body {
        Some(body) => (StatusCode::ACCEPTED, location, Json(body)).into_response(),
        None => (StatusCode::ACCEPTED, location).into_response(),
    })
}

/// 202 + `Location` + `{"action": id}` for a `/v1` answer that started an action.
pub fn started(caller: &Caller, answer: &Answer) -> Reply {
    let id = action_id(answer).ok_or_else(|| SenlinError::internal("the action started has no Location"))?;
    accepted(caller, &id, Some(json!({ "action": id })))
}
