//! Password reset over SMTP: the mail is delivered to a real SMTP server process (Python's
//! `aiosmtpd`, installed with pip by the test if missing) and its link completes the reset.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use ringup_testkit::spawn_app_with;
use tempfile::TempDir;
use tokio::process::{Child, Command};

use crate::auth::flows::{NEW_PASSWORD, email_of, login_status};
use crate::auth::reset::*;

/// `aiosmtpd` listening on a free loopback port, storing what it receives in a maildir. The
/// process is killed when this is dropped.
struct SmtpServer {
    port: u16,
    maildir: PathBuf,
    _child: Child,
    _dir: TempDir,
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

const AIOSMTPD_HINT: &str =
    "the SMTP tests need Python 3 with aiosmtpd: `python3 -m pip install aiosmtpd`";

async fn start_smtp_server() -> SmtpServer {
    crate::support::ensure_python_packages("aiosmtpd", &["aiosmtpd"]);
    let dir = TempDir::new().unwrap();
    let maildir = dir.path().join("maildir");
    let port = free_port();
    let mut child = Command::new("python3")
        .args(["-m", "aiosmtpd", "-n", "-l"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(&maildir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start python3 ({e}); {AIOSMTPD_HINT}"));
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            let output = child.wait_with_output().await.unwrap();
            panic!(
                "aiosmtpd exited ({status}) before listening on port {port}; {AIOSMTPD_HINT}\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        assert!(
            Instant::now() < deadline,
            "aiosmtpd did not listen on port {port} within 15 s; {AIOSMTPD_HINT}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    SmtpServer {
        port,
        maildir,
        _child: child,
        _dir: dir,
    }
}

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
