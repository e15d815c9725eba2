//! Password reset over SMTP: the mail is delivered to a real SMTP server process (Python's
//! `aiosmtpd`, installed with pip by the test if missing) and its link completes the reset.

use std::time::Duration;

use ringup_testkit::spawn_app_with;

use crate::auth::flows::{NEW_PASSWORD, email_of, login_status};
use crate::auth::reset::*;
use crate::smtp::start_smtp_server;

#[tokio::test]
async fn a_reset_mail_is_delivered_over_smtp_and_its_link_works() {
    // Arrange
    let smtp = start_smtp_server().await;
    let url = format!("smtp://127.0.0.1:{}", smtp.port);
    let app = spawn_app_with(|raw| {
        raw.smtp_url = Some(url);
        raw.public_url = Some("https://till.example.test".into());
        raw.mail_from = "ringup@pos.example.test".into();
    })
    .await;
    let user = app.create_user("cashier", &[]).await;
    let email = email_of(&user.username);

    // Act
    let requested = request_reset(&app, &email).await;
    let mail = wait_for_reset_mail(
        &smtp.maildir.join("new"),
        &email,
        "https://till.example.test",
        Duration::from_secs(15),
    )
    .await;
    let confirmed = confirm_reset(&app, &mail.token, NEW_PASSWORD).await;

    // Assert
    assert_eq!(requested.status().as_u16(), 202);
    assert!(
        mail.headers.contains(&format!("X-RcptTo: {email}")),
        "the SMTP envelope names the user: {}",
        mail.headers
    );
    assert!(
        mail.headers.contains("X-MailFrom: ringup@pos.example.test"),
        "{}",
        mail.headers
    );
    assert!(mail.headers.contains("Subject:"), "{}", mail.headers);
    assert_eq!(mail.token.len(), 43);
    assert_eq!(confirmed.status().as_u16(), 204);
    assert_eq!(login_status(&app, &user.username, NEW_PASSWORD).await, 200);
    assert!(
        files_in(&mail_dir(&app)).is_empty(),
        "with SMTP configured nothing is written to the mail drop"
    );
}
