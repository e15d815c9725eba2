//! `Idempotency-Key` over HTTP (docs/API.md "Idempotency"), on top of the store's one mechanism.
//!
//! A handler that accepts a key reads its body with [`HashedJson`] (the request hash covers
//! method, path and the body's canonical JSON, so whitespace and key order do not matter) and
//! hands key and hash to its use case ([`IdempotencyKey::with_hash`]), whose write claims the
//! key in its transaction (`ringup_app::write`); [`respond`] turns what it wrote into the
//! response. Same key and same request: the original response, replayed with
//! `Idempotent-Replayed: true` and no new effect (no audit event either). Same key, different
//! request: 422. Keys are scoped to the caller and kept 24 hours.

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::de::DeserializeOwned;

use ringup_app::write::{Idempotency, Written};
use ringup_core::tokens::hash_token;

use crate::http::error::{ApiError, FieldError};
use crate::http::json::{from_value, json_bytes, parse_value};

pub static IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
pub static IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// The request's `Idempotency-Key`, when it sent one: 1–255 visible ASCII characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey(pub Option<String>);

fn invalid_key(message: &str) -> ApiError {
    ApiError::Validation(vec![FieldError::new("Idempotency-Key", message)])
}

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(&IDEMPOTENCY_KEY) else {
            return Ok(IdempotencyKey(None));
        };
        let text = value
            .to_str()
            .map_err(|_| invalid_key("must be visible ASCII characters"))?;
        let ok = (1..=255).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_graphic());
        if !ok {
            return Err(invalid_key("must be 1 to 255 visible ASCII characters"));
        }
        Ok(IdempotencyKey(Some(text.to_owned())))
    }
}

impl IdempotencyKey {
    /// The key (if sent) with the hash of its request, as a use case takes it.
    pub fn with_hash<'a>(&'a self, request_hash: &'a str) -> Option<Idempotency<'a>> {
        self.0
            .as_deref()
            .map(|key| Idempotency { key, request_hash })
    }

    /// The key of a route that requires one (422 when it is missing).
    pub fn required(&self) -> Result<&str, ApiError> {
        self.0
            .as_deref()
            .ok_or_else(|| invalid_key("is required on this route"))
    }
}

/// A JSON body and the hash idempotency compares requests by.
pub struct HashedJson<T> {
    pub value: T,
    pub hash: String,
}

impl<S, T> FromRequest<S> for HashedJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let target = format!("{} {}", req.method(), req.uri().path());
        let bytes = json_bytes(req, state).await?;
        let value = parse_value(&bytes)?;
        // serde_json's map is ordered by key, so this text is canonical.
        let hash = hash_token(&format!("{target}\n{value}"));
        Ok(HashedJson {
            value: from_value(value)?,
            hash,
        })
    }
}

fn replay(status: u16, body: String) -> Response {
    let mut response = json_response(status, body);
    response.headers_mut().insert(
        IDEMPOTENT_REPLAYED.clone(),
        HeaderValue::from_static("true"),
    );
    response
}

/// The response of a use case's write: its reply, marked `Idempotent-Replayed` when it is the
/// answer given to the key's first request.
pub fn respond<T>(written: Written<T>) -> Response {
    match written {
        Written::Fresh { reply, .. } => json_response(reply.status, reply.body),
        Written::Replayed(reply) => replay(reply.status, reply.body),
    }
}

fn json_response(status: u16, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
