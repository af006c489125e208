//! Bearer-token checks as extractors: a handler names the scope it needs in its signature, so a
//! route cannot forget to check.
//!
//! API routes take only `Authorization: Bearer <token>`. Reviewer pages also take the token as
//! `?token=` (a browser cannot set headers on a link) and then remember it in an HttpOnly,
//! SameSite=Strict cookie so the bundle's relative links keep working. The trade-off: a token in a
//! URL can end up in browser history and proxy logs, so use a read-only token for pages, or run
//! with public pages on a trusted network. The cookie is accepted for pages only, never for a
//! route that changes anything, so a forged cross-site request cannot ride on it.

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::AppState;
use super::error::HttpError;
use crate::tokens::Scope;

/// Name of the cookie that carries a page token.
pub(crate) const PAGE_COOKIE: &str = "factory_token";

/// A scope a route needs, as a type.
pub(crate) trait Need: Send + Sync {
    /// The scope.
    const SCOPE: Scope;
    /// Whether the route is a reviewer page (query and cookie tokens allowed, public-pages applies).
    const PAGE: bool = false;
}

/// Reading runs.
pub(crate) struct Read;
impl Need for Read {
    const SCOPE: Scope = Scope::Read;
}
/// Submitting runs.
pub(crate) struct Submit;
impl Need for Submit {
    const SCOPE: Scope = Scope::Submit;
}
/// Approving or rejecting rollouts.
pub(crate) struct Approve;
impl Need for Approve {
    const SCOPE: Scope = Scope::Approve;
}
/// Reviewer pages.
pub(crate) struct Page;
impl Need for Page {
    const SCOPE: Scope = Scope::Read;
    const PAGE: bool = true;
}

/// Who made the request, after the check passed.
pub(crate) struct Caller<N> {
    /// The token's name (`public` for open pages).
    pub(crate) name: String,
    /// The token, when it came in the query string: the page answer sets the cookie from it.
    pub(crate) query_token: Option<String>,
    _need: PhantomData<N>,
}

impl<N: Need> FromRequestParts<AppState> for Caller<N> {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, HttpError> {
        if N::PAGE && state.config.public_pages {
            return Ok(caller("public".into(), None));
        }
        let (token, query_token) = match bearer(parts)? {
            Some(t) => (t, None),
            None if N::PAGE => match query_token(parts).or_else(|| cookie_token(parts)) {
                Some(t) => {
                    let from_query = query_token(parts).is_some().then(|| t.clone());
                    (t, from_query)
                }
                None => return Err(missing(true)),
            },
            None => return Err(missing(false)),
        };
        let file = state.config.tokens.load_async().await.map_err(|e| {
            tracing::error!(error = %e, "http.tokens");
            HttpError::Internal("the token file cannot be read; see the coordinator log".into())
        })?;
        let Some(entry) = file.find(&token) else {
            return Err(HttpError::Unauthorized("unknown or revoked token".into()));
        };
        if !entry.scopes.contains(&N::SCOPE) {
            return Err(HttpError::Forbidden(format!(
                "token `{}` lacks the `{}` scope this route needs",
                entry.name,
                N::SCOPE.as_str()
            )));
        }
        Ok(caller(entry.name.clone(), query_token))
    }
}

fn caller<N>(name: String, query_token: Option<String>) -> Caller<N> {
    Caller {
        name,
        query_token,
        _need: PhantomData,
    }
}

fn missing(page: bool) -> HttpError {
    let how = if page {
        "send `Authorization: Bearer <token>` or add `?token=<token>` to the URL"
    } else {
        "send `Authorization: Bearer <token>`"
    };
    HttpError::Unauthorized(format!(
        "missing token: {how} (create one with `factory tokens add`)"
    ))
}

fn bearer(parts: &Parts) -> Result<Option<String>, HttpError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| HttpError::Unauthorized("the Authorization header is not text".into()))?;
    match text.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
            Ok(Some(token.trim().to_string()))
        }
        _ => Err(HttpError::Unauthorized(
            "the Authorization header must be `Bearer <token>`".into(),
        )),
    }
}

fn query_token(parts: &Parts) -> Option<String> {
    let query = parts.uri.query()?;
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v)
}

fn cookie_token(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == PAGE_COOKIE)
        .map(|(_, v)| v.to_string())
}
