//! The error-tracking worker: about once a second it writes what the [`Recorder`] counted,
//! and when new fingerprints were written and the last mail is an hour old (by the server's
//! clock) it mails every active admin about them.
//!
//! A failed flush (the database is what broke, say) leaves the groups in memory, is logged
//! once, and is retried every second until it succeeds, which is logged too; requests never
//! wait for any of this. On shutdown the worker flushes once more before the pools close.

use std::sync::Arc;
use std::time::Duration;

use ringup_api::auth::Auth;
use ringup_app::errors::{self as app, ClaimedMail, MailCheck, Recorder};
use ringup_core::errors::digest;
use ringup_store::Db;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often counted errors are written.
const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// Flush periods to wait before trying again a mail that reached nobody.
const MAIL_RETRY_TICKS: u32 = 60;
/// How long shutdown waits for the last flush.
const LAST_FLUSH_PATIENCE: Duration = Duration::from_secs(5);

/// The running worker; [`ErrorWorker::stop`] ends it after a last flush.
pub struct ErrorWorker {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// Starts the worker for `recorder`, mailing through `auth`'s mailer and clock.
pub fn spawn(db: Db, recorder: Recorder, auth: Arc<Auth>) -> ErrorWorker {
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(
        Worker {
            db,
            recorder,
            auth,
            flush_failing: false,
            mail_due: true,
            not_before: None,
            pause_ticks: 0,
        }
        .run(stopped),
    );
    ErrorWorker { stop, task }
}

impl ErrorWorker {
    /// Flushes once more and ends the worker (waiting a few seconds at most).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let task = self.task;
        if tokio::time::timeout(LAST_FLUSH_PATIENCE, task)
            .await
            .is_err()
        {
            tracing::warn!("the last flush of recorded errors did not finish in time");
        }
    }
}

struct Worker {
    db: Db,
    recorder: Recorder,
    auth: Arc<Auth>,
    /// A flush failed and has not succeeded since (so the failure is logged once).
    flush_failing: bool,
    /// New fingerprints may be waiting for a mail (also at start: a restart may have left
    /// some).
    mail_due: bool,
    /// No mail before this time (an hour after the last one).
    not_before: Option<chrono::DateTime<chrono::Utc>>,
    /// Flush periods to skip before looking at mail again.
    pause_ticks: u32,
}

impl Worker {
    async fn run(mut self, mut stopped: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(FLUSH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stopped.changed() => {
                    self.flush().await;
                    return;
                }
            }
            if self.flush().await {
                self.mail_due = true;
            }
            if self.pause_ticks > 0 {
                self.pause_ticks -= 1;
            } else if self.mail_due && self.not_before.is_none_or(|at| self.auth.clock.now() >= at)
            {
                self.mail().await;
            }
        }
    }

    /// Writes what was counted; whether anything was written.
    async fn flush(&mut self) -> bool {
        match app::flush(&self.db, &self.recorder, self.auth.clock.now()).await {
            Ok(0) => false,
            Ok(groups) => {
                if std::mem::take(&mut self.flush_failing) {
                    tracing::info!(groups, "recorded errors are being written again");
                }
                true
            }
            Err(err) => {
                if !std::mem::replace(&mut self.flush_failing, true) {
                    tracing::error!(
                        error = %err,
                        pending = self.recorder.pending(),
                        "recorded errors could not be written; they are kept in memory and retried every second"
                    );
                }
                false
            }
        }
    }

    async fn mail(&mut self) {
        let now = self.auth.clock.now();
        match app::claim_mail(&self.db, now).await {
            Ok(MailCheck::NothingNew | MailCheck::NoRecipients) => self.mail_due = false,
            Ok(MailCheck::NotBefore(at)) => self.not_before = Some(at),
            Ok(MailCheck::Lost) => self.not_before = Some(now + app::MAIL_INTERVAL),
            Ok(MailCheck::Claimed(mail)) => {
                if self.send(&mail).await {
                    self.not_before = Some(now + app::MAIL_INTERVAL);
                } else {
                    if let Err(err) = app::cancel_mail(&self.db, mail.id, now).await {
                        tracing::warn!(error = %err, "an undelivered error mail could not be cancelled");
                    }
                    self.pause_ticks = MAIL_RETRY_TICKS;
                }
            }
            // The flush reports database trouble already; try again on a later tick.
            Err(err) => tracing::debug!(error = %err, "checking for new errors to mail failed"),
        }
    }

    /// Sends the mail to every recipient; whether it reached at least one.
    async fn send(&self, mail: &ClaimedMail) -> bool {
        let text = digest::digest(&mail.groups, &self.auth.public_url);
        let mut delivered = 0usize;
        for to in &mail.recipients {
            match self
                .auth
                .mailer
                .send(to, &text.subject, text.body.clone())
                .await
            {
                Ok(()) => delivered += 1,
                Err(err) => tracing::error!(error = %err, "error mail not delivered"),
            }
        }
        tracing::info!(
            fingerprints = mail.groups.len(),
            delivered,
            "mailed the admins about new errors"
        );
        delivered > 0
    }
}
