//! Access tokens as an attacker would present them: forged with another secret, `alg: none`,
//! another HMAC algorithm with the right secret, a tampered payload, a session that does not
//! exist, an expired token (the test clock moves, nothing sleeps), and malformed or missing
//! `Authorization` headers. A control test re-signs a real token's claims with the server's
//! own secret and algorithm and sees it accepted, so every 401 here is about the one thing the
//! test changed.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use ringup_testkit::{ADMIN_PASSWORD, ADMIN_USERNAME, TestApp, json_of, spawn_app, spawn_app_with};
use serde_json::{Value, json};

use crate::auth::flows::{ME, REFRESH, assert_unauthorized, me_status, pair_of, refresh_response};

/// The signing secret of the apps below (40 characters).
const SECRET: &str = "test-signing-secret-0123456789-abcdefghi";

async fn app_with_known_secret() -> TestApp {
    spawn_app_with(|raw| raw.secret = Some(SECRET.into())).await
}

/// The claims of a JWT, decoded without verification.
fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url payload"))
        .expect("JSON claims")
}

fn sign(alg: Algorithm, claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret))
        .expect("token signed")
}

fn b64(json: &Value) -> String {
    URL_SAFE_NO_PAD.encode(json.to_string())
}

/// An admin access token and its claims.
async fn admin_claims(app: &TestApp) -> (String, Value) {
    let token = app.admin_token().await;
    let claims = claims_of(&token);
    (token, claims)
}

async fn assert_me_unauthorized(app: &TestApp, token: &str) {
    let response = app.authed(Method::GET, ME, token).send().await.unwrap();
    assert_unauthorized(response, ME).await;
}

#[tokio::test]
async fn issued_tokens_carry_the_contract_claims() {
    // Arrange
    let app = app_with_known_secret().await;

    // Act
    let (token, claims) = admin_claims(&app).await;

    // Assert
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "HS256");
    for claim in ["sub", "sid", "role", "jti"] {
        assert!(claims[claim].is_string(), "{claim} in {claims}");
    }
    assert_eq!(claims["role"], "admin");
    let iat = claims["iat"].as_i64().expect("iat");
    let exp = claims["exp"].as_i64().expect("exp");
    assert_eq!(exp - iat, 900, "15 minutes");
}

#[tokio::test]
async fn a_token_re_signed_with_the_kept_secret_is_accepted_control() {
    // Arrange: no RINGUP_SECRET, so the server generated and kept one in its data directory.
    let app = spawn_app().await;
    assert!(app.settings.secret.is_none());
    let secret = std::fs::read_to_string(app.data_dir().join("data/secret")).unwrap();
    let (_, claims) = admin_claims(&app).await;

    // Act
    let forged = sign(Algorithm::HS256, &claims, secret.trim().as_bytes());

    // Assert
    assert_eq!(me_status(&app, &forged).await, 200);
}

#[tokio::test]
async fn a_token_re_signed_with_the_configured_secret_is_accepted_control() {
    // Arrange
    let app = app_with_known_secret().await;
    let (_, claims) = admin_claims(&app).await;

    // Act
    let forged = sign(Algorithm::HS256, &claims, SECRET.as_bytes());

    // Assert
    assert_eq!(me_status(&app, &forged).await, 200);
}

#[tokio::test]
async fn a_token_signed_with_another_secret_is_401() {
    // Arrange
    let app = app_with_known_secret().await;
    let (_, claims) = admin_claims(&app).await;

    // Act
    let forged = sign(
        Algorithm::HS256,
        &claims,
        b"another-secret-of-forty-characters-00000",
    );

    // Assert
    assert_me_unauthorized(&app, &forged).await;
}

#[tokio::test]
async fn an_unsigned_alg_none_token_is_401() {
    // Arrange
    let app = app_with_known_secret().await;
    let (_, claims) = admin_claims(&app).await;

    for alg in ["none", "None", "NONE"] {
        // Act
        let header = json!({ "alg": alg, "typ": "JWT" });
        let forged = format!("{}.{}.", b64(&header), b64(&claims));

        // Assert
        assert_me_unauthorized(&app, &forged).await;
    }
}

#[tokio::test]
async fn hs384_and_hs512_tokens_with_the_right_secret_are_401() {
    // Arrange
    let app = app_with_known_secret().await;
    let (_, claims) = admin_claims(&app).await;

    for alg in [Algorithm::HS384, Algorithm::HS512] {
        // Act
        let forged = sign(alg, &claims, SECRET.as_bytes());

        // Assert
        assert_me_unauthorized(&app, &forged).await;
    }
}

#[tokio::test]
async fn a_tampered_payload_is_401() {
    // Arrange: a cashier's token whose role claim is changed to admin, signature kept.
    let app = app_with_known_secret().await;
    let cashier = app.create_user("cashier", &[]).await;
    let mut claims = claims_of(&cashier.token);
    claims["role"] = json!("admin");
    let parts: Vec<&str> = cashier.token.split('.').collect();

    // Act
    let forged = format!("{}.{}.{}", parts[0], b64(&claims), parts[2]);

    // Assert
    assert_me_unauthorized(&app, &forged).await;
    assert_eq!(
        me_status(&app, &cashier.token).await,
        200,
        "the original works"
    );
}

#[tokio::test]
async fn a_well_signed_token_of_a_session_that_does_not_exist_is_401() {
    // Arrange
    let app = app_with_known_secret().await;
    let (_, mut claims) = admin_claims(&app).await;
    // A well-formed id that names no session: the user's own id.
    claims["sid"] = claims["sub"].clone();

    // Act
    let forged = sign(Algorithm::HS256, &claims, SECRET.as_bytes());

    // Assert
    assert_me_unauthorized(&app, &forged).await;
}

#[tokio::test]
async fn a_well_signed_token_without_exp_is_401() {
    // Arrange
    let app = app_with_known_secret().await;
    let (_, mut claims) = admin_claims(&app).await;
    claims.as_object_mut().unwrap().remove("exp");

    // Act
    let forged = sign(Algorithm::HS256, &claims, SECRET.as_bytes());

    // Assert
    assert_me_unauthorized(&app, &forged).await;
}

#[tokio::test]
async fn an_access_token_expires_after_15_minutes() {
    // Arrange
    let app = spawn_app().await;
    let (access, refresh) = pair_of(&app.login(ADMIN_USERNAME, ADMIN_PASSWORD).await);
    app.clock.advance(chrono::Duration::seconds(899));
    assert_eq!(me_status(&app, &access).await, 200, "still valid at 14:59");

    // Act
    app.clock.advance(chrono::Duration::seconds(2));

    // Assert
    assert_me_unauthorized(&app, &access).await;
    // The refresh token lives on and brings a fresh access token.
    let response = refresh_response(&app, &refresh).await;
    assert_eq!(response.status().as_u16(), 200);
    let (fresh, _) = pair_of(&json_of(response).await);
    assert_eq!(me_status(&app, &fresh).await, 200);
}

#[tokio::test]
async fn a_refresh_token_expires_after_30_days() {
    // Arrange
    let app = spawn_app().await;
    let (_, refresh) = pair_of(&app.login(ADMIN_USERNAME, ADMIN_PASSWORD).await);

    // Act
    app.clock
        .advance(chrono::Duration::days(30) + chrono::Duration::seconds(1));

    // Assert
    assert_unauthorized(refresh_response(&app, &refresh).await, REFRESH).await;
}

#[tokio::test]
async fn garbage_bearer_tokens_are_401() {
    // Arrange
    let app = spawn_app().await;
    let fake_api_key = format!("rk_{}", "A".repeat(43));

    for token in [
        "garbage",
        "a.b.c",
        "eyJhbGciOiJIUzI1NiJ9.e30.",
        fake_api_key.as_str(),
    ] {
        // Act
        let response = app.authed(Method::GET, ME, token).send().await.unwrap();

        // Assert
        assert_unauthorized(response, ME).await;
    }
}

#[tokio::test]
async fn a_missing_authorization_header_is_401() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app.get(ME).await;

    // Assert
    assert_unauthorized(response, ME).await;
}

#[tokio::test]
async fn other_authorization_schemes_are_401() {
    // Arrange
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{ADMIN_USERNAME}:{ADMIN_PASSWORD}"))
    );
    let values = [
        basic,
        format!("Token {token}"),
        token.clone(),
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
    ];

    for value in values {
        // Act
        let response = app
            .client
            .get(app.url(ME))
            .header("authorization", &value)
            .send()
            .await
            .unwrap();

        // Assert
        assert_unauthorized(response, ME).await;
    }
    // The scheme name itself is case-insensitive (RFC 9110).
    let lower = app
        .client
        .get(app.url(ME))
        .header("authorization", format!("bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(lower.status().as_u16(), 200);
}
