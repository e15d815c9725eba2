//! Helpers every handler uses to validate a body field by field, collecting every broken rule
//! so a 422 lists them all at once, and the one shape of "already taken" conflicts.

use crate::error::{ApiError, FieldError};

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

/// A display name: trimmed, 1 to `max_chars` characters.
pub fn display_name(
    field: &str,
    raw: &str,
    max_chars: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > max_chars {
        errors.push(FieldError::new(
            field,
            format!("must be 1 to {max_chars} characters"),
        ));
        return None;
    }
    Some(name.to_owned())
}

/// 409: a unique value (`field`) is already used by another resource.
pub fn taken(field: &str) -> ApiError {
    ApiError::Conflict {
        slug: "already-taken",
        detail: format!("this {field} is already taken"),
        errors: vec![FieldError::new(field, "is already taken")],
    }
}
