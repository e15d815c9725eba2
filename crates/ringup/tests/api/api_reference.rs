//! `docs/API.md`, the reference a user of the repository reads, cannot drift from what the
//! server serves: every operation of the OpenAPI document has a route line there, and every
//! route line there is an operation of the document (or one of the routes served beside it).
//!
//! A route line is a Markdown table row that starts `| METHOD | `/path` |`, one operation per
//! row. A row whose first cell names a method in any other way (`GET, POST`, `get`, a path
//! without backticks) is reported as malformed rather than skipped, so a typo cannot hide a
//! route from the check; a route listed twice is reported too.

use std::collections::BTreeSet;

use ringup_testkit::{json_of, spawn_app};

use crate::support::operations_of;

/// The reference, read when the test binary is built (Cargo rebuilds it when the file changes).
const REFERENCE: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/API.md"));

/// Served by ringup but not operations of the OpenAPI document: the document itself and the
/// interactive docs. The test checks they answer and that the document still leaves them out,
/// so this list cannot go stale either.
const SERVED_BESIDE_THE_DOCUMENT: [(&str, &str); 2] =
    [("GET", "/api/v1/openapi.json"), ("GET", "/docs")];

const METHODS: [&str; 8] = [
    "GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE",
];

type Operation = (String, String);

/// The route lines of a Markdown text, and what is wrong with any line meant as one.
#[derive(Debug, Default)]
struct RouteLines {
    routes: BTreeSet<Operation>,
    problems: Vec<String>,
}

/// `` `/path` `` → `/path`: one code span holding a path and nothing else.
fn code_path(cell: &str) -> Option<&str> {
    let path = cell.strip_prefix('`')?.strip_suffix('`')?;
    (path.starts_with('/') && !path.contains(['`', ' ', '|'])).then_some(path)
}

fn route_lines(markdown: &str) -> RouteLines {
    let mut found = RouteLines::default();
    for (index, line) in markdown.lines().enumerate() {
        let number = index + 1;
        let Some(row) = line.trim_start().strip_prefix('|') else {
            continue;
        };
        let mut cells = row.split('|').map(str::trim);
        let first = cells.next().unwrap_or_default();
        let names_a_method = first
            .split([',', '/', ' '])
            .any(|word| METHODS.contains(&word.to_ascii_uppercase().as_str()));
        if !names_a_method {
            continue;
        }
        if !METHODS.contains(&first) {
            found.problems.push(format!(
                "line {number}: `{first}` must be one upper-case method per row: {line}"
            ));
            continue;
        }
        let Some(path) = cells.next().and_then(code_path) else {
            found.problems.push(format!(
                "line {number}: the second cell must be the path in backticks: {line}"
            ));
            continue;
        };
        if !found.routes.insert((first.to_owned(), path.to_owned())) {
            found
                .problems
                .push(format!("line {number}: {first} {path} is listed twice"));
        }
    }
    found
}

/// What the document serves that the reference omits, and what the reference lists that the
/// server does not serve.
fn drift(
    documented: &BTreeSet<Operation>,
    referenced: &BTreeSet<Operation>,
) -> (Vec<Operation>, Vec<Operation>) {
    let beside: BTreeSet<Operation> = SERVED_BESIDE_THE_DOCUMENT
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    let missing = documented.difference(referenced).cloned().collect();
    let unserved = referenced
        .difference(documented)
        .filter(|op| !beside.contains(*op))
        .cloned()
        .collect();
    (missing, unserved)
}

fn show(operations: &[Operation]) -> String {
    operations
        .iter()
        .map(|(method, path)| format!("\n  | {method} | `{path}` |"))
        .collect()
}

#[tokio::test]
async fn the_reference_lists_exactly_the_routes_the_server_serves() {
    // Arrange
    let app = spawn_app().await;
    let doc = json_of(app.get("/api/v1/openapi.json").await).await;
    let documented = operations_of(&doc);
    assert!(
        documented.len() > 50,
        "the OpenAPI document lists only {} operations",
        documented.len()
    );

    // Act
    let reference = route_lines(REFERENCE);
    let (missing, unserved) = drift(&documented, &reference.routes);

    // Assert
    assert!(
        reference.problems.is_empty(),
        "docs/API.md has malformed route lines:\n{}",
        reference.problems.join("\n")
    );
    assert!(
        missing.is_empty(),
        "routes the server serves but docs/API.md does not list (add a row for each):{}",
        show(&missing)
    );
    assert!(
        unserved.is_empty(),
        "routes docs/API.md lists but the server does not serve (remove them, or move them \
         under \"Not yet available\" without the route-line form):{}",
        show(&unserved)
    );
    for (method, path) in SERVED_BESIDE_THE_DOCUMENT {
        let op = (method.to_owned(), path.to_owned());
        assert!(
            reference.routes.contains(&op),
            "docs/API.md does not list {method} {path}"
        );
        assert!(
            !documented.contains(&op),
            "{method} {path} is in the OpenAPI document now: drop it from SERVED_BESIDE_THE_DOCUMENT"
        );
        let status = app.get(path).await.status();
        assert!(
            status.is_success() || status.is_redirection(),
            "{method} {path} answered {status}"
        );
    }
}

#[test]
fn the_check_sees_a_route_missing_from_either_side_and_malformed_lines() {
    // Arrange: a reference that lists one served route, one route nobody serves, and one
    // served beside the document; a server that also serves a route the reference omits.
    let markdown = "\
| method | path | answer |
| --- | --- | --- |
| GET | `/api/v1/things` | 200 |
| POST | `/api/v1/ghosts` | 201 |
| GET | `/docs` | the docs |
| 422 | `/api/v1/things` | a status row, not a route |
";
    let documented: BTreeSet<Operation> = [("GET", "/api/v1/things"), ("DELETE", "/api/v1/things")]
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();

    // Act
    let reference = route_lines(markdown);
    let (missing, unserved) = drift(&documented, &reference.routes);

    // Assert
    assert!(reference.problems.is_empty(), "{:?}", reference.problems);
    assert_eq!(reference.routes.len(), 3, "{:?}", reference.routes);
    assert_eq!(
        missing,
        vec![("DELETE".to_owned(), "/api/v1/things".to_owned())]
    );
    assert_eq!(
        unserved,
        vec![("POST".to_owned(), "/api/v1/ghosts".to_owned())]
    );

    // Rows meant as route lines but written otherwise are reported, not skipped.
    let malformed = route_lines(
        "\
| GET, POST | `/api/v1/users` | two methods |
| get | `/api/v1/users` | lower case |
| PATCH | /api/v1/users/{id} | no backticks |
| DELETE | `/api/v1/users/{id}` and more | extra text |
| GET | `/api/v1/me` | once |
| GET | `/api/v1/me` | twice |
",
    );
    assert_eq!(malformed.problems.len(), 5, "{:#?}", malformed.problems);
    assert_eq!(malformed.routes.len(), 1, "{:?}", malformed.routes);
}
