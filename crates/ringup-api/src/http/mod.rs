//! The HTTP machinery every domain's handlers share: the error type and its problem+json
//! rendering, strict JSON and query extractors, idempotency keys, pagination, validation
//! helpers, request metadata, the middleware stack and the OpenAPI document.

pub mod context;
pub mod docs;
pub mod error;
pub mod idempotency;
pub mod json;
pub mod middleware;
pub mod pagination;
pub mod problem_type;
pub mod query;
pub mod trace_context;
pub mod validation;
