//! The OpenAPI 3.1 document, generated from the handlers' annotations (so it cannot drift from
//! the routes), and the interactive docs at `/docs`, whose assets are compiled into the binary.

use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ringup",
        description = "Multi-store point-of-sale backend. Money is in minor units, rates in basis \
            points, ids are UUIDv7 strings, errors are RFC 9457 problem+json.",
    ),
    tags((name = "operations", description = "Health, readiness and metrics"))
)]
pub struct ApiDoc;

/// Serves `/docs` (Swagger UI) and the document at [`OPENAPI_PATH`].
pub fn ui(doc: utoipa::openapi::OpenApi) -> SwaggerUi {
    SwaggerUi::new("/docs").url(OPENAPI_PATH, doc)
}
