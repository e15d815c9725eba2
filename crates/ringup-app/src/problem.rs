//! The one shape of "this field breaks this rule", shared by every domain's errors and
//! rendered as an entry of a problem's `errors[]`.

use serde::Serialize;
use utoipa::ToSchema;

/// One broken rule of a request: which field and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// Where the rule broke: a JSON path into the body (`lines[2].quantity`), a query
    /// parameter, a header (`Idempotency-Key`) or, for `not-ready`, a dependency.
    pub field: String,
    /// What is wrong, in plain English.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}
