//! Every problem `type` the API answers with, declared once with its meaning.
//!
//! Invariants:
//! - A problem's `type` is `/problems/<slug>` of a [`ProblemType`]. `PendingProblem` and
//!   `ApiError::Conflict` hold this enum, not text, so no handler can answer a slug that is not
//!   declared here.
//! - `problem_types!` declares each type together with its meaning and builds
//!   [`ProblemType::ALL`] from the same list; the OpenAPI document's `Problem.type` is generated
//!   from `ALL` ([`type_schema`]), so a new type is documented the moment it exists.
//! - Slugs are a contract with clients, who match on them: renaming or removing one breaks
//!   them, and `tests/api/openapi.rs` pins the list.

use std::fmt::Write;

use utoipa::openapi::schema::{Object, ObjectBuilder, Type};

macro_rules! problem_types {
    ($($variant:ident => $slug:literal, $meaning:literal;)+) => {
        /// A stable problem type: see the module documentation.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ProblemType {
            $($variant,)+
        }

        impl ProblemType {
            /// Every problem type, in the order the documentation lists them.
            pub const ALL: &'static [ProblemType] = &[$(ProblemType::$variant,)+];

            /// The last segment of `type`, which clients match on.
            pub fn slug(self) -> &'static str {
                match self {
                    $(ProblemType::$variant => $slug,)+
                }
            }

            /// The status that carries it and what it means, as documented.
            pub fn meaning(self) -> &'static str {
                match self {
                    $(ProblemType::$variant => $meaning,)+
                }
            }
        }
    };
}

problem_types! {
    BadRequest => "bad-request",
        "400: the request cannot be read: malformed JSON, a key repeated in one object, a body \
         without a JSON `Content-Type`, or a path the router cannot decode (415 when the \
         framework refuses the media type).";
    Unauthorized => "unauthorized",
        "401: credentials are missing, malformed, expired or revoked (`WWW-Authenticate: Bearer`).";
    Forbidden => "forbidden", "403: the caller's role or stores do not allow this.";
    CsrfFailed => "csrf-failed",
        "403: an unsafe request on a cookie session without the `csrf_token` cookie's value in \
         `X-CSRF-Token`.";
    NotFound => "not-found", "404: no such resource, none the caller may see, or no such route.";
    MethodNotAllowed => "method-not-allowed", "405: the route does not take this method.";
    NotAcceptable => "not-acceptable",
        "406: none of the media types the `Accept` header allows can be served.";
    RequestTimeout => "request-timeout",
        "408: the request took longer than the server's request timeout and was abandoned.";
    AlreadyTaken => "already-taken",
        "409: a value that must be unique (a name, username, e-mail, SKU, barcode, phone \
         number) is already used; `errors[].field` names it.";
    InsufficientStock => "insufficient-stock",
        "409: not enough stock is available; `errors[]` names each short line.";
    ShiftOpen => "shift-open", "409: the register already has an open shift.";
    ShiftClosed => "shift-closed",
        "409: the shift is closed, or the register has no open shift to take the change.";
    SaleVoided => "sale-voided", "409: the sale was voided, so nothing can be returned from it.";
    SaleNotVoidable => "sale-not-voidable",
        "409: the sale cannot be voided: it is already voided or has returns.";
    OverReturn => "over-return",
        "409: more would be returned than was sold minus what was already returned; `errors[]` \
         names each line.";
    InvalidTransition => "invalid-transition",
        "409: the transfer's status does not allow this action (or changed while the request ran).";
    IdempotencyKeyInFlight => "idempotency-key-in-flight",
        "409: a request with this `Idempotency-Key` is still being processed; retry later.";
    PayloadTooLarge => "payload-too-large",
        "413: the request body is larger than the server's limit.";
    ValidationFailed => "validation-failed",
        "422: fields are invalid; `errors[]` names each (`field` is a JSON path, parameter or \
         header) and what is wrong with it.";
    OutOfRange => "out-of-range",
        "422: the change would store an amount outside 0 to 10^12 minor units or a stock level \
         beyond 10^9 units; nothing was changed.";
    RateLimited => "rate-limited",
        "429: too many requests from this client address or with this API key; retry after \
         `Retry-After` seconds.";
    Internal => "internal",
        "500 (or another 5xx): an internal error; the body says nothing more, so quote \
         `request_id` when reporting it.";
    Unavailable => "unavailable", "503: the database is unavailable, or more writes are queued than the server accepts; nothing was changed, retry after `Retry-After` seconds.";
    NotReady => "not-ready",
        "503 from `/readyz`: a dependency is not answering; `errors[].field` names it.";
    Error => "error", "Any other error status the framework answers by itself.";
}

impl ProblemType {
    /// The `type` member as sent: `/problems/<slug>`.
    pub fn uri(self) -> String {
        format!("/problems/{}", self.slug())
    }
}

/// The schema of `Problem.type`: a string, with every type and its meaning listed in the
/// description. Deliberately not an `enum`: clients generated from a closed set would fail on
/// a type added later, and RFC 9457 asks clients to treat unknown types as the status alone.
pub fn type_schema() -> Object {
    let mut description = String::from(
        "A URI reference naming the kind of problem; match on it. Clients should treat a type \
         not listed here by its `status`. The types ringup answers:\n",
    );
    for kind in ProblemType::ALL {
        // Writing to a String cannot fail.
        let _ = write!(description, "\n- `{}`: {}", kind.uri(), kind.meaning());
    }
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(utoipa::openapi::SchemaFormat::Custom(
            "uri-reference".to_owned(),
        )))
        .description(Some(description))
        .examples(ProblemType::ALL.iter().map(|kind| kind.uri()))
        .build()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn slugs_are_unique_lower_kebab_case_and_documented() {
        let mut seen = HashSet::new();
        for kind in ProblemType::ALL {
            let slug = kind.slug();
            assert!(seen.insert(slug), "{slug} is declared twice");
            assert!(
                !slug.is_empty()
                    && slug.split('-').all(
                        |part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase())
                    ),
                "{slug} is not lower kebab case"
            );
            assert!(kind.meaning().len() > 10, "{slug} has no meaning");
        }
    }
}
