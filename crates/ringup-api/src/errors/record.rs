//! Recording every 5xx answer and caught panic for error tracking.
//!
//! Whatever produced the answer leaves an [`ErrorCause`] on the response (`ApiError` for its
//! 5xx variants, the panic catcher for a panic); [`record_errors`] reads it with the matched
//! route's template, the method and the request id and hands it to the [`Recorder`], which only
//! counts in memory: recording adds no I/O to the request and cannot fail it. A 5xx without a
//! cause (a framework answer) is recorded with its status's kind and no message; 4xx answers
//! are never recorded.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use ringup_app::errors::{Occurrence, Recorder};

use crate::http::middleware::RequestId;
use crate::http::problem_type::ProblemType;

/// Why a response is a 5xx, for the recorder: the kind (`panic`, or the problem type's slug)
/// and the internal message, which may hold anything — the recorder normalises and cuts it
/// and it never reaches a response body.
#[derive(Clone, Debug)]
pub struct ErrorCause {
    pub kind: &'static str,
    pub message: String,
}

/// The route of a request no route matched.
const UNMATCHED: &str = "unmatched";

pub async fn record_errors(State(recorder): State<Recorder>, req: Request, next: Next) -> Response {
    // Cheap clones (the template is shared): every request passes here, few are 5xx.
    let route = req.extensions().get::<MatchedPath>().cloned();
    let method = req.method().clone();
    let request_id = RequestId::of(&req);
    let mut response = next.run(req).await;
    let status = response.status();
    if status.is_server_error() {
        let cause = response.extensions_mut().remove::<ErrorCause>();
        let (kind, message) = match &cause {
            Some(cause) => (cause.kind, cause.message.as_str()),
            None => (ProblemType::Internal.slug(), ""),
        };
        recorder.record(Occurrence {
            method: method.as_str(),
            route: route.as_ref().map_or(UNMATCHED, MatchedPath::as_str),
            status: status.as_u16(),
            kind,
            message,
            request_id: &request_id,
        });
    }
    response
}
