//! The durable mail queue: a receipt mail is queued by its request and sent by the worker,
//! retried while the SMTP server is down and delivered once it is up; a mail that keeps
//! failing is given up after its last attempt; and a hung SMTP server never holds up a sale,
//! nor the mails queued after the one it hangs on.

use std::time::{Duration, Instant};

use chrono::Duration as Span;
use ringup_app::mail::QueuedMail;
use ringup_core::mail::MAX_ATTEMPTS;

use super::*;
use crate::checkout_support::{expect, line, pay, sale_body};
use crate::smtp::{free_port, start_hung_server, start_smtp_server_on, wait_for};

const CUSTOMER: &str = "customer@example.com";

/// The receipt mails in the queue.
async fn receipts(app: &TestApp) -> Vec<QueuedMail> {
    let all = ringup_app::mail::queued(&app.db).await.unwrap();
    all.into_iter().filter(|m| m.kind == "receipt").collect()
}

/// Waits (at most 20 s) until the queue's receipt mails satisfy `done`.
async fn wait_queue(
    app: &TestApp,
    what: &str,
    done: impl Fn(&[QueuedMail]) -> bool,
) -> Vec<QueuedMail> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mails = receipts(app).await;
        if done(&mails) {
            return mails;
        }
        assert!(Instant::now() < deadline, "{what}: {mails:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A cashier, an open shift and a product with stock; rings up sales and mails receipts.
struct Till<'a> {
    s: &'a Shop,
    token: String,
    shift: Value,
    item: crate::checkout_support::Item,
}

impl<'a> Till<'a> {
    async fn new(s: &'a Shop) -> Till<'a> {
        let cashier = s.staff("cashier").await;
        let item = s.stocked(1000, &s.standard, 50).await;
        let shift = s.open(&cashier.token, &s.register, 0).await;
        Till {
            s,
            token: cashier.token,
            shift,
            item,
        }
    }

    async fn sell(&self) -> Value {
        let body = sale_body(
            &self.shift,
            vec![line(&self.item, 1)],
            vec![pay("cash", 1000)],
        );
        self.s.sell(&self.token, &body).await
    }

    async fn email(&self, sale: &Value) -> Value {
        let path = format!(
            "/api/v1/sales/{}/receipt/email",
            sale["id"].as_str().unwrap()
        );
        let response = self
            .s
            .app
            .authed(Method::POST, &path, &self.token)
            .json(&json!({"email": CUSTOMER}))
            .send()
            .await
            .unwrap();
        expect(response, 202).await
    }
}

#[tokio::test]
async fn a_receipt_mail_survives_an_smtp_server_that_is_down_at_first() {
    // Arrange: ringup points at a port where nothing listens yet.
    let port = free_port();
    let s = shop_mailing_to(port).await;
    let till = Till::new(&s).await;
    let sale = till.sell().await;

    // Act 1
    let answer = till.email(&sale).await;
    let failed = wait_queue(&s.app, "a first failed attempt", |m| {
        m.len() == 1 && m[0].attempts == 1 && m[0].last_error.is_some()
    })
    .await;

    // Assert 1: queued, tried, not lost.
    assert_eq!(answer, json!({"status": "queued"}));
    assert!(
        failed[0].sent_at.is_none() && failed[0].failed_at.is_none(),
        "{failed:?}"
    );
    assert_eq!(failed[0].recipient, CUSTOMER);

    // Act 2: the server comes up and the retry comes due.
    let smtp = start_smtp_server_on(port).await;
    s.app.clock.advance(Span::seconds(11));
    let number = sale["number"].as_str().unwrap().to_owned();
    let subject = format!("Receipt {number}");
    let mail = wait_for(&smtp.maildir, ARRIVAL, |m| {
        m.is_to(CUSTOMER) && m.header("Subject").as_deref() == Some(subject.as_str())
    })
    .await;
    let sent = wait_queue(&s.app, "the mail recorded as sent", |m| {
        m.first().is_some_and(|m| m.sent_at.is_some())
    })
    .await;

    // Assert 2
    assert!(mail.body.contains(&number), "{}", mail.body);
    assert_eq!(sent[0].attempts, 2, "{sent:?}");
    assert!(sent[0].failed_at.is_none(), "{sent:?}");
    assert_eq!(
        mails_to(&smtp, CUSTOMER, "Receipt").len(),
        1,
        "delivered twice"
    );
}

#[tokio::test]
async fn a_mail_that_keeps_failing_is_given_up_after_its_last_attempt() {
    // Arrange: nothing ever listens.
    let s = shop_mailing_to(free_port()).await;
    let till = Till::new(&s).await;
    let sale = till.sell().await;
    till.email(&sale).await;

    // Act: keep moving the clock past every retry until the mail is given up.
    let deadline = Instant::now() + Duration::from_secs(40);
    let given_up = loop {
        let mails = receipts(&s.app).await;
        if mails.first().is_some_and(|m| m.failed_at.is_some()) {
            break mails;
        }
        assert!(Instant::now() < deadline, "never given up: {mails:#?}");
        s.app.clock.advance(Span::hours(2));
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    s.app.clock.advance(Span::hours(2));
    tokio::time::sleep(SETTLE).await;

    // Assert
    let after = receipts(&s.app).await;
    assert_eq!(given_up[0].attempts, MAX_ATTEMPTS, "{given_up:?}");
    assert_eq!(
        after[0].attempts, MAX_ATTEMPTS,
        "tried after giving up: {after:?}"
    );
    assert!(
        after[0].sent_at.is_none() && after[0].last_error.is_some(),
        "{after:?}"
    );
}

#[tokio::test]
async fn a_hung_smtp_server_never_holds_up_a_sale() {
    // Arrange: an SMTP server that accepts connections and never answers, and a timeout
    // longer than the test, so the first mail is still in flight at its end however slowly
    // a loaded machine runs it.
    let hung = start_hung_server().await;
    let url = smtp_url(hung.port);
    let s = shop_with(move |raw| {
        raw.smtp_url = Some(url);
        raw.smtp_timeout = "60".into();
    })
    .await;
    let till = Till::new(&s).await;
    let first = till.sell().await;
    till.email(&first).await;
    wait_queue(&s.app, "the worker stuck on the first mail", |m| {
        m.len() == 1 && m[0].attempts == 1
    })
    .await;

    // Act: the till keeps selling and mailing receipts while that mail hangs.
    let mut answers = Vec::new();
    for _ in 0..3 {
        let sale = till.sell().await;
        answers.push(till.email(&sale).await);
    }
    // The mails after it are claimed and sent beside it: the hung one holds its own place.
    let during = wait_queue(&s.app, "every mail in flight at once", |m| {
        m.len() == 4 && m.iter().all(|m| m.attempts == 1)
    })
    .await;

    // Assert: every sale and request answered while the first mail was still in flight.
    assert!(
        answers.iter().all(|a| a["status"] == "queued"),
        "{answers:?}"
    );
    assert!(
        during
            .iter()
            .all(|m| m.sent_at.is_none() && m.last_error.is_none() && m.failed_at.is_none()),
        "a mail was no longer in flight, so this proves nothing: {during:?}"
    );
}
