//! The one API error type and its RFC 9457 `application/problem+json` rendering.
//!
//! Handlers return `Result<_, ApiError>`. `ApiError::into_response` does not write the body: it
//! attaches a [`Problem`] to the response, and the `finish_response` middleware renders it with
//! the request's id and path. The same middleware turns the framework's own error responses
//! (unknown route, wrong method, timeout, oversized body) into problems, so every error a client
//! sees has one shape. Internal causes go to the log, never into a body.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use ringup_app::WriteError;
use ringup_app::catalog::CatalogError;
use ringup_app::checkout::CheckoutError;
use ringup_app::reports::ReportError;
use ringup_app::stock::StockError;
use ringup_app::users::{AuthError, UsersError};
use ringup_core::catalog::Money;
use ringup_store::StoreError;
use ringup_store::checkout::shifts::ShiftRefusal;

use crate::errors::ErrorCause;
use crate::http::problem_type::ProblemType;

pub use ringup_app::FieldError;

/// An RFC 9457 problem (`application/problem+json`): the body of every 4xx and 5xx answer.
/// `type` is a stable URI reference (`/problems/<slug>`) clients can match on; 5xx bodies never
/// carry the cause.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    #[schema(schema_with = crate::http::problem_type::type_schema)]
    pub kind: String,
    /// The status's reason phrase (`Conflict`): the same for every problem with that status.
    pub title: String,
    /// The HTTP status, repeated.
    pub status: u16,
    /// What went wrong on this occasion, for people.
    pub detail: String,
    /// The path of the request that failed.
    pub instance: String,
    /// The request's id, as in the `X-Request-Id` header and the server's log.
    pub request_id: String,
    /// Each broken rule, when there are several or a field to name (omitted when empty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// What a handler or extractor says went wrong. Rendered by the `finish_response` middleware.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required")]
    Unauthorized,
    #[error("not allowed")]
    Forbidden,
    /// A cookie session's unsafe request without the matching `X-CSRF-Token`.
    #[error("CSRF token missing or wrong")]
    CsrfFailed,
    #[error("not found")]
    NotFound,
    /// None of the media types the `Accept` header allows can be served.
    #[error("not acceptable")]
    NotAcceptable,
    #[error("{detail}")]
    Conflict {
        kind: ProblemType,
        detail: String,
        errors: Vec<FieldError>,
    },
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// The database refused to store a total outside its range: input the checks before it
    /// let through (the cause is logged).
    #[error("a total would leave its range")]
    OutOfRange(#[source] StoreError),
    #[error("too many requests")]
    RateLimited { retry_after_secs: u64 },
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A readiness check failed; each entry names the check (`database`, `redis`).
    #[error("not ready")]
    NotReady(Vec<FieldError>),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The problem attached to an error response until the middleware renders it.
#[derive(Clone, Debug)]
pub struct PendingProblem {
    pub kind: ProblemType,
    pub title: &'static str,
    pub detail: String,
    pub errors: Vec<FieldError>,
}

impl ApiError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }

    pub fn internal(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        ApiError::Internal(Box::new(err))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden | ApiError::CsrfFailed => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Validation(_) | ApiError::OutOfRange(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) | ApiError::NotReady(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What error tracking records of a 5xx answer: its kind and the internal message (the
    /// cause chain of an internal error), which never reaches the body. `None` below 500.
    fn cause(&self) -> Option<ErrorCause> {
        let (kind, message) = match self {
            ApiError::Internal(source) => (ProblemType::Internal, cause_chain(source.as_ref())),
            ApiError::Unavailable(detail) => (ProblemType::Unavailable, detail.clone()),
            ApiError::NotReady(errors) => (
                ProblemType::NotReady,
                errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            _ => return None,
        };
        Some(ErrorCause {
            kind: kind.slug(),
            message,
        })
    }

    fn pending(self) -> PendingProblem {
        let status = self.status();
        let (kind, detail, errors) = match self {
            ApiError::BadRequest(detail) => (ProblemType::BadRequest, detail, vec![]),
            ApiError::Unauthorized => (
                ProblemType::Unauthorized,
                "valid credentials are required".to_owned(),
                vec![],
            ),
            ApiError::Forbidden => (
                ProblemType::Forbidden,
                "you are not allowed to do this".to_owned(),
                vec![],
            ),
            ApiError::CsrfFailed => (
                ProblemType::CsrfFailed,
                "send the csrf_token cookie's value in X-CSRF-Token".to_owned(),
                vec![],
            ),
            ApiError::NotFound => (ProblemType::NotFound, "no such resource".to_owned(), vec![]),
            ApiError::NotAcceptable => (
                ProblemType::NotAcceptable,
                "none of the media types in Accept can be served".to_owned(),
                vec![],
            ),
            ApiError::Conflict {
                kind,
                detail,
                errors,
            } => (kind, detail, errors),
            ApiError::PayloadTooLarge => (
                ProblemType::PayloadTooLarge,
                "the request body is larger than allowed".to_owned(),
                vec![],
            ),
            ApiError::Validation(errors) => (
                ProblemType::ValidationFailed,
                "the request has invalid fields".to_owned(),
                errors,
            ),
            ApiError::OutOfRange(source) => {
                tracing::warn!(error = %source, "a write was refused by a range guard");
                (
                    ProblemType::OutOfRange,
                    "this change would store an amount outside 0 to 10^12 minor units or a \
                     stock level beyond 10^9 units; nothing was changed"
                        .to_owned(),
                    vec![],
                )
            }
            ApiError::RateLimited { retry_after_secs } => (
                ProblemType::RateLimited,
                format!("too many requests; retry in {retry_after_secs} s"),
                vec![],
            ),
            ApiError::Unavailable(detail) => (ProblemType::Unavailable, detail, vec![]),
            ApiError::NotReady(errors) => (
                ProblemType::NotReady,
                "a dependency of ringup is not answering".to_owned(),
                errors,
            ),
            ApiError::Internal(source) => {
                tracing::error!(error = %source, cause = ?source, "internal error");
                (
                    ProblemType::Internal,
                    "an internal error occurred; quote the request id when reporting it".to_owned(),
                    vec![],
                )
            }
        };
        PendingProblem {
            kind,
            title: title_of(status),
            detail,
            errors,
        }
    }
}

/// `Retry-After` of a 503: one second.
pub const UNAVAILABLE_RETRY_SECS: u64 = 1;

/// The title of a problem is the status's reason phrase: stable for a given status.
pub fn title_of(status: StatusCode) -> &'static str {
    status.canonical_reason().unwrap_or("Error")
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let retry_after = match &self {
            ApiError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            // Whatever is unavailable (the database, the writer's queue) is expected back
            // shortly: clients should come back in a second, not hammer at once.
            ApiError::Unavailable(_) => Some(UNAVAILABLE_RETRY_SECS),
            _ => None,
        };
        let mut response = status.into_response();
        if matches!(self, ApiError::Unauthorized) {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"ringup\""),
            );
        }
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(cause) = self.cause() {
            response.extensions_mut().insert(cause);
        }
        response.extensions_mut().insert(self.pending());
        response
    }
}

/// An error and its sources, outermost first, as one line; a source whose text the line
/// already holds (an error that prints its source itself) is not repeated.
fn cause_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        if let Some(field) = err.taken_field() {
            return taken(field);
        }
        match err {
            StoreError::NotFound => ApiError::NotFound,
            err @ StoreError::OutOfRange { .. } => ApiError::OutOfRange(err),
            StoreError::Unavailable(source) => {
                tracing::error!(error = %source, "database unavailable");
                ApiError::Unavailable("the database is unavailable; try again shortly".to_owned())
            }
            StoreError::Overloaded => {
                metrics::counter!("ringup_write_overloaded_total").increment(1);
                ApiError::Unavailable(
                    "more writes are waiting than the server queues; nothing was changed, \
                     retry after the time in Retry-After"
                        .to_owned(),
                )
            }
            err @ StoreError::BatchFailed(_) => {
                tracing::error!(error = %err, cause = ?std::error::Error::source(&err), "group commit failed");
                ApiError::Unavailable(
                    "the write could not be committed; nothing was changed, retry it with the \
                     same Idempotency-Key"
                        .to_owned(),
                )
            }
            other => ApiError::internal(other),
        }
    }
}

/// 409 `already-taken` naming the field whose value another resource has.
pub fn taken(field: &str) -> ApiError {
    ApiError::Conflict {
        kind: ProblemType::AlreadyTaken,
        detail: format!("this {field} is already taken"),
        errors: vec![FieldError::new(field, "is already taken")],
    }
}

impl From<WriteError> for ApiError {
    fn from(err: WriteError) -> Self {
        match err {
            WriteError::KeyReused => ApiError::validation(
                "Idempotency-Key",
                "was already used with a different request; use a new key",
            ),
            WriteError::KeyInFlight => ApiError::Conflict {
                kind: ProblemType::IdempotencyKeyInFlight,
                detail: "a request with this Idempotency-Key is still being processed".to_owned(),
                errors: vec![],
            },
            err @ WriteError::View(_) => ApiError::internal(err),
            WriteError::Store(err) => err.into(),
        }
    }
}

/// The answer to a change its shift refused: 409 when the shift is closed; 422 on `field`
/// when a running total of the shift would pass the amount range (docs/API.md "Conventions").
pub fn shift_refused(refusal: ShiftRefusal, field: &str) -> ApiError {
    match refusal {
        ShiftRefusal::Closed => ApiError::Conflict {
            kind: ProblemType::ShiftClosed,
            detail: "the shift is closed".to_owned(),
            errors: vec![],
        },
        ShiftRefusal::TotalsOutOfRange => ApiError::validation(
            field,
            format!(
                "would take the shift's running totals past {} minor units; close the shift \
                 and open a new one",
                Money::MAX
            ),
        ),
    }
}

/// A 409 of `kind` whose detail is the refusal's own message.
fn conflict(
    kind: ProblemType,
    refusal: &dyn std::fmt::Display,
    errors: Vec<FieldError>,
) -> ApiError {
    ApiError::Conflict {
        kind,
        detail: refusal.to_string(),
        errors,
    }
}

impl From<CheckoutError> for ApiError {
    fn from(err: CheckoutError) -> Self {
        match err {
            CheckoutError::Invalid(errors) => ApiError::Validation(errors),
            CheckoutError::Forbidden => ApiError::Forbidden,
            CheckoutError::NotFound => ApiError::NotFound,
            CheckoutError::Shift { refusal, field } => shift_refused(refusal, field),
            CheckoutError::InsufficientStock(short) => ApiError::Conflict {
                kind: ProblemType::InsufficientStock,
                detail: "not enough stock is available".to_owned(),
                errors: short
                    .into_iter()
                    .map(|(field, s)| FieldError::new(field, s.to_string()))
                    .collect(),
            },
            CheckoutError::NotVoidable(detail) => ApiError::Conflict {
                kind: ProblemType::SaleNotVoidable,
                detail: detail.to_owned(),
                errors: vec![],
            },
            err @ CheckoutError::SaleVoided => conflict(ProblemType::SaleVoided, &err, vec![]),
            CheckoutError::OverReturn(errors) => ApiError::Conflict {
                kind: ProblemType::OverReturn,
                detail: "more than was sold minus what was already returned".to_owned(),
                errors,
            },
            err @ (CheckoutError::NoOpenShift | CheckoutError::ShiftAlreadyClosed) => {
                conflict(ProblemType::ShiftClosed, &err, vec![])
            }
            err @ CheckoutError::ShiftAlreadyOpen => conflict(
                ProblemType::ShiftOpen,
                &err,
                vec![FieldError::new("register_id", "already has an open shift")],
            ),
            CheckoutError::Write(err) => err.into(),
        }
    }
}

impl From<CatalogError> for ApiError {
    fn from(err: CatalogError) -> Self {
        match err {
            CatalogError::Invalid(errors) => ApiError::Validation(errors),
            CatalogError::NotFound => ApiError::NotFound,
            CatalogError::Write(err) => err.into(),
        }
    }
}

impl From<ReportError> for ApiError {
    fn from(err: ReportError) -> Self {
        match err {
            ReportError::Forbidden => ApiError::Forbidden,
            ReportError::Invalid(errors) => ApiError::Validation(errors),
            ReportError::Busy => ApiError::Unavailable(
                "too many reports are running; retry after the time in Retry-After".to_owned(),
            ),
            ReportError::Store(err) => err.into(),
        }
    }
}

impl From<UsersError> for ApiError {
    fn from(err: UsersError) -> Self {
        match err {
            UsersError::Invalid(errors) => ApiError::Validation(errors),
            UsersError::Forbidden => ApiError::Forbidden,
            UsersError::NotFound => ApiError::NotFound,
            // Hashing is rationed (auth/hasher.rs): a full pool is a reason to retry, not a
            // failure of the server.
            UsersError::Busy => ApiError::RateLimited {
                retry_after_secs: 1,
            },
            UsersError::Write(err) => err.into(),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::Unauthorized => ApiError::Unauthorized,
            AuthError::Forbidden => ApiError::Forbidden,
            AuthError::LockedOut { retry_after_secs } => ApiError::RateLimited { retry_after_secs },
            AuthError::Invalid(errors) => ApiError::Validation(errors),
            // Hashing is rationed (auth/hasher.rs): a full pool is a reason to retry.
            AuthError::Busy => ApiError::RateLimited {
                retry_after_secs: 1,
            },
            AuthError::Hashing(source) => ApiError::Internal(source),
            AuthError::Write(err) => err.into(),
        }
    }
}

impl From<StockError> for ApiError {
    fn from(err: StockError) -> Self {
        match err {
            StockError::Invalid(errors) => ApiError::Validation(errors),
            StockError::Forbidden => ApiError::Forbidden,
            StockError::NotFound => ApiError::NotFound,
            StockError::InsufficientStock(short) => ApiError::Conflict {
                kind: ProblemType::InsufficientStock,
                detail: "not enough stock is available".to_owned(),
                errors: short
                    .into_iter()
                    .map(|(field, s)| FieldError::new(field, s.to_string()))
                    .collect(),
            },
            StockError::InvalidTransition(err) => ApiError::Conflict {
                kind: ProblemType::InvalidTransition,
                detail: err.to_string(),
                errors: vec![],
            },
            err @ StockError::TransferChanged => ApiError::Conflict {
                kind: ProblemType::InvalidTransition,
                detail: err.to_string(),
                errors: vec![],
            },
            StockError::Write(err) => err.into(),
        }
    }
}

#[cfg(test)]
mod tests;
