//! The OpenAPI 3.1 document, generated from the handlers' annotations (so it cannot drift from
//! the routes), and the interactive docs at `/docs`, whose assets are compiled into the binary.
//!
//! Invariants, kept by [`complete`] over the merged document rather than by each annotation,
//! so a new route gets them without asking:
//! - every response has a description (OpenAPI requires one): the annotation's when it gives
//!   one, otherwise what the status means here;
//! - every 4xx and 5xx response is `application/problem+json` with the one [`Problem`] schema,
//!   whose `type` lists every problem type ([`crate::http::problem_type`]);
//! - an operation that takes credentials documents 401 (with `WWW-Authenticate`) and 429 (an
//!   API key over its tier's quota, with `Retry-After` and `RateLimit-*`); one that takes a body
//!   documents 400, 413 and 422.
//!
//! `tests/api/openapi.rs` runs a real validator and a real client generator on the served
//! document.

mod responses;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::http::error::{FieldError, Problem};

pub use responses::complete;

pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ringup",
        description = "Multi-store point-of-sale backend. Money is in minor units, rates in basis \
            points, ids are UUIDv7 strings, errors are RFC 9457 problem+json.",
    ),
    components(schemas(Problem, FieldError)),
    modifiers(&BearerAuth),
    tags(
        (name = "operations", description = "Health, readiness and metrics"),
        (name = "auth", description = "Login, tokens, passwords"),
        (name = "users", description = "Users and their roles and stores"),
        (name = "api-keys", description = "Keys for integrations"),
        (name = "audit", description = "The tamper-evident audit log"),
        (name = "stores", description = "Stores and their registers"),
        (name = "products", description = "The catalog: products, SKUs and barcodes"),
        (name = "tax-classes", description = "Tax classes and their rates"),
        (name = "categories", description = "The product category tree"),
        (name = "customers", description = "Customers, their contact details and sales"),
        (name = "stock", description = "Stock levels, movements and adjustments"),
        (name = "transfers", description = "Stock transfers between stores"),
        (name = "checkout", description = "Shifts, sales, receipts, returns and reservations"),
        (name = "events", description = "Committed events: polling, Server-Sent Events, WebSocket"),
        (name = "webhooks", description = "Signed deliveries of events to your endpoints"),
    )
)]
pub struct ApiDoc;

/// `Authorization: Bearer <access token or API key>`.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Serves `/docs` (Swagger UI) and the document at [`OPENAPI_PATH`].
pub fn ui(doc: utoipa::openapi::OpenApi) -> SwaggerUi {
    SwaggerUi::new("/docs").url(OPENAPI_PATH, doc)
}
