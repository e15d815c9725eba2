//! Helpers every handler uses to validate a body or query field by field, collecting every
//! broken rule so a 422 lists them all at once, and the one shape of "already taken" conflicts.

use ringup_core::text;

use crate::http::error::FieldError;

/// The value of `result`, or `None` after recording its error against `field`.
pub fn collect<T, E: std::fmt::Display>(
    field: &str,
    result: Result<T, E>,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    result
        .map_err(|e| errors.push(FieldError::new(field, e.to_string())))
        .ok()
}

/// A display name (a product's, a store's, a register's, …): trimmed, 1 to `max_chars`
/// characters, no control character and at least one visible one (`ringup_core::text`).
pub fn display_name(
    field: &str,
    raw: &str,
    max_chars: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    bounded(field, raw, max_chars, text::check_name, errors)
}

/// Free text that must say something (a void reason, a cash movement's reason): trimmed, 1 to
/// `max_chars` characters with a visible one; tab and line breaks allowed.
pub fn required_text(
    field: &str,
    raw: &str,
    max_chars: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    bounded(field, raw, max_chars, text::check_required_text, errors)
}

fn bounded(
    field: &str,
    raw: &str,
    max_chars: usize,
    rule: fn(&str) -> Result<(), text::TextError>,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let value = raw.trim();
    if value.is_empty() || value.chars().count() > max_chars {
        errors.push(FieldError::new(
            field,
            format!("must be 1 to {max_chars} characters"),
        ));
        return None;
    }
    collect(field, rule(value), errors)?;
    Some(value.to_owned())
}

/// Parses an optional `true`/`false` query value.
pub fn parse_flag(field: &str, text: Option<&str>, errors: &mut Vec<FieldError>) -> Option<bool> {
    match text {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => {
            errors.push(FieldError::new(field, "must be true or false"));
            None
        }
    }
}

/// Parses an optional id from the query string.
pub fn parse_query_id<T>(
    field: &str,
    text: Option<&str>,
    parse: fn(&str) -> Result<T, ringup_core::ids::IdError>,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    text.and_then(|t| {
        parse(t)
            .map_err(|e| errors.push(FieldError::new(field, e.to_string())))
            .ok()
    })
}

/// An optional free-text note, at most `max` characters (blank is none), no control
/// character but tab and line breaks (the JSON extractor refuses those already; this keeps the
/// rule true for text that reaches a handler another way).
pub fn optional_text(
    field: &str,
    text: Option<&str>,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let text = text.map(str::trim).filter(|t| !t.is_empty())?;
    collect(field, text::check_text(text), errors)?;
    if text.chars().count() > max {
        errors.push(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
        return None;
    }
    Some(text.to_owned())
}

/// An optional RFC 3339 time from the query, as database text.
pub fn parse_time(field: &str, text: Option<&str>, errors: &mut Vec<FieldError>) -> Option<String> {
    text.and_then(|t| {
        ringup_store::platform::time::from_db(t)
            .map(ringup_store::platform::time::to_db)
            .map_err(|_| errors.push(FieldError::new(field, "must be an RFC 3339 timestamp")))
            .ok()
    })
}
