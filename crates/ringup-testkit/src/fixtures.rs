//! Fixtures over the real API (and, for stores until their routes exist, the store layer):
//! log in, create stores and users, with credentials a test can reuse.

use ringup_core::ids::StoreId;
use ringup_store::catalog::stores::{NewStoreRow, insert_store};
use serde_json::{Value, json};

use crate::{ADMIN_PASSWORD, ADMIN_USERNAME, TestApp, json_of};

/// A user made by [`TestApp::create_user`], with its password and a fresh access token.
#[derive(Clone, Debug)]
pub struct TestUser {
    pub id: String,
    pub username: String,
    pub password: String,
    pub role: String,
    pub token: String,
    pub refresh_token: String,
}

/// An API key made by [`TestApp::create_api_key`]: its id and the key itself.
#[derive(Clone, Debug)]
pub struct TestApiKey {
    pub id: String,
    pub key: String,
}

/// A password that satisfies the policy and contains no test username.
pub const USER_PASSWORD: &str = "Quartz-Lantern-Orbit-77";

/// The string `field` of a JSON object; fails the test, showing the body, when there is none.
fn text_field(body: &Value, field: &str) -> String {
    body.get(field)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string `{field}` in {body}"))
        .to_owned()
}

impl TestApp {
    /// Logs in; panics unless the answer is 200. Returns the whole body.
    pub async fn login(&self, username: &str, password: &str) -> Value {
        let response = self
            .post_json(
                "/api/v1/auth/login",
                &json!({ "username": username, "password": password }),
            )
            .await;
        let status = response.status();
        let body = json_of(response).await;
        assert_eq!(status, 200, "login as {username} failed: {body}");
        body
    }

    /// An access token of the first admin.
    pub async fn admin_token(&self) -> String {
        let body = self.login(ADMIN_USERNAME, ADMIN_PASSWORD).await;
        text_field(&body, "access_token")
    }

    /// A store, written through the store layer.
    pub async fn create_store(&self, code: &str) -> StoreId {
        let id = StoreId::new();
        let at = chrono::Utc::now();
        let mut tx = self.db.begin_write().await.expect("transaction");
        insert_store(
            &mut tx,
            &NewStoreRow {
                id,
                code,
                name: &format!("Store {code}"),
                currency: "KES",
                timezone: "Africa/Nairobi",
                prices_include_tax: true,
                allow_negative_stock: false,
                country: "KE",
                at,
            },
        )
        .await
        .expect("insert store");
        tx.commit().await.expect("commit");
        id
    }

    /// Creates a user as the admin and logs it in.
    pub async fn create_user(&self, role: &str, stores: &[StoreId]) -> TestUser {
        let admin = self.admin_token().await;
        let username = format!(
            "{role}-{}",
            &uuid::Uuid::now_v7().simple().to_string()[20..]
        );
        let response = self
            .client
            .post(self.url("/api/v1/users"))
            .bearer_auth(&admin)
            .json(&json!({
                "username": username,
                "email": format!("{username}@example.com"),
                "password": USER_PASSWORD,
                "role": role,
                "store_ids": stores.iter().map(ToString::to_string).collect::<Vec<_>>(),
            }))
            .send()
            .await
            .expect("request sent");
        let status = response.status();
        let body = json_of(response).await;
        assert_eq!(status, 201, "create {role} failed: {body}");
        let login = self.login(&username, USER_PASSWORD).await;
        TestUser {
            id: text_field(&body, "id"),
            username,
            password: USER_PASSWORD.to_owned(),
            role: role.to_owned(),
            token: text_field(&login, "access_token"),
            refresh_token: text_field(&login, "refresh_token"),
        }
    }

    /// Issues an API key (tier `basic`) as the admin.
    pub async fn create_api_key(&self, role: &str, stores: &[StoreId]) -> TestApiKey {
        let admin = self.admin_token().await;
        let response = self
            .authed(reqwest::Method::POST, "/api/v1/api-keys", &admin)
            .json(&json!({
                "name": format!("{role} integration"),
                "tier": "basic",
                "role": role,
                "store_ids": stores.iter().map(ToString::to_string).collect::<Vec<_>>(),
            }))
            .send()
            .await
            .expect("request sent");
        let status = response.status();
        let body = json_of(response).await;
        assert_eq!(status, 201, "create {role} API key failed: {body}");
        TestApiKey {
            id: text_field(&body, "id"),
            key: text_field(&body, "key"),
        }
    }

    /// A request builder with a bearer token.
    pub fn authed(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
    }
}
