//! Low-stock mails: batched per store (one mail listing what fell low, at most one an hour),
//! each product at most once a day, only to the store's managers who did not opt out.

use chrono::Duration as Span;
use serde_json::json;

use super::*;
use crate::smtp::wait_for;

const LOW: &str = "Low stock";

#[tokio::test]
async fn low_stock_is_batched_per_store_hourly_and_per_product_daily() {
    // Arrange: a manager who wants the mails, one who opted out, one of another store.
    let (s, smtp) = mailing_shop().await;
    let day = now(&s.app).date_naive();
    let start = set_clock(&s.app, day, 5, 0); // 08:00 in Nairobi: the day has room.
    let manager = s.app.create_user("manager", &[s.store]).await;
    let quiet = s.app.create_user("manager", &[s.store]).await;
    let other_store = s.app.create_store("OTH1").await;
    let elsewhere = s.app.create_user("manager", &[other_store]).await;
    let opted_out = patch_me(&s.app, &quiet, &json!({"notify_low_stock": false})).await;
    assert_eq!(opted_out.status().as_u16(), 200);
    let (milk, milk_sku) = product(&s, "LS-MILK", 5, 10).await;
    let (bread, bread_sku) = product(&s, "LS-BREAD", 5, 10).await;
    let (eggs, eggs_sku) = product(&s, "LS-EGGS", 5, 10).await;

    // Act 1: two products fall low within minutes; the batch waits for its gathering time.
    adjust(&s, s.store, &milk, -6, "damage").await;
    s.app.clock.advance(Span::minutes(2));
    adjust(&s, s.store, &bread, -7, "damage").await;
    tokio::time::sleep(SETTLE).await;
    let early = mails_to(&smtp, &address(&manager), LOW);
    s.app.clock.set(start + Span::minutes(6));
    let first = wait_for(&smtp.maildir, ARRIVAL, |m| is_low(m, &address(&manager))).await;

    // Assert 1: one mail listing both, to the manager who wants it only.
    assert!(
        early.is_empty(),
        "sent before the batch gathered: {early:?}"
    );
    assert!(first.body.contains(&milk_sku), "{}", first.body);
    assert!(first.body.contains(&bread_sku), "{}", first.body);
    assert!(!first.body.contains(&eggs_sku), "{}", first.body);
    let subject = first.header("Subject").unwrap_or_default();
    assert!(
        subject.contains("Low stock") && subject.contains("2 products"),
        "{subject}"
    );

    // Act 2: within the hour a third product falls low, and the first one climbs back and
    // falls low again the same day.
    s.app.clock.set(start + Span::minutes(10));
    adjust(&s, s.store, &eggs, -8, "damage").await;
    adjust(&s, s.store, &milk, 20, "receiving").await;
    adjust(&s, s.store, &milk, -22, "damage").await;
    s.app.clock.set(start + Span::minutes(40));
    tokio::time::sleep(SETTLE).await;
    let within_the_hour = mails_to(&smtp, &address(&manager), LOW).len();
    s.app.clock.set(start + Span::minutes(67));
    let second = wait_for(&smtp.maildir, ARRIVAL, |m| {
        is_low(m, &address(&manager)) && m.body.contains(&eggs_sku)
    })
    .await;
    tokio::time::sleep(SETTLE).await;

    // Assert 2: nothing until the hour passed; then the new product only.
    assert_eq!(within_the_hour, 1, "a second mail within the hour");
    assert!(
        !second.body.contains(&milk_sku),
        "listed twice in a day: {}",
        second.body
    );
    assert!(!second.body.contains(&bread_sku), "{}", second.body);
    assert_eq!(mails_to(&smtp, &address(&manager), LOW).len(), 2);
    assert!(
        mails_to(&smtp, &address(&quiet), LOW).is_empty(),
        "the opt-out was ignored"
    );
    assert!(
        mails_to(&smtp, &address(&elsewhere), LOW).is_empty(),
        "another store's manager"
    );
    let queued = ringup_app::mail::queued(&s.app.db).await.unwrap();
    let low: Vec<_> = queued.iter().filter(|m| m.kind == "low_stock").collect();
    assert_eq!(low.len(), 2, "{low:?}");
    assert!(
        low.iter().all(|m| m.sent_at.is_some() && m.attempts == 1),
        "{low:?}"
    );
}

#[tokio::test]
async fn a_store_without_managers_tells_its_admins_unless_they_opted_out() {
    // Arrange: the shop's store has no manager; the admin opts out of low-stock mail.
    let (s, smtp) = mailing_shop().await;
    let day = now(&s.app).date_naive();
    let start = set_clock(&s.app, day, 5, 0);
    let admin_me = json_of(
        s.app
            .authed(
                reqwest::Method::GET,
                "/api/v1/me",
                &s.app.admin_token().await,
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    let admin_address = admin_me["email"].as_str().unwrap().to_owned();
    let (oil, oil_sku) = product(&s, "LS-OIL", 3, 5).await;
    let (salt, salt_sku) = product(&s, "LS-SALT", 3, 5).await;

    // Act: one product falls low while the admin wants mail, then the admin opts out and
    // another falls low after the hour.
    adjust(&s, s.store, &oil, -3, "damage").await;
    s.app.clock.set(start + Span::minutes(6));
    let first = wait_for(&smtp.maildir, ARRIVAL, |m| is_low(m, &admin_address)).await;
    let admin_token = s.app.admin_token().await;
    let off = s
        .app
        .authed(reqwest::Method::PATCH, "/api/v1/me", &admin_token)
        .json(&json!({"notify_low_stock": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(off.status().as_u16(), 200);
    let shown = json_of(off).await;
    adjust(&s, s.store, &salt, -3, "damage").await;
    s.app.clock.set(start + Span::minutes(90));
    tokio::time::sleep(SETTLE).await;

    // Assert
    assert!(first.body.contains(&oil_sku), "{}", first.body);
    assert_eq!(shown["notify_low_stock"], false, "{shown}");
    assert_eq!(shown["notify_daily_summary"], true, "{shown}");
    let to_admin = mails_to(&smtp, &admin_address, LOW);
    assert_eq!(to_admin.len(), 1, "mailed after opting out");
    assert!(to_admin.iter().all(|m| !m.body.contains(&salt_sku)));
}

fn is_low(mail: &Received, to: &str) -> bool {
    mail.is_to(to) && mail.header("Subject").is_some_and(|s| s.contains(LOW))
}
