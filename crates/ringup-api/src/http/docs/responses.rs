//! [`complete`]: the pass over the merged document that gives every response what the
//! annotations leave out (see the invariants in [`super`]). It only adds: a description, content
//! or header an annotation states is kept as written.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{OpenApi, Ref, RefOr, Response};

use crate::http::middleware::PROBLEM_JSON;

/// Completes every operation of `doc`; run once on the merged document, before it is served.
pub fn complete(doc: &mut OpenApi) {
    for item in doc.paths.paths.values_mut() {
        for operation in operations(item) {
            complete_operation(operation);
        }
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
        &mut item.query,
    ]
    .into_iter()
    .flatten()
    .chain(item.additional_operations.values_mut())
}

fn complete_operation(operation: &mut Operation) {
    let takes_credentials = operation
        .security
        .as_ref()
        .is_some_and(|requirements| !requirements.is_empty());
    let takes_body = operation.request_body.is_some();
    let responses = &mut operation.responses.responses;
    if takes_credentials {
        // Any route with credentials may meet a bad token, and any may be called with an API
        // key, which the rate-limit middleware counts before the handler runs.
        add_if_missing(responses, StatusCode::UNAUTHORIZED);
        add_if_missing(responses, StatusCode::TOO_MANY_REQUESTS);
    }
    if takes_body {
        add_if_missing(responses, StatusCode::BAD_REQUEST);
        add_if_missing(responses, StatusCode::PAYLOAD_TOO_LARGE);
        add_if_missing(responses, StatusCode::UNPROCESSABLE_ENTITY);
    }
    for (status, response) in responses.iter_mut() {
        // A `$ref` points at a shared response, completed (if at all) where it is defined.
        if let RefOr::T(response) = response {
            complete_response(status, response);
        }
    }
}

fn add_if_missing(responses: &mut BTreeMap<String, RefOr<Response>>, status: StatusCode) {
    responses
        .entry(status.as_u16().to_string())
        .or_insert_with(|| RefOr::T(Response::default()));
}

fn complete_response(status: &str, response: &mut Response) {
    if response.description.is_empty() {
        response.description = meaning(status);
    }
    if !is_error(status) {
        return;
    }
    if response.content.is_empty() {
        let problem = ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .build();
        response
            .content
            .insert(PROBLEM_JSON.to_owned(), problem.into());
    }
    let headers: &[(&str, &str, Type)] = match status {
        "401" => &[(
            "WWW-Authenticate",
            "`Bearer realm=\"ringup\"`: the scheme credentials are expected in.",
            Type::String,
        )],
        "429" => &[
            (
                "Retry-After",
                "Whole seconds to wait before trying again.",
                Type::Integer,
            ),
            (
                "RateLimit-Limit",
                "The quota: requests per minute for an API key's tier; per period for the \
                 login and password-reset limits.",
                Type::Integer,
            ),
            (
                "RateLimit-Remaining",
                "Requests left now: 0 on a 429.",
                Type::Integer,
            ),
            (
                "RateLimit-Reset",
                "Whole seconds until the next request is allowed, as `Retry-After`.",
                Type::Integer,
            ),
        ],
        _ => &[],
    };
    for (name, description, kind) in headers {
        response
            .headers
            .entry((*name).to_owned())
            .or_insert_with(|| {
                HeaderBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(kind.clone())))
                    .description(Some(*description))
                    .build()
                    .into()
            });
    }
}

/// 4xx and 5xx, including the `4XX`/`5XX` ranges OpenAPI allows as keys.
fn is_error(status: &str) -> bool {
    status.starts_with('4') || status.starts_with('5')
}

/// What a status means in this API, for a response whose annotation gives no description.
fn meaning(status: &str) -> String {
    let text = match status {
        "400" => {
            "The request cannot be read (`bad-request`): malformed JSON, a key repeated in one \
             object, or a body without a JSON `Content-Type`"
        }
        "401" => "Credentials are missing, malformed, expired or revoked (`unauthorized`)",
        "403" => {
            "The caller's role or stores do not allow this (`forbidden`), or a cookie session \
             sent no `X-CSRF-Token` (`csrf-failed`)"
        }
        "404" => "No such resource, or none the caller may see (`not-found`)",
        "409" => "The request conflicts with the current state; `type` says how",
        "413" => "The request body is larger than the server's limit (`payload-too-large`)",
        "422" => "Invalid input (`validation-failed`): `errors[]` names each field and its fault",
        "429" => {
            "Too many requests (`rate-limited`): an API key has spent its tier's quota; retry \
             after `Retry-After` seconds"
        }
        "500" => "An internal error (`internal`); quote `request_id` when reporting it",
        "503" => "A dependency of ringup is unavailable (`unavailable`); try again shortly",
        other => {
            return other
                .parse::<u16>()
                .ok()
                .and_then(|code| StatusCode::from_u16(code).ok())
                .and_then(|code| code.canonical_reason())
                .unwrap_or("The response to this status")
                .to_owned();
        }
    };
    text.to_owned()
}

#[cfg(test)]
mod tests {
    use utoipa::openapi::ResponseBuilder;

    use super::*;

    #[test]
    fn a_description_the_annotation_gives_is_kept() {
        let mut response = ResponseBuilder::new()
            .description("Phone number taken")
            .build();
        complete_response("409", &mut response);
        assert_eq!(response.description, "Phone number taken");
        assert!(response.content.contains_key(PROBLEM_JSON));
    }

    #[test]
    fn a_missing_description_says_what_the_status_means() {
        for (status, expected) in [("200", "OK"), ("204", "No Content"), ("404", "not-found")] {
            let mut response = Response::default();
            complete_response(status, &mut response);
            assert!(response.description.contains(expected), "{status}");
        }
    }

    #[test]
    fn success_content_is_left_alone_and_429_gets_its_headers() {
        let mut ok = Response::default();
        complete_response("204", &mut ok);
        assert!(ok.content.is_empty() && ok.headers.is_empty());
        let mut limited = Response::default();
        complete_response("429", &mut limited);
        for name in [
            "Retry-After",
            "RateLimit-Limit",
            "RateLimit-Remaining",
            "RateLimit-Reset",
        ] {
            assert!(limited.headers.contains_key(name), "{name}");
        }
    }
}
