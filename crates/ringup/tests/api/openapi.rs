//! The served OpenAPI document: the problem types the API answers are pinned here, each
//! documented on the document's `Problem.type`.

use std::collections::BTreeSet;

use ringup_testkit::{json_of, spawn_app};

/// Every problem `type` slug the API answers: the one `match` in `error.rs`, the framework's
/// own errors (`middleware.rs`) and each `ApiError::Conflict` kind the handlers use. Clients
/// match on these, so the list is a contract: a renamed or dropped slug fails here, and a new
/// one must be added here — and is then checked to be documented.
const PROBLEM_TYPES: [&str; 25] = [
    "bad-request",
    "unauthorized",
    "forbidden",
    "csrf-failed",
    "not-found",
    "method-not-allowed",
    "not-acceptable",
    "request-timeout",
    "already-taken",
    "insufficient-stock",
    "shift-open",
    "shift-closed",
    "sale-voided",
    "sale-not-voidable",
    "over-return",
    "invalid-transition",
    "idempotency-key-in-flight",
    "payload-too-large",
    "validation-failed",
    "out-of-range",
    "rate-limited",
    "internal",
    "unavailable",
    "not-ready",
    "error",
];

#[tokio::test]
async fn every_problem_type_the_api_answers_is_documented() {
    // Arrange
    let app = spawn_app().await;
    let pinned: BTreeSet<&str> = PROBLEM_TYPES.into_iter().collect();
    // Every problem is built from this registry (`PendingProblem` holds a `ProblemType`).
    let declared: BTreeSet<&str> = ringup_api::ProblemType::ALL
        .iter()
        .map(|kind| kind.slug())
        .collect();

    // Act
    let doc = json_of(app.get("/api/v1/openapi.json").await).await;

    // Assert
    assert_eq!(
        declared, pinned,
        "the problem types the code declares differ from the pinned list"
    );
    let schema = &doc["components"]["schemas"]["Problem"]["properties"]["type"];
    let description = schema["description"].as_str().unwrap_or_default();
    let examples: BTreeSet<&str> = schema["examples"]
        .as_array()
        .map(|values| values.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    let mut undocumented = Vec::new();
    for slug in PROBLEM_TYPES {
        let uri = format!("/problems/{slug}");
        let item = format!("- `{uri}`: ");
        let meaning = description
            .lines()
            .find_map(|line| line.strip_prefix(item.as_str()))
            .unwrap_or_default();
        if meaning.len() < 10 || !examples.contains(uri.as_str()) {
            undocumented.push(uri);
        }
    }
    assert!(
        undocumented.is_empty(),
        "problem types not documented on Problem.type: {undocumented:?}\n{schema}"
    );
}
