//! A JSON body extractor whose refusals are JSON errors that name the problem: over the limit is
//! 413, anything unparsable (including unknown fields, which request types deny) is 400 with
//! serde's line and column.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::HttpError;

/// A request body parsed as JSON.
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = HttpError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, HttpError> {
        let bytes = read_body(req, state).await?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| HttpError::BadRequest(format!("malformed JSON body: {e}")))
    }
}

/// The raw body within the configured limit.
pub(crate) async fn read_body(req: Request, state: &AppState) -> Result<Bytes, HttpError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            HttpError::TooLarge(format!(
                "request body is larger than the limit of {} bytes",
                state.config.body_limit_bytes
            ))
        } else {
            HttpError::BadRequest(format!("cannot read the request body: {rejection}"))
        }
    })
}

/// Path parameters whose refusals (bad percent-encoding) are JSON errors like every other.
pub(crate) struct PathParams<T>(pub(crate) T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for PathParams<T> {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, HttpError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(t)| PathParams(t))
            .map_err(|e| HttpError::BadRequest(format!("bad path: {}", e.body_text())))
    }
}
