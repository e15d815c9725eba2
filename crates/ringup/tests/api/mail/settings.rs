//! The settings behind the mail: a store's `daily_summary_at` (shown, validated) and each
//! user's opt-outs (shown on the user and on `/me`; set by the user or their manager).

use super::*;
use crate::checkout_support::{expect, problem};
use crate::support::error_fields;

#[tokio::test]
async fn a_stores_summary_time_defaults_to_22_00_and_is_validated() {
    // Arrange
    let (s, _smtp) = mailing_shop().await;
    let admin = s.app.admin_token().await;
    let path = format!("/api/v1/stores/{}", s.store);
    let patch = |body: Value| {
        s.app
            .authed(Method::PATCH, &path, &admin)
            .json(&body)
            .send()
    };

    // Act
    let initial = s
        .app
        .authed(Method::GET, &path, &admin)
        .send()
        .await
        .unwrap();
    let changed = patch(json!({"daily_summary_at": "07:05"})).await.unwrap();
    let mut refused = Vec::new();
    for bad in ["24:00", "7:05", "12:60", "noon", ""] {
        refused.push(patch(json!({"daily_summary_at": bad})).await.unwrap());
    }
    let after = s
        .app
        .authed(Method::GET, &path, &admin)
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(expect(initial, 200).await["daily_summary_at"], "22:00");
    assert_eq!(expect(changed, 200).await["daily_summary_at"], "07:05");
    for response in refused {
        let problem = problem(response, 422).await;
        assert_eq!(error_fields(&problem), ["daily_summary_at"], "{problem}");
    }
    assert_eq!(expect(after, 200).await["daily_summary_at"], "07:05");
}

#[tokio::test]
async fn users_opt_out_themselves_and_admins_can_set_it_for_them() {
    // Arrange
    let (s, _smtp) = mailing_shop().await;
    let cashier = s.app.create_user("cashier", &[s.store]).await;
    let manager = s.app.create_user("manager", &[s.store]).await;
    let admin = s.app.admin_token().await;
    let user_path = format!("/api/v1/users/{}", manager.id);

    // Act
    let own = patch_me(&s.app, &cashier, &json!({"notify_daily_summary": false})).await;
    let sneaky = patch_me(&s.app, &cashier, &json!({"role": "admin"})).await;
    let by_admin = s
        .app
        .authed(Method::PATCH, &user_path, &admin)
        .json(&json!({"notify_low_stock": false}))
        .send()
        .await
        .unwrap();
    let api_key = s.app.create_api_key("manager", &[s.store]).await;
    let by_key = s
        .app
        .client
        .patch(s.app.url("/api/v1/me"))
        .bearer_auth(&api_key.key)
        .json(&json!({"notify_low_stock": false}))
        .send()
        .await
        .unwrap();
    let manager_view = s
        .app
        .authed(Method::GET, &user_path, &admin)
        .send()
        .await
        .unwrap();

    // Assert
    let own = expect(own, 200).await;
    assert_eq!(own["notify_daily_summary"], false, "{own}");
    assert_eq!(own["notify_low_stock"], true, "{own}");
    assert_eq!(own["role"], "cashier", "{own}");
    let problem = problem(sneaky, 422).await;
    assert_eq!(error_fields(&problem), ["role"], "{problem}");
    let by_admin = expect(by_admin, 200).await;
    assert_eq!(by_admin["notify_low_stock"], false, "{by_admin}");
    assert_eq!(by_admin["notify_daily_summary"], true, "{by_admin}");
    assert_eq!(by_key.status().as_u16(), 403);
    let shown = expect(manager_view, 200).await;
    assert_eq!(shown["notify_low_stock"], false, "{shown}");
}
