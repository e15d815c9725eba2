//! Outgoing mail through `lettre`: over SMTP when `RINGUP_SMTP_URL` is set, otherwise written
//! as `.eml` files under `<data dir>/mail`, so a new installation's mail can be read without a
//! mail server.

use std::path::PathBuf;

use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid mail address: {0}")]
    Address(String),
    #[error("could not build the message: {0}")]
    Build(String),
    #[error("could not deliver the message: {0}")]
    Send(String),
}

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>),
}

#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    timeout: std::time::Duration,
}

impl Mailer {
    /// SMTP at `smtp_url` (`smtp://` plain or STARTTLS by its `tls` parameter, `smtps://`
    /// TLS), or `.eml` files in `drop_dir` when no URL is given. A send may take `timeout`:
    /// each SMTP exchange is bounded by it, and so is the whole send by its caller
    /// ([`Mailer::timeout`]).
    pub fn new(
        smtp_url: Option<&str>,
        timeout: std::time::Duration,
        drop_dir: PathBuf,
        from: &str,
    ) -> Result<Mailer, MailError> {
        let from: Mailbox = from
            .parse()
            .map_err(|e: lettre::address::AddressError| MailError::Address(e.to_string()))?;
        let transport = match smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| MailError::Build(e.to_string()))?
                    .timeout(Some(timeout))
                    .build(),
            ),
            None => {
                std::fs::create_dir_all(&drop_dir).map_err(|e| MailError::Send(e.to_string()))?;
                Transport::Files(AsyncFileTransport::<Tokio1Executor>::new(drop_dir))
            }
        };
        Ok(Mailer {
            transport,
            from,
            timeout,
        })
    }

    /// How long one send may take, from connecting to the server's last reply.
    pub fn timeout(&self) -> std::time::Duration {
        self.timeout
    }

    /// Sends one message, counting it in `ringup_mail_deliveries_total` as `sent` when the
    /// transport took it and `failed` otherwise.
    pub async fn send(&self, to: &str, subject: &str, body: String) -> Result<(), MailError> {
        let sent = self.deliver(to, subject, body).await;
        ringup_app::meters::mail_delivered(sent.is_ok());
        sent
    }

    async fn deliver(&self, to: &str, subject: &str, body: String) -> Result<(), MailError> {
        let to: Mailbox = to
            .parse()
            .map_err(|e: lettre::address::AddressError| MailError::Address(e.to_string()))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| MailError::Build(e.to_string()))?;
        match &self.transport {
            Transport::Smtp(smtp) => smtp
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| MailError::Send(e.to_string())),
            Transport::Files(files) => files
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| MailError::Send(e.to_string())),
        }
    }
}
