//! `ApiJson<T>`: the JSON body extractor every handler uses.
//!
//! It answers with the problem statuses of the API contract rather than axum's defaults:
//! a missing or wrong `Content-Type`, malformed JSON and an object with a repeated key are 400;
//! a well-formed body with an unknown field, a missing field, a value its type rejects, a
//! string holding a control character or nesting deeper than 32 is 422 with `errors[].field`
//! set to the JSON path of the offending value; a body over the limit is 413. The body is read
//! by [`strict`], whose invariants every handler can rely on.

pub mod strict;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::http::error::{ApiError, FieldError};
use strict::Refusal;

pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = json_bytes(req, state).await?;
        parse(&bytes).map(ApiJson)
    }
}

/// The body of a JSON request: 400 without a JSON content type, 413 over the limit.
pub async fn json_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    if !is_json(&req) {
        return Err(ApiError::BadRequest(
            "expected a JSON body with `Content-Type: application/json`".to_owned(),
        ));
    }
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            ApiError::BadRequest("the request body could not be read".to_owned())
        }
    })
}

fn is_json(req: &Request) -> bool {
    let Some(value) = req.headers().get(header::CONTENT_TYPE) else {
        return false;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
        || (essence.len() > 5
            && essence
                .get(essence.len() - 5..)
                .is_some_and(|tail| tail.eq_ignore_ascii_case("+json")))
}

/// Parses a JSON body into `T`, classifying failures as the API contract wants.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    from_value(parse_value(bytes)?)
}

/// Syntax first, over the whole body (trailing data included), so a malformed body is 400
/// whatever its prefix holds (unless it nests too deep: see [`strict`]).
pub fn parse_value(bytes: &[u8]) -> Result<serde_json::Value, ApiError> {
    strict::parse(bytes).map_err(|refusal| match refusal {
        Refusal::Malformed(err) => malformed(&err),
        Refusal::DuplicateKey { path, key } => {
            let place = if path.is_empty() {
                String::new()
            } else {
                format!(" at `{path}`")
            };
            ApiError::BadRequest(format!(
                "malformed JSON: the key `{key}` appears more than once in one object{place}"
            ))
        }
        Refusal::TooDeep { path } => ApiError::validation(
            path,
            format!("nests deeper than {} levels", strict::MAX_DEPTH),
        ),
        Refusal::Control { paths } => ApiError::Validation(
            paths
                .into_iter()
                .map(|path| {
                    FieldError::new(path, ringup_core::text::TextError::Control.to_string())
                })
                .collect(),
        ),
    })
}

/// Then the shape, which is 422 with the path of the bad value.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let message = data_message(&inner);
        let field = field_path(&path, &message);
        ApiError::Validation(vec![FieldError::new(field, message)])
    })
}

/// The JSON path of the offending value. serde reports a missing field at its parent's path,
/// naming the field only in the message (``missing field `quantity` ``), so it is appended here.
fn field_path(path: &str, message: &str) -> String {
    let parent = if path == "." { "" } else { path };
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    match missing {
        Some(name) if parent.is_empty() => name.to_owned(),
        Some(name) => format!("{parent}.{name}"),
        None => parent.to_owned(),
    }
}

fn malformed(err: &serde_json::Error) -> ApiError {
    ApiError::BadRequest(format!("malformed JSON: {err}"))
}

/// serde's message without its " at line L column C" suffix, which means nothing to a client
/// that is told the field path instead.
fn data_message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(cut) => text.get(..cut).unwrap_or(&text).to_owned(),
        None => text,
    }
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// A JSON response carrying a secret (access and refresh tokens, an API key shown once):
/// `Cache-Control: no-store` so no browser, proxy or CDN keeps a copy (RFC 9111 §5.2.2.5;
/// RFC 6749 §5.1 asks it of token responses), and `Pragma: no-cache` for HTTP/1.0 caches.
pub struct SecretJson<T>(pub T);

impl<T: Serialize> IntoResponse for SecretJson<T> {
    fn into_response(self) -> Response {
        no_store(ApiJson(self.0).into_response())
    }
}

/// Marks a response that carries a secret as [`SecretJson`] does, for one built another way
/// (a use case's reply).
pub fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        lines: Vec<Line>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Line {
        quantity: u32,
    }

    fn field_of(err: ApiError) -> (u16, Vec<FieldError>) {
        let status = err.status().as_u16();
        match err {
            ApiError::Validation(errors) => (status, errors),
            _ => (status, vec![]),
        }
    }

    #[test]
    fn syntax_errors_are_400() {
        for body in [&b"{"[..], b"", b"{\"name\":}", b"{} {}", b"nope"] {
            let err = parse::<Body>(body).unwrap_err();
            assert_eq!(
                err.status().as_u16(),
                400,
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn data_errors_are_422_with_the_path() {
        let (status, errors) =
            field_of(parse::<Body>(br#"{"name":"a","lines":[{"quantity":-1}]}"#).unwrap_err());
        assert_eq!(status, 422);
        assert_eq!(errors[0].field, "lines[0].quantity");
        assert!(
            !errors[0].message.contains("line "),
            "{}",
            errors[0].message
        );

        let (status, errors) =
            field_of(parse::<Body>(br#"{"name":"a","lines":[],"nmae":1}"#).unwrap_err());
        assert_eq!(status, 422);
        assert!(errors[0].message.contains("unknown field `nmae`"));

        let (status, errors) = field_of(parse::<Body>(br#"{"lines":[]}"#).unwrap_err());
        assert_eq!(status, 422);
        assert_eq!(errors[0].field, "name");
        let (_, errors) = field_of(parse::<Body>(br#"{"name":"a","lines":[{}]}"#).unwrap_err());
        assert_eq!(errors[0].field, "lines[0].quantity");
    }

    #[test]
    fn strict_refusals_map_to_400_and_422_with_the_path() {
        let err = parse::<Body>(br#"{"name":"a","name":"b","lines":[]}"#).unwrap_err();
        assert_eq!(err.status().as_u16(), 400);
        assert!(err.to_string().contains("`name`"), "{err}");

        let (status, errors) =
            field_of(parse::<Body>(br#"{"name":"a\u0000","lines":[{"quantity":1}]}"#).unwrap_err());
        assert_eq!(status, 422);
        assert_eq!(errors[0].field, "name");
        assert!(
            errors[0].message.contains("control"),
            "{}",
            errors[0].message
        );

        let deep = format!(r#"{{"name":"a","lines":{}}}"#, "[".repeat(40));
        let (status, _) = field_of(parse::<Body>(deep.as_bytes()).unwrap_err());
        assert_eq!(status, 422);
    }

    #[test]
    fn well_formed_bodies_parse() {
        let body: Body = parse(br#"{"name":"a","lines":[{"quantity":2}]}"#).unwrap();
        assert_eq!(body.lines[0].quantity, 2);
    }
}
