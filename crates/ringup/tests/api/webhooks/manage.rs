//! Managing endpoints: the secret shown once, reads, changes, deletion, validation, private
//! addresses, and who may do any of it.

use reqwest::Method;
use serde_json::{Value, json};

use super::{WEBHOOKS, create, hook_world, read};
use crate::stock::world;
use crate::support::error_fields;

#[tokio::test]
async fn the_secret_is_shown_on_create_only_and_the_endpoint_reads_back() {
    // Arrange
    let w = hook_world().await;

    // Act
    let created = create(
        &w,
        &json!({"url": "http://127.0.0.1:9/a", "events": ["sale.*", "stock.low"],
            "store_ids": [w.store.to_string()], "description": "till feed"}),
    )
    .await;

    // Assert: the secret once, then never again.
    let secret = created["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"), "{created}");
    assert!(secret.len() >= "whsec_".len() + 32, "{created}");
    assert_eq!(created["state"], "enabled");
    assert_eq!(created["events"], json!(["sale.*", "stock.low"]));
    assert_eq!(created["store_ids"], json!([w.store.to_string()]));
    let id = created["id"].as_str().unwrap();
    let one = read(&w, &format!("{WEBHOOKS}/{id}")).await;
    assert!(one.get("secret").is_none(), "{one}");
    assert_eq!(one["description"], "till feed");
    let list = read(&w, WEBHOOKS).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains(secret));
    // Nor in the audit log.
    let audit = read(&w, "/api/v1/audit-events?limit=200").await;
    assert!(audit.to_string().contains("webhook.created"), "{audit}");
    assert!(!audit.to_string().contains(secret));
}

#[tokio::test]
async fn patch_disable_and_delete() {
    // Arrange
    let w = hook_world().await;
    let created = create(&w, &json!({"url": "http://127.0.0.1:9/a", "events": ["*"]})).await;
    let path = format!("{WEBHOOKS}/{}", created["id"].as_str().unwrap());

    // Act
    let patched = w
        .app
        .authed(Method::PATCH, &path, &w.admin)
        .json(&json!({"enabled": false, "events": ["product.*"], "description": "off"}))
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(patched.status(), 200);
    let patched: Value = patched.json().await.unwrap();
    assert_eq!(patched["state"], "disabled", "{patched}");
    assert_eq!(patched["events"], json!(["product.*"]));
    assert_eq!(patched["url"], "http://127.0.0.1:9/a");
    assert!(patched.get("secret").is_none());
    let deleted = w
        .app
        .authed(Method::DELETE, &path, &w.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let gone = w
        .app
        .authed(Method::GET, &path, &w.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
    let audit = read(&w, "/api/v1/audit-events?limit=200").await.to_string();
    assert!(audit.contains("webhook.updated") && audit.contains("webhook.deleted"));
}

async fn refused(w: &crate::stock::World, body: &Value) -> Vec<String> {
    let response = w
        .app
        .authed(Method::POST, WEBHOOKS, &w.admin)
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422, "{body}");
    error_fields(&response.json().await.unwrap())
}

#[tokio::test]
async fn private_addresses_are_422_unless_allowed() {
    // Arrange: the default settings (private addresses refused).
    let w = world().await;

    // Act / Assert
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.0.0.8/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[fd00::1]/hook",
        "http://100.64.1.1/hook",
    ] {
        let fields = refused(&w, &json!({"url": url, "events": ["*"]})).await;
        assert_eq!(fields, ["url"], "{url}");
    }
}

#[tokio::test]
async fn every_bad_field_is_named() {
    // Arrange
    let w = hook_world().await;
    let unknown_store = ringup_core::ids::StoreId::new().to_string();

    // Act / Assert
    assert_eq!(
        refused(&w, &json!({"url": "ftp://example.com/x", "events": ["*"]})).await,
        ["url"]
    );
    let long = format!("https://example.com/{}", "a".repeat(2000));
    assert_eq!(
        refused(&w, &json!({"url": long, "events": ["*"]})).await,
        ["url"]
    );
    assert_eq!(
        refused(
            &w,
            &json!({"url": "http://127.0.0.1:9/", "events": ["sale.%"]})
        )
        .await,
        ["events[0]"]
    );
    assert_eq!(
        refused(&w, &json!({"url": "http://127.0.0.1:9/", "events": []})).await,
        ["events"]
    );
    assert_eq!(
        refused(
            &w,
            &json!({"url": "http://127.0.0.1:9/", "events": ["*"], "store_ids": ["nope"]})
        )
        .await,
        ["store_ids[0]"]
    );
    assert_eq!(
        refused(
            &w,
            &json!({"url": "http://127.0.0.1:9/", "events": ["*"], "store_ids": [unknown_store]})
        )
        .await,
        ["store_ids"]
    );
    assert_eq!(
        refused(
            &w,
            &json!({"url": "http://127.0.0.1:9/", "events": ["*"], "description": "d".repeat(2001)})
        )
        .await,
        ["description"]
    );
}

#[tokio::test]
async fn only_admins_manage_webhooks() {
    // Arrange
    let w = hook_world().await;
    let created = create(&w, &json!({"url": "http://127.0.0.1:9/a", "events": ["*"]})).await;
    let id = created["id"].as_str().unwrap();
    let manager = w.app.create_user("manager", &[w.store]).await;
    let cashier = w.app.create_user("cashier", &[w.store]).await;
    let key = w.app.create_api_key("manager", &[w.store]).await;
    let body = json!({"url": "http://127.0.0.1:9/b", "events": ["*"]});

    // Act / Assert
    for token in [&manager.token, &cashier.token, &key.key] {
        for (method, path) in [
            (Method::GET, WEBHOOKS.to_owned()),
            (Method::POST, WEBHOOKS.to_owned()),
            (Method::GET, format!("{WEBHOOKS}/{id}")),
            (Method::DELETE, format!("{WEBHOOKS}/{id}")),
            (Method::POST, format!("{WEBHOOKS}/{id}/rotate-secret")),
            (Method::GET, format!("{WEBHOOKS}/{id}/deliveries")),
        ] {
            let response = w
                .app
                .authed(method.clone(), &path, token)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 403, "{method} {path}");
        }
    }
    let anonymous = w.app.client.get(w.app.url(WEBHOOKS)).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let still = read(&w, &format!("{WEBHOOKS}/{id}")).await;
    assert_eq!(still["state"], "enabled");
}
