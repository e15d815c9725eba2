//! A receipt by e-mail: `POST /sales/{id}/receipt/email` answers 202, and the mail (the file
//! mailer's `.eml`) arrives with subject `Receipt <number>` and the text receipt as its body.

use std::time::{Duration, Instant};

use ringup_testkit::TestApp;
use serde_json::json;

use super::{
    Fixture, MAIL_TO, STORE_NAME, email, fixture, mail_headers, receipt_mails, text_receipt,
};
use crate::auth::reset::{decode_message, files_in, mail_dir};
use crate::checkout_support::{CODE, expect, number, problem};
use crate::support::error_fields;

/// How long a queued mail may take to appear.
const MAIL_WAIT: Duration = Duration::from_secs(5);

/// A delivered message: its header block and its decoded body with `\n` line ends.
struct Mail {
    headers: String,
    body: String,
}

/// Waits (at most [`MAIL_WAIT`]) for a message to `to` with `subject` in the app's mail
/// directory.
async fn wait_for_mail(app: &TestApp, to: &str, subject: &str) -> Mail {
    let dir = mail_dir(app);
    let deadline = Instant::now() + MAIL_WAIT;
    loop {
        for path in files_in(&dir) {
            let Ok(raw) = std::fs::read_to_string(&path) else {
                continue;
            };
            if raw.split_once("\r\n\r\n").is_none() && raw.split_once("\n\n").is_none() {
                continue; // still being written
            }
            let (headers, body) = decode_message(&raw);
            let has = |name: &str, value: &str| {
                headers.lines().any(|l| {
                    l.split_once(':').is_some_and(|(n, v)| {
                        n.trim().eq_ignore_ascii_case(name) && v.trim() == value
                    })
                })
            };
            if has("to", to) && has("subject", subject) {
                return Mail {
                    headers,
                    body: body.replace("\r\n", "\n"),
                };
            }
        }
        assert!(
            Instant::now() < deadline,
            "no mail to {to} with subject {subject:?} in {} within {MAIL_WAIT:?}; files: {:?}",
            dir.display(),
            files_in(&dir)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_emailed_receipt_is_queued_and_arrives_as_the_text_receipt() {
    // Arrange
    let Fixture { s, cashier, sale } = fixture().await;
    let text = text_receipt(&s.app, &cashier.token, &sale).await;

    // Act
    let invalid = json!({ "email": "not-an-email" });
    let refused = email(&s, &cashier.token, &sale, &invalid).await;
    let body = json!({ "email": MAIL_TO });
    let response = email(&s, &cashier.token, &sale, &body).await;

    // Assert
    let problem = problem(refused, 422).await;
    assert_eq!(error_fields(&problem), ["email"], "{problem}");
    let queued = expect(response, 202).await;
    assert_eq!(queued, json!({ "status": "queued" }));
    let subject = format!("Receipt {}", number(CODE, 1));
    let mail = wait_for_mail(&s.app, MAIL_TO, &subject).await;
    let lines: Vec<&str> = mail.body.trim_end_matches('\n').lines().collect();
    let expected: Vec<&str> = text.trim_end_matches('\n').lines().collect();
    assert_eq!(
        lines, expected,
        "the body is the text receipt\nheaders:\n{}",
        mail.headers
    );
    assert!(mail.body.contains(STORE_NAME));
    assert!(mail.body.contains("1,510.06"));
    // One receipt, and nothing for the invalid address (other mail may be there, see
    // `mail_headers`).
    assert_eq!(receipt_mails(&s.app).len(), 1, "one receipt");
    let headers = mail_headers(&s.app);
    assert!(
        headers.iter().all(|h| !h.contains("not-an-email")),
        "none for the invalid address: {headers:#?}"
    );
}
