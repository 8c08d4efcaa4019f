//! `/v1/receivers`: webhooks. Create answers the trigger URL with an unguessable secret (kept
//! only as a digest, never in the idempotency store); `POST /v1/webhooks/{secret}` runs the
//! stored cluster action with the stored params, without a token; its body may set only the
//! parameters the receiver lists as `overridable` (none by default; Senlin merged any, so
//! whoever held the URL chose the count); deleting the receiver revokes it.

use super::cluster_actions::submit;
use super::clusters::accepted_action;
use super::{convert, list_params};
use crate::error::ApiError;
use crate::http::extract::ApiQuery;
use crate::http::idempotency::SecretAnswer;
use crate::identity::principal::Principal;
use crate::identity::secret;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::{Extension, Json};
use flotilla_api::{ActionAccepted, ClusterActionRequest, ErrorBody, ListQuery, Receiver, ReceiverCreate, ReceiverList};
use flotilla_core::action::Cause;
use flotilla_core::{Name, ReceiverId, ValidationError, metadata};
use flotilla_store::Scope;
use serde_json::{Map, Value};

/// The actions a webhook may run, with their parameters.
const ACTIONS: [(&str, &[&str]); 5] = [
    ("scale_out", &["count"]),
    ("scale_in", &["count"]),
    ("resize", &["adjustment_type", "number", "min_size", "max_size", "min_step", "strict"]),
    ("check", &[]),
    ("recover", &["operation"]),
];

/// The parameters of the webhook action `action`, or why it is not one.
fn action_params(action: &str) -> Result<&'static [&'static str], ValidationError> {
    ACTIONS.iter().find(|(name, _)| *name == action).map(|(_, params)| *params).ok_or_else(|| {
        let names: Vec<&str> = ACTIONS.iter().map(|(name, _)| *name).collect();
        ValidationError::new("action", action, format!("a webhook runs one of {}", names.join(", ")))
    })
}

/// Names listed (`what`) as a comma-separated list, or `none`.
fn listed(names: &[impl AsRef<str>]) -> String {
    if names.is_empty() { "none".to_owned() } else { names.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(", ") }
}

/// The cluster action `action` with `params` (a JSON object), or why not (`field` names it).
fn action_request(action: &str, params: Map<String, Value>, field: &str) -> Result<ClusterActionRequest, ApiError> {
    let value = Value::Object(Map::from_iter([(action.to_owned(), Value::Object(params))]));
    serde_json::from_value(value).map_err(|e| ValidationError::new(field, action, format!("bad parameters: {e}")).into())
}

/// Creates a webhook receiver; the answer (`Location`: the receiver) carries its trigger URL,
/// shown this once: a retry with the same `Idempotency-Key` is a 409, never the URL again.
#[utoipa::path(post, path = "/v1/receivers", tag = "receivers", request_body = ReceiverCreate,
    responses((status = 201, body = Receiver), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_receiver(
    State(state): State<AppState>,
    caller: Principal,
    headers: HeaderMap,
    crate::http::extract::ApiJson(body): crate::http::extract::ApiJson<ReceiverCreate>,
) -> Result<(StatusCode, [(header::HeaderName, String); 1], Extension<SecretAnswer>, Json<Receiver>), ApiError> {
    caller.require_write()?;
    let name = Name::parse("name", &body.name)?;
    metadata::validate(&body.metadata)?;
    if body.type_name != "webhook" {
        return Err(ValidationError::new("type", &body.type_name, "only webhook receivers exist").into());
    }
    let known = action_params(&body.action)?;
    for (i, name) in body.overridable.iter().enumerate() {
        let reason = if !known.contains(&name.as_str()) {
            format!("{} takes only these parameters: {}", body.action, listed(known))
        } else if body.overridable[..i].contains(name) {
            "is listed twice".to_owned()
        } else {
            continue;
        };
        return Err(ValidationError::new(format!("overridable[{i}]"), name, reason).into());
    }
    action_request(&body.action, body.params.clone(), "params")?;
    let cluster = super::referenced(state.store.cluster(caller.scope(None)?, &body.cluster).await, "cluster", &body.cluster)?;
    let now = flotilla_core::now();
    let receiver = flotilla_store::Receiver {
        id: ReceiverId::new(),
        name,
        project_id: caller.project_id,
        user_id: caller.user_id,
        type_name: body.type_name,
        cluster_id: cluster.id,
        action: body.action,
        params: Value::Object(body.params).to_string(),
        overridable: body.overridable,
        metadata: body.metadata,
        created_at: now,
        updated_at: now,
    };
    let secret = secret::generate();
    state.store.create_receiver(&receiver, &secret::digest(&secret)).await?;
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let url = format!("http://{host}/v1/webhooks/{secret}");
    tracing::info!(receiver = %receiver.name, cluster = %cluster.name, "webhook receiver created");
    let location = [(header::LOCATION, format!("/v1/receivers/{}", receiver.id))];
    Ok((StatusCode::CREATED, location, Extension(SecretAnswer), Json(convert::receiver(receiver, Some(url)))))
}

#[utoipa::path(get, path = "/v1/receivers", tag = "receivers", params(ListQuery), responses((status = 200, body = ReceiverList)))]
pub async fn list_receivers(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<ReceiverList>, ApiError> {
    let params = list_params(&query)?;
    let page = state.store.list_receivers(caller.scope(query.all_projects)?, query.name.as_deref(), &params).await?;
    Ok(Json(ReceiverList { receivers: page.items.into_iter().map(|r| convert::receiver(r, None)).collect(), next: page.next }))
}

#[utoipa::path(get, path = "/v1/receivers/{receiver}", tag = "receivers", params(("receiver" = String, Path, description = "id or name")),
    responses((status = 200, body = Receiver), (status = 404, body = ErrorBody)))]
pub async fn get_receiver(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<Json<Receiver>, ApiError> {
    Ok(Json(convert::receiver(state.store.receiver(caller.scope(None)?, &key).await?, None)))
}

#[utoipa::path(delete, path = "/v1/receivers/{receiver}", tag = "receivers", params(("receiver" = String, Path, description = "id or name")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_receiver(State(state): State<AppState>, caller: Principal, Path(key): Path<String>) -> Result<StatusCode, ApiError> {
    caller.require_write()?;
    let receiver = state.store.receiver(caller.scope(None)?, &key).await?;
    state.store.delete_receiver(receiver.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Triggers a webhook: no token, the secret in the URL is the credential.
#[utoipa::path(post, path = "/v1/webhooks/{secret}", tag = "receivers", params(("secret" = String, Path, description = "the receiver's secret")),
    responses((status = 202, body = ActionAccepted), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn trigger_webhook(State(state): State<AppState>, Path(secret): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    let receiver = state
        .store
        .receiver_by_secret(&secret::digest(&secret))
        .await
        .map_err(|_| ApiError::NotFound("no receiver has this URL (deleted?)".to_owned()))?;
    let mut params: Map<String, Value> = serde_json::from_str(&receiver.params).unwrap_or_default();
    if !body.is_empty() {
        let extra: Map<String, Value> = crate::http::extract::parse_json(&body)?;
        if let Some(name) = extra.keys().find(|name| !receiver.overridable.contains(name)) {
            let reason = format!("this receiver lets a trigger override only: {}", listed(&receiver.overridable));
            return Err(ValidationError::new(format!("body.{name}"), &extra[name], reason).into());
        }
        params.extend(extra);
    }
    let request = action_request(&receiver.action, params, "body")?;
    let cluster = state.store.cluster(Scope::All, &receiver.cluster_id.to_string()).await?;
    let action = submit(&state, &cluster, receiver.user_id, request, Cause::Receiver).await?;
    tracing::info!(receiver = %receiver.name, action = %action.id, "webhook triggered");
    Ok(accepted_action(action.id))
}
