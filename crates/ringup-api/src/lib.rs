//! ringup-api: the HTTP layer. One router per domain, merged here; handlers are thin (parse,
//! authorize, call the domain, map errors), and every error is rendered as problem+json by one
//! middleware.

pub mod audit;
pub mod auth;
pub mod catalog;
pub mod checkout;
pub mod errors;
pub mod events;
pub mod http;
pub mod mail;
pub mod ops;
pub mod reports;
pub mod state;
pub mod stock;
pub mod users;
pub mod webhooks;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Method, StatusCode, header};
use axum::response::Response;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use http::error::{ApiError, FieldError, Problem};
pub use http::problem_type::ProblemType;
pub use state::{AppState, HttpConfig};

use crate::http::error::PendingProblem;

/// The API's routes and their OpenAPI document, before middleware.
pub fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = OpenApiRouter::with_openapi(http::docs::ApiDoc::openapi())
        .merge(ops::router())
        .merge(auth::router())
        .merge(users::router())
        .merge(users::api_keys::router())
        .merge(audit::router())
        .merge(catalog::stores::router())
        .merge(catalog::products::router())
        .merge(catalog::tax_classes::router())
        .merge(catalog::categories::router())
        .merge(stock::router())
        .merge(stock::transfers::router())
        .merge(stock::reservations::router())
        .merge(checkout::customers::router())
        .merge(checkout::shifts::router())
        .merge(checkout::sales::router())
        .merge(checkout::returns::router())
        .merge(reports::router())
        .merge(errors::router())
        .merge(events::router())
        .merge(webhooks::router())
        .split_for_parts();
    http::docs::complete(&mut doc);
    (router, doc)
}

/// The complete application: routes, docs and every middleware. `extra` is merged in before
/// the middleware is applied (the test kit adds probe routes this way).
pub fn app(state: AppState, extra: Option<Router<AppState>>) -> Router {
    let (mut router, doc) = routes();
    if let Some(extra) = extra {
        router = router.merge(extra);
    }
    let router = router.merge(http::docs::ui(doc));
    with_middleware(router, state)
}

fn with_middleware(router: Router<AppState>, state: AppState) -> Router {
    let http = state.http.clone();
    let cors = cors(&http);
    router
        .layer(RequestBodyLimitLayer::new(http.body_limit))
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::api_key_rate::limit_api_keys,
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            http.request_timeout,
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn_with_state(
            state.errors.clone(),
            errors::record_errors,
        ))
        .layer(tower::util::option_layer(cors))
        .layer(axum::middleware::from_fn_with_state(
            http.clone(),
            http::middleware::finish_response,
        ))
        .layer(axum::middleware::from_fn(http::middleware::observe))
        // Brotli's default quality (11) costs milliseconds of CPU per response; level 4 keeps
        // most of the size gain (gzip 4 likewise) at a small fraction of the cost.
        .layer(CompressionLayer::new().quality(CompressionLevel::Precise(4)))
        .layer(axum::middleware::from_fn(http::middleware::request_id))
        .with_state(state)
}

/// CORS only when origins are configured: with none, responses carry no CORS headers at all
/// and browsers refuse cross-origin reads.
fn cors(http: &HttpConfig) -> Option<CorsLayer> {
    if http.cors_origins.is_empty() {
        return None;
    }
    let layer = CorsLayer::new()
        .allow_origin(AllowOrigin::list(http.cors_origins.clone()))
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_NONE_MATCH,
            HeaderName::from_static("idempotency-key"),
            HeaderName::from_static("x-csrf-token"),
            HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([
            header::ETAG,
            header::RETRY_AFTER,
            HeaderName::from_static("x-request-id"),
            HeaderName::from_static("idempotent-replayed"),
            HeaderName::from_static("ratelimit-limit"),
            HeaderName::from_static("ratelimit-remaining"),
            HeaderName::from_static("ratelimit-reset"),
        ])
        .allow_credentials(true)
        .max_age(std::time::Duration::from_secs(600));
    Some(layer)
}

/// A panic in a handler becomes an opaque 500; the message goes to the log, inside the
/// request's span, so it carries the request id, and to error tracking (normalised and cut
/// there).
fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(non-text panic payload)");
    tracing::error!(panic = message, "handler panicked");
    let mut response = Response::new(axum::body::Body::empty());
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response.extensions_mut().insert(errors::ErrorCause {
        kind: ringup_core::errors::PANIC_KIND,
        message: bounded(message).to_owned(),
    });
    response.extensions_mut().insert(PendingProblem {
        kind: ProblemType::Internal,
        title: http::error::title_of(StatusCode::INTERNAL_SERVER_ERROR),
        detail: "an internal error occurred; quote the request id when reporting it".to_owned(),
        errors: vec![],
    });
    response
}

/// The part of a panic message error tracking reads: a payload may be huge, and only its
/// start is normalised.
fn bounded(message: &str) -> &str {
    let end = message.floor_char_boundary(ringup_core::errors::fingerprint::INPUT_MAX);
    message.get(..end).unwrap_or_default()
}
