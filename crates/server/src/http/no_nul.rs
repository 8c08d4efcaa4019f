//! Refuses a request whose path or query holds a NUL character (`%00`): no name, id or filter has one,
//! and PostgreSQL cannot store or compare text holding it. (Bodies are checked by `ApiJson`.)

use crate::error::ApiError;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The middleware: 400 naming the part of the URL at fault, else the next handler.
pub async fn layer(request: Request, next: Next) -> Response {
    let uri = request.uri();
    let part = if holds_nul(uri.path()) {
        Some("path")
    } else if uri.query().is_some_and(holds_nul) {
        Some("query")
    } else {
        None
    };
    match part {
        Some(part) => ApiError::BadRequest(format!("the request's {part} holds a NUL character (%00)")).into_response(),
        None => next.run(request).await,
    }
}

fn holds_nul(text: &str) -> bool {
    text.contains("%00")
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_an_escaped_nul_counts() {
        assert!(super::holds_nul("/v1/containers/a%00b"));
        assert!(!super::holds_nul("/v1/containers/a%2500b"));
        assert!(!super::holds_nul("name=100"));
    }
}
