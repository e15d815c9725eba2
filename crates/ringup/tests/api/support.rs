//! Assertions shared by the test modules.

use std::collections::BTreeSet;

use reqwest::Response;
use ringup_testkit::{TestApp, json_of};
use serde_json::Value;

/// The value of a response header as text, if present.
pub fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().expect("header value is text").to_owned())
}

/// Asserts that `response` is an RFC 9457 problem answering `path` with `status`: content type
/// `application/problem+json`, and a body with `type`, `title`, `status` (equal to the HTTP
/// status), `detail`, `instance` (the path) and `request_id` (equal to `X-Request-Id`).
/// Returns the body for further checks.
pub async fn assert_problem(response: Response, status: u16, path: &str) -> Value {
    let actual = response.status().as_u16();
    let content_type = header(&response, "content-type");
    let request_id = header(&response, "x-request-id");
    let text = response.text().await.expect("body");
    assert_eq!(actual, status, "status of {path}; body: {text}");
    assert_eq!(
        content_type.as_deref(),
        Some("application/problem+json"),
        "content type of {path}; body: {text}"
    );
    let body: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("problem is not JSON ({e}): {text}"));
    for field in ["type", "title", "detail"] {
        assert!(
            body[field].as_str().is_some_and(|v| !v.is_empty()),
            "`{field}` is not a non-empty string: {body}"
        );
    }
    assert!(
        body["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("/problems/")),
        "type: {body}"
    );
    assert_eq!(body["status"], status, "status field: {body}");
    assert_eq!(body["instance"], path, "instance: {body}");
    let request_id = request_id.expect("X-Request-Id on a problem response");
    assert_eq!(
        body["request_id"],
        request_id.as_str(),
        "request_id: {body}"
    );
    body
}

/// The `field` of every entry of a problem's `errors`.
pub fn error_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("problem has no `errors` array: {problem}"))
        .iter()
        .map(|e| {
            e["field"]
                .as_str()
                .unwrap_or_else(|| panic!("error without a `field`: {problem}"))
                .to_owned()
        })
        .collect()
}

/// The methods an OpenAPI path item may hold, lower case as the document spells them.
const OPENAPI_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// `(METHOD, path)` of every operation in an OpenAPI document.
pub fn operations_of(doc: &Value) -> BTreeSet<(String, String)> {
    let paths = doc["paths"]
        .as_object()
        .unwrap_or_else(|| panic!("the OpenAPI document has no `paths` object"));
    let mut operations = BTreeSet::new();
    for (path, item) in paths {
        for method in OPENAPI_METHODS {
            if item.get(method).is_some() {
                operations.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    operations
}

/// `(METHOD, path)` of every operation in the OpenAPI document the server serves.
pub async fn documented_operations(app: &TestApp) -> BTreeSet<(String, String)> {
    operations_of(&json_of(app.get("/api/v1/openapi.json").await).await)
}

/// A UUID of version 7 in canonical lower-case text form.
pub fn is_uuid_v7(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(b),
        })
        && bytes[14] == b'7'
        && b"89ab".contains(&bytes[19])
}

/// A client that shows responses exactly as sent: no transparent decompression, no redirects.
pub fn raw_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client")
}

#[test]
fn uuid_v7_check_accepts_only_version_7() {
    assert!(is_uuid_v7("01964f4e-8a3b-7c2d-9e4f-0123456789ab"));
    assert!(!is_uuid_v7("01964f4e-8a3b-4c2d-9e4f-0123456789ab"));
    assert!(!is_uuid_v7("01964f4e-8a3b-7c2d-1e4f-0123456789ab"));
    assert!(!is_uuid_v7("01964f4e8a3b7c2d9e4f0123456789ab"));
    assert!(!is_uuid_v7("till-42.abc"));
}

/// Makes sure `python3` can import `modules` (comma-separated, as in an `import` statement),
/// installing `packages` from PyPI once per test run if it cannot, so the README's test command
/// works on a fresh machine too. Fails the test naming what to install when that fails: a check
/// that skips itself proves nothing.
pub fn ensure_python_packages(modules: &str, packages: &[&str]) {
    static READY: std::sync::Mutex<Vec<(String, Result<(), String>)>> =
        std::sync::Mutex::new(Vec::new());
    let mut ready = READY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let known = ready
        .iter()
        .find(|(m, _)| m == modules)
        .map(|(_, r)| r.clone());
    let outcome = known.unwrap_or_else(|| {
        let importable = || {
            std::process::Command::new("python3")
                .args(["-c", &format!("import {modules}")])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        let outcome = if importable() {
            Ok(())
        } else {
            let mut args = vec![
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ];
            args.extend_from_slice(packages);
            match std::process::Command::new("python3").args(&args).status() {
                Ok(status) if status.success() && importable() => Ok(()),
                Ok(status) => Err(format!("pip install failed ({status})")),
                Err(err) => Err(format!("python3 could not be run ({err})")),
            }
        };
        ready.push((modules.to_owned(), outcome.clone()));
        outcome
    });
    if let Err(err) = outcome {
        panic!(
            "{err}; these tests need Python 3 with {}: `python3 -m pip install {}`",
            packages.join(" and "),
            packages.join(" ")
        );
    }
}
