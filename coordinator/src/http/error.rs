//! Errors as the HTTP API answers them: a status and `{"error": {"code", "message"}}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::api::ApiError;

/// Everything a route can answer with instead of success. Codes are stable; messages are for people.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HttpError {
    /// Malformed or invalid request (400, `bad_request`).
    #[error("{0}")]
    BadRequest(String),
    /// No credentials, or credentials nobody issued (401, `unauthorized`).
    #[error("{0}")]
    Unauthorized(String),
    /// Valid credentials without the scope the route needs (403, `forbidden`).
    #[error("{0}")]
    Forbidden(String),
    /// No such route, run or file (404, `not_found`).
    #[error("{0}")]
    NotFound(String),
    /// The run's state does not allow this (409, `conflict`).
    #[error("{0}")]
    Conflict(String),
    /// The body is over the limit (413, `payload_too_large`).
    #[error("{0}")]
    TooLarge(String),
    /// A feature that is not configured on this coordinator (503, `unavailable`).
    #[error("{0}")]
    Unavailable(String),
    /// Something broke on our side (500, `internal`).
    #[error("{0}")]
    Internal(String),
}

impl HttpError {
    /// The HTTP status and the stable machine-readable code.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            HttpError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            HttpError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            HttpError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            HttpError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            HttpError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            HttpError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            HttpError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            HttpError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl From<ApiError> for HttpError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::NotFound => HttpError::NotFound("no such run".into()),
            ApiError::Conflict(m) => HttpError::Conflict(m),
            ApiError::Invalid(m) => HttpError::BadRequest(m),
            ApiError::Internal(m) => HttpError::Internal(m),
        }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if status.is_server_error() {
            tracing::error!(code, message = %self, "http.error");
        }
        let body = serde_json::json!({ "error": { "code": code, "message": self.to_string() } });
        (status, Json(body)).into_response()
    }
}
