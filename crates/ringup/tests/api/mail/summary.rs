//! The daily summary: once per store and local date, when the store's local time passes its
//! `daily_summary_at`, to its managers who did not opt out, with the day's figures.

use chrono::Days;

use super::*;
use crate::smtp::wait_for;

const SUMMARY: &str = "Daily summary";

#[tokio::test]
async fn the_daily_summary_goes_out_once_at_the_stores_local_time() {
    // Arrange: tomorrow (so no summary of the real date interferes), noon in Nairobi.
    let (s, smtp) = mailing_shop().await;
    let day = now(&s.app)
        .date_naive()
        .checked_add_days(Days::new(1))
        .unwrap();
    set_clock(&s.app, day, 9, 0);
    let admin = s.app.admin_token().await;
    let path = format!("/api/v1/stores/{}", s.store);
    let patched = s
        .app
        .authed(Method::PATCH, &path, &admin)
        .json(&json!({"daily_summary_at": "21:30"}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status().as_u16(), 200);
    let manager = s.app.create_user("manager", &[s.store]).await;
    let quiet = s.app.create_user("manager", &[s.store]).await;
    let off = patch_me(&s.app, &quiet, &json!({"notify_daily_summary": false})).await;
    assert_eq!(off.status().as_u16(), 200);
    let (item, _) = product(&s, "SUM-1", 0, 10).await;
    let cashier = s.staff("cashier").await;
    let shift = s.open(&cashier.token, &s.register, 0).await;
    let body = crate::checkout_support::sale_body(
        &shift,
        vec![json!({"product_id": item, "quantity": 2})],
        vec![crate::checkout_support::pay("cash", 2000)],
    );
    s.sell(&cashier.token, &body).await;
    let to = address(&manager);

    // Act: 21:20 in Nairobi (18:20 UTC): not yet; 21:31 (18:31 UTC): due.
    set_clock(&s.app, day, 18, 20);
    tokio::time::sleep(SETTLE).await;
    let before = mails_to(&smtp, &to, SUMMARY);
    set_clock(&s.app, day, 18, 31);
    let mail = wait_for(&smtp.maildir, ARRIVAL, |m| {
        m.is_to(&to) && m.header("Subject").is_some_and(|s| s.contains(SUMMARY))
    })
    .await;
    // Later the same local day, then just past local midnight (still `day` in UTC).
    set_clock(&s.app, day, 20, 0);
    tokio::time::sleep(SETTLE).await;
    set_clock(&s.app, day, 21, 1);
    tokio::time::sleep(SETTLE).await;

    // Assert
    assert!(before.is_empty(), "sent before its local time: {before:?}");
    let subject = mail.header("Subject").unwrap_or_default();
    assert!(subject.contains(&day.to_string()), "{subject}");
    assert!(mail.body.contains("Sales:      1"), "{}", mail.body);
    assert!(mail.body.contains("Total:      20.00 KES"), "{}", mail.body);
    assert!(mail.body.contains("Item SUM-1"), "{}", mail.body);
    assert_eq!(mails_to(&smtp, &to, SUMMARY).len(), 1, "sent twice");
    assert!(
        mails_to(&smtp, &address(&quiet), SUMMARY).is_empty(),
        "opt-out ignored"
    );
}
