//! Hostile JSON bodies: a key given twice in one object is 400 naming it, at any depth (two
//! parsers could disagree on which one wins); nesting deeper than 32 is 422 at the path where
//! it went too deep, however deep the body goes; every such refusal, like every other error,
//! carries the security headers.

use reqwest::{Method, Response};
use ringup_testkit::{TestApp, json_of, spawn_app};
use serde_json::json;

use crate::headers::assert_security_headers;
use crate::support::{assert_problem, error_fields};

const ECHO: &str = "/__test/echo";

async fn post_raw(app: &TestApp, path: &str, token: Option<&str>, body: String) -> Response {
    let mut request = app
        .client
        .post(app.url(path))
        .header("content-type", "application/json");
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.body(body).send().await.unwrap()
}

async fn products(app: &TestApp, admin: &str) -> usize {
    let list = app
        .authed(Method::GET, "/api/v1/products?limit=200", admin)
        .send()
        .await
        .unwrap();
    json_of(list).await["items"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_key_given_twice_is_400_naming_it_at_any_depth_and_nothing_is_stored() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let tax = app
        .authed(Method::POST, "/api/v1/tax-classes", &admin)
        .json(&json!({"name": "VAT", "rate_bp": 1600}))
        .send()
        .await
        .unwrap();
    let tax = json_of(tax).await["id"].as_str().unwrap().to_owned();
    let product = |sku: &str| {
        format!(
            r#""name":"Milk","price":100,"cost":50,"tax_class_id":"{tax}","low_stock_threshold":0,"sku":"{sku}""#
        )
    };
    let before = products(&app, &admin).await;

    // Act: the probe's body, and the same key twice even with one value.
    let mut twice = Vec::new();
    for second in ["B", "A"] {
        let body = format!(r#"{{{},"sku":"{second}"}}"#, product("A"));
        twice.push(post_raw(&app, "/api/v1/products", Some(&admin), body).await);
    }
    // Deep inside a field the body may not even have: refused before its shape is looked at.
    let nested = post_raw(
        &app,
        ECHO,
        None,
        r#"{"name":"a","quantity":1,"extra":{"list":[{"k":1},{"k":1,"k":2}]}}"#.to_owned(),
    )
    .await;

    // Assert
    for response in twice {
        let problem = assert_problem(response, 400, "/api/v1/products").await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains("`sku`"), "{detail}");
    }
    let problem = assert_problem(nested, 400, ECHO).await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("`k`") && detail.contains("extra.list[1]"),
        "{detail}"
    );
    assert_eq!(products(&app, &admin).await, before);

    // Control: the same body with the key once is stored.
    let once = post_raw(
        &app,
        "/api/v1/products",
        Some(&admin),
        format!("{{{}}}", product("A")),
    )
    .await;
    assert_eq!(once.status(), 201);
    assert_eq!(products(&app, &admin).await, before + 1);
}

/// `{"name": <depth nested arrays around "x">, "quantity": 1}`: the body nests `depth + 1`.
fn echo_nested(depth: usize) -> String {
    format!(
        r#"{{"name":{}"x"{},"quantity":1}}"#,
        "[".repeat(depth),
        "]".repeat(depth)
    )
}

#[tokio::test]
async fn nesting_deeper_than_32_is_422_at_the_path_that_went_too_deep() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let at_limit = post_raw(&app, ECHO, None, echo_nested(31)).await;
    let over = post_raw(&app, ECHO, None, echo_nested(32)).await;
    let far_over = post_raw(&app, ECHO, None, echo_nested(200_000)).await;
    let unclosed = post_raw(&app, ECHO, None, "[".repeat(100_000)).await;

    // Assert: 32 levels are read (the 422 is the echo's: `name` is no string) …
    let problem = assert_problem(at_limit, 422, ECHO).await;
    assert_eq!(error_fields(&problem), ["name"]);
    assert!(
        !problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("deeper"),
        "{problem}"
    );
    // … 33 are not, however deep the body goes and whether or not it is complete.
    let too_deep = format!("name{}", "[0]".repeat(31));
    for response in [over, far_over] {
        let problem = assert_problem(response, 422, ECHO).await;
        assert_eq!(error_fields(&problem), [too_deep.as_str()]);
        let message = problem["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("deeper than 32"), "{message}");
    }
    assert_problem(unclosed, 422, ECHO).await;
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn every_refusal_of_hostile_input_carries_the_security_headers() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let big = format!(r#"{{"name":"{}","quantity":1}}"#, "x".repeat(1 << 20));

    // Act
    let refusals = [
        (
            400,
            post_raw(&app, ECHO, None, r#"{"a":1,"a":2}"#.to_owned()).await,
        ),
        (
            422,
            post_raw(
                &app,
                ECHO,
                None,
                r#"{"name":"\u0000","quantity":1}"#.to_owned(),
            )
            .await,
        ),
        (422, post_raw(&app, ECHO, None, echo_nested(40)).await),
        (
            422,
            app.authed(Method::GET, "/api/v1/products?q=%00", &admin)
                .send()
                .await
                .unwrap(),
        ),
        (
            401,
            app.authed(Method::GET, "/api/v1/me", "x.y.z")
                .send()
                .await
                .unwrap(),
        ),
        (413, post_raw(&app, ECHO, None, big).await),
    ];

    // Assert
    for (status, response) in refusals {
        assert_eq!(response.status().as_u16(), status, "{:?}", response.url());
        assert_security_headers(&response);
    }
}
