//! The served OpenAPI document, checked by the tools an integrator would use: the
//! `openapi-spec-validator` must accept it as OpenAPI 3.1 and `openapi-python-client` must
//! generate a client from it. Both are Python packages run as subprocesses; when they are
//! missing the test installs them with pip (`.ci/run` installs them up front), and fails
//! naming them if it cannot, because a check that skips itself proves nothing.
//!
//! Also pinned here: the problem types the API answers, each documented in the document.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;

use ringup_testkit::{TestApp, json_of, spawn_app};
use tokio::process::Command;

const TOOLS_HINT: &str = "the OpenAPI tests need Python 3 with openapi-spec-validator and \
     openapi-python-client: `python3 -m pip install openapi-spec-validator openapi-python-client`";

/// Installs both Python tools once per test run if they are missing (as the SMTP test does
/// with its server), or fails naming them.
fn require_openapi_tools() {
    crate::support::ensure_python_packages(
        "openapi_spec_validator, openapi_python_client",
        &["openapi-spec-validator", "openapi-python-client"],
    );
}

/// The document exactly as served, written to `dir/openapi.json`.
async fn served_document(app: &TestApp, dir: &Path) -> std::path::PathBuf {
    let response = app.get("/api/v1/openapi.json").await;
    assert_eq!(response.status().as_u16(), 200);
    let body = response.bytes().await.unwrap();
    let path = dir.join("openapi.json");
    std::fs::write(&path, &body).unwrap();
    path
}

/// Runs `python3 -m <module> <args>` in `dir` and returns what it printed.
async fn run_python(module: &str, args: &[&str], dir: &Path) -> Output {
    Command::new("python3")
        .arg("-m")
        .arg(module)
        .args(args)
        .current_dir(dir)
        .output()
        .await
        .unwrap_or_else(|e| panic!("python3 -m {module} could not be run ({e}); {TOOLS_HINT}"))
}

/// stdout and stderr of a finished tool, trimmed to what a failure message can show.
fn printed(output: &Output) -> String {
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    if text.len() > 6000 {
        let cut = (0..=6000)
            .rev()
            .find(|i| text.is_char_boundary(*i))
            .unwrap();
        text.truncate(cut);
        text.push_str("\n[…]");
    }
    text
}

#[tokio::test]
async fn the_served_document_passes_a_validator_and_generates_a_client() {
    // Arrange
    require_openapi_tools();
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let document = served_document(&app, dir.path()).await;
    let document = document.to_str().unwrap();

    // Act
    let validated = run_python(
        "openapi_spec_validator",
        &["--schema", "3.1", "--validation-errors", "all", document],
        dir.path(),
    )
    .await;
    let generated = run_python(
        "openapi_python_client",
        &[
            "generate",
            "--path",
            document,
            "--output-path",
            "client",
            "--meta",
            "none",
            "--fail-on-warning",
        ],
        dir.path(),
    )
    .await;

    // Assert
    let stdout = String::from_utf8_lossy(&validated.stdout);
    assert!(
        validated.status.success(),
        "openapi-spec-validator refused the document ({} errors):\n{}",
        stdout.matches("Validation Error").count(),
        printed(&validated)
    );
    assert!(
        generated.status.success(),
        "openapi-python-client could not generate a client:\n{}",
        printed(&generated)
    );
    let api = dir.path().join("client").join("api");
    for tag in [
        "auth",
        "api_keys",
        "products",
        "stores",
        "checkout",
        "operations",
    ] {
        assert!(
            api.join(tag).join("__init__.py").is_file(),
            "the generated client has no module for tag {tag}:\n{}",
            printed(&generated)
        );
    }
}

#[tokio::test]
async fn every_response_has_a_description_and_errors_share_the_problem_schema() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let doc = json_of(app.get("/api/v1/openapi.json").await).await;

    // Assert
    let mut wrong = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Some(responses) = operation["responses"].as_object() else {
                continue;
            };
            for (status, response) in responses {
                let at = format!("{} {path} {status}", method.to_uppercase());
                if response["description"].as_str().is_none_or(str::is_empty) {
                    wrong.push(format!("{at}: no description"));
                }
                let is_error = status.starts_with('4') || status.starts_with('5');
                let problem = &response["content"]["application/problem+json"]["schema"]["$ref"];
                if is_error && problem != "#/components/schemas/Problem" {
                    wrong.push(format!("{at}: not the shared Problem schema: {response}"));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} responses:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    let problem = &doc["components"]["schemas"]["Problem"];
    assert!(problem["description"].is_string(), "{problem}");
    assert_eq!(
        problem["properties"]["errors"]["items"]["$ref"], "#/components/schemas/FieldError",
        "{problem}"
    );
}

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
