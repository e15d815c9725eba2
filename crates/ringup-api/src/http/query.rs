//! `ApiQuery<T>`: the query-string extractor every handler uses (axum's `Query` is refused by
//! clippy's `disallowed-types`, see `clippy.toml`).
//!
//! Invariants of a query that reaches a handler, each otherwise a 422 naming the parameter:
//!
//! - every name and value is UTF-8 once percent-decoded (`%FF` is not silently replaced);
//! - no name or value holds a control character, not even tab or a line break: a query carries
//!   filters, ids and cursors, never notes, and NUL in particular cannot reach PostgreSQL;
//! - no parameter is given twice (`?limit=1&limit=2`): which one wins would be a guess.
//!
//! Parameters `T` does not name are ignored, so one request can feed two extractors (a
//! filter struct and `ListQuery`). The fields of `T` are strings (or options of strings) that
//! the handler parses itself, so each rule it applies can name its field too.

use std::borrow::Cow;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use percent_encoding::percent_decode;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::http::error::{ApiError, FieldError};

pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let params = params(parts.uri.query().unwrap_or_default())?;
        crate::http::json::from_value(Value::Object(params)).map(ApiQuery)
    }
}

/// The parameters of a raw query string, checked, as a JSON object of strings.
pub fn params(query: &str) -> Result<Map<String, Value>, ApiError> {
    let mut params = Map::new();
    let mut errors = Vec::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = match decode(raw_name) {
            Ok(name) if !name.chars().any(char::is_control) => name,
            _ => {
                errors.push(FieldError::new(
                    lossy(raw_name),
                    "a query parameter's name must be UTF-8 without control characters",
                ));
                continue;
            }
        };
        let value = match decode(raw_value) {
            Ok(value) if value.chars().any(char::is_control) => {
                errors.push(FieldError::new(
                    name,
                    "must not contain NUL or other control characters",
                ));
                continue;
            }
            Ok(value) => value,
            Err(()) => {
                errors.push(FieldError::new(name, "must be UTF-8 once percent-decoded"));
                continue;
            }
        };
        if params.contains_key(&name) {
            if !errors.iter().any(|e| e.field == name) {
                errors.push(FieldError::new(name, "must be given at most once"));
            }
            continue;
        }
        params.insert(name, Value::String(value));
    }
    if errors.is_empty() {
        Ok(params)
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// `application/x-www-form-urlencoded` decoding (`+` is a space), refusing invalid UTF-8.
fn decode(raw: &str) -> Result<String, ()> {
    let spaced: Cow<'_, str> = if raw.contains('+') {
        Cow::Owned(raw.replace('+', " "))
    } else {
        Cow::Borrowed(raw)
    };
    percent_decode(spaced.as_bytes())
        .decode_utf8()
        .map(Cow::into_owned)
        .map_err(|_| ())
}

/// A name that could not be decoded, shown as safe text for the error's `field`.
fn lossy(raw: &str) -> String {
    let bytes: Vec<u8> = percent_decode(raw.as_bytes()).collect();
    String::from_utf8_lossy(&bytes).escape_debug().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(query: &str) -> Vec<String> {
        match params(query) {
            Err(ApiError::Validation(errors)) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("{query}: {other:?}"),
        }
    }

    #[test]
    fn plain_queries_decode() {
        let decoded = params("q=unga+2kg&cursor=&x=%C3%91and%C3%BA&&limit=5").unwrap();
        assert_eq!(decoded["q"], "unga 2kg");
        assert_eq!(decoded["cursor"], "");
        assert_eq!(decoded["x"], "Ñandú");
        assert_eq!(decoded["limit"], "5");
        assert!(params("").unwrap().is_empty());
    }

    #[test]
    fn control_characters_invalid_utf8_and_repeats_name_the_parameter() {
        assert_eq!(fields("q=%00"), ["q"]);
        assert_eq!(fields("action=x%00y&limit=2"), ["action"]);
        assert_eq!(fields("q=a%09b"), ["q"], "not even tab in a query");
        assert_eq!(fields("q=%C2%85"), ["q"], "C1 controls too");
        assert_eq!(fields("q=%FF"), ["q"]);
        assert_eq!(fields("limit=1&limit=2"), ["limit"]);
        assert_eq!(fields("limit=1&limit=2&limit=3"), ["limit"]);
        assert_eq!(fields("q=%00&limit=1&limit=1"), ["q", "limit"]);
        assert_eq!(fields("a%00=1"), ["a\\0"]);
    }
}
