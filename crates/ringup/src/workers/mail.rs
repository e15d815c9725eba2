//! The mail worker (docs/ARCHITECTURE.md "Mail"): each pass it turns new `stock.low` events
//! into notices, queues the low-stock mails and daily summaries that are due, and sends the
//! due rows of the durable mail queue, recording each attempt (sent, retried later with
//! backoff, or failed after the last attempt).
//!
//! It wakes when the event stream publishes (a `stock.low` may have arrived), when a request
//! queued a mail on this node, and every second otherwise (mail queued by another node,
//! retries coming due, a store's summary time passing). Decisions are taken by the server's
//! clock, so tests move time. Nothing here is on a request's path: a hanging SMTP server
//! never holds up a sale.
//!
//! Sends run beside the passes, up to [`IN_FLIGHT`] at once, each bounded by the mailer's
//! timeout: a mail that hangs holds its own place until then, never the claiming and
//! sending of the mails due after it. Each result is recorded as it comes.

use std::sync::Arc;
use std::time::Duration;

use ringup_api::auth::Auth;
use ringup_app::mail::{self as app, Attempt, ClaimedMail};
use ringup_store::Db;
use tokio::sync::{Notify, watch};
use tokio::task::{JoinHandle, JoinSet};

/// How long the worker waits for a signal before looking anyway.
const IDLE: Duration = Duration::from_secs(1);
/// Mails being sent at once at most; more that are due wait for a place.
const IN_FLIGHT: usize = app::CLAIM_BATCH;
/// How often sent and failed mails past their retention are purged.
const PURGE_EVERY: Duration = Duration::from_secs(3600);
/// The queue-depth gauge.
pub const PENDING_GAUGE: &str = "ringup_mail_queue_pending";

/// The running worker; [`MailWorker::stop`] ends it (a claimed mail's lease runs out and it is
/// sent by the next start or another node).
pub struct MailWorker {
    task: JoinHandle<()>,
}

/// Starts the worker, sending through `auth`'s mailer and deciding by its clock.
pub fn spawn(
    db: Db,
    auth: Arc<Auth>,
    events: watch::Receiver<i64>,
    wake: Arc<Notify>,
) -> MailWorker {
    let task = tokio::spawn(
        Worker {
            db,
            auth,
            failing: false,
            sending: JoinSet::new(),
        }
        .run(events, wake),
    );
    MailWorker { task }
}

impl MailWorker {
    pub fn stop(self) {
        self.task.abort();
    }
}

struct Worker {
    db: Db,
    auth: Arc<Auth>,
    /// A pass failed and none succeeded since (so the failure is logged once).
    failing: bool,
    /// The mails being sent, each answering with its result.
    sending: JoinSet<Sent>,
}

/// A claimed mail and how its attempt went.
type Sent = (ClaimedMail, Result<(), String>);

impl Worker {
    async fn run(mut self, mut events: watch::Receiver<i64>, wake: Arc<Notify>) {
        let mut last_purge: Option<std::time::Instant> = None;
        let mut events_open = true;
        loop {
            match self.pass().await {
                Ok(()) => {
                    if std::mem::take(&mut self.failing) {
                        tracing::info!("the mail worker works again");
                    }
                }
                Err(err) => {
                    if !std::mem::replace(&mut self.failing, true) {
                        tracing::warn!(error = %err, "a mail pass failed; retrying every second");
                    }
                }
            }
            if last_purge.is_none_or(|at| at.elapsed() >= PURGE_EVERY) {
                last_purge = Some(std::time::Instant::now());
                match app::purge(&self.db, self.auth.clock.now()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(purged = n, "old mails purged from the queue"),
                    Err(err) => tracing::warn!(error = %err, "purging old mails failed"),
                }
            }
            tokio::select! {
                changed = events.changed(), if events_open => {
                    if changed.is_err() {
                        events_open = false;
                    }
                }
                () = wake.notified() => {}
                Some(joined) = self.sending.join_next(), if !self.sending.is_empty() => {
                    self.record_finished(joined).await;
                }
                () = tokio::time::sleep(IDLE) => {}
            }
        }
    }

    /// Records the attempt that just finished and every other one finished by now (a place
    /// came free, so the next pass may claim more).
    async fn record_finished(&mut self, first: Result<Sent, tokio::task::JoinError>) {
        let mut finished = vec![first];
        while let Some(joined) = self.sending.try_join_next() {
            finished.push(joined);
        }
        for joined in finished {
            // A send that panicked left its mail claimed: its lease runs out and it is sent
            // again.
            let Ok((mail, result)) = joined else { continue };
            if let Err(err) = self.record(&mail, result).await {
                tracing::warn!(error = %err, "a mail's attempt could not be recorded; it is sent again once its claim runs out");
            }
        }
    }

    /// One pass: notices, low-stock mails, summaries, then the due queue. Each step runs
    /// even when one before it failed (an event that cannot be read must not hold up the
    /// receipts); the pass answers the first failure.
    async fn pass(&mut self) -> Result<(), ringup_store::StoreError> {
        let now = self.auth.clock.now();
        let noticed = app::notice_low_stock(&self.db, now).await.map(drop);
        let low = app::queue_low_stock_mails(&self.db, now).await;
        let summaries = app::queue_daily_summaries(&self.db, now).await;
        if let (Ok(low), Ok(summaries)) = (&low, &summaries)
            && low + summaries > 0
        {
            tracing::info!(
                low_stock = low,
                daily_summaries = summaries,
                "notification mails queued"
            );
        }
        let sent = self.send_due().await;
        noticed?;
        low?;
        summaries?;
        sent
    }

    /// Claims the due mails there is room for and starts sending them, then sets the queue
    /// gauge.
    async fn send_due(&mut self) -> Result<(), ringup_store::StoreError> {
        loop {
            let room = IN_FLIGHT.saturating_sub(self.sending.len());
            let claimed = app::claim(&self.db, self.auth.clock.now(), room).await?;
            if claimed.is_empty() {
                break;
            }
            for mail in claimed {
                let mailer = self.auth.mailer.clone();
                self.sending.spawn(async move {
                    let patience = mailer.timeout();
                    let sent = tokio::time::timeout(
                        patience,
                        mailer.send(&mail.recipient, &mail.subject, mail.body.clone()),
                    )
                    .await;
                    let result = match sent {
                        Ok(Ok(())) => Ok(()),
                        Ok(Err(err)) => Err(err.to_string()),
                        Err(_) => Err(format!("no answer in {} s", patience.as_secs())),
                    };
                    (mail, result)
                });
            }
        }
        let pending = app::pending(&self.db).await?;
        #[allow(clippy::cast_precision_loss, reason = "a gauge of a count")]
        metrics::gauge!(PENDING_GAUGE).set(pending as f64);
        Ok(())
    }

    /// Records one attempt's result and logs what became of the mail.
    async fn record(
        &self,
        mail: &ClaimedMail,
        result: Result<(), String>,
    ) -> Result<(), ringup_store::StoreError> {
        let error = result.as_ref().err().cloned();
        match app::record(&self.db, mail, result, self.auth.clock.now()).await? {
            Attempt::Sent => {
                tracing::debug!(kind = %mail.kind, attempts = mail.attempts, "mail sent");
            }
            Attempt::Retry(at) => tracing::warn!(
                kind = %mail.kind, attempts = mail.attempts, retry_at = %at,
                error = error.as_deref().unwrap_or(""), "mail not delivered; will retry"
            ),
            Attempt::GaveUp => tracing::error!(
                kind = %mail.kind, attempts = mail.attempts,
                error = error.as_deref().unwrap_or(""), "mail not delivered; giving up"
            ),
        }
        Ok(())
    }
}
