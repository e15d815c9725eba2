//! Error tracking's use cases: writing what the [`Recorder`] counted, and deciding when the
//! admins are mailed about fingerprints no mail has reported yet.
//!
//! Invariants: a flush either writes every group it took or puts them all back into the
//! recorder (nothing counted is lost to a failed write). At most one mail is claimed per
//! [`MAIL_INTERVAL`] by the server's clock, it reports only fingerprints never reported before,
//! and a mail that reached nobody is cancelled so its fingerprints go into the next one.

pub mod recorder;

use chrono::{DateTime, Duration, Utc};
use ringup_core::errors::ErrorGroup;
use ringup_core::ids::ErrorMailId;
use ringup_store::errors::{self as store, NewMail};
use ringup_store::platform::time;
use ringup_store::{Db, StoreError};

pub use recorder::{Occurrence, Recorded, Recorder};

/// The least time between two mails about new errors.
pub const MAIL_INTERVAL: Duration = Duration::hours(1);
/// Fingerprints one mail reports at most (it names the first 50 and counts the rest); any
/// beyond wait for the next mail.
pub const MAILED_AT_MOST: usize = 1000;

/// Writes the groups the recorder holds, as of `at`. On failure they go back into the
/// recorder and the error is returned; the caller retries later.
pub async fn flush(db: &Db, recorder: &Recorder, at: DateTime<Utc>) -> Result<usize, StoreError> {
    let groups = recorder.take();
    if groups.is_empty() {
        return Ok(0);
    }
    let written = async {
        let mut tx = db.begin_write().await?;
        store::add_occurrences(&mut tx, &groups, at).await?;
        tx.commit().await
    }
    .await;
    match written {
        Ok(()) => Ok(groups.len()),
        Err(err) => {
            recorder.restore(groups);
            Err(err)
        }
    }
}

/// What a look at the unreported fingerprints found.
#[derive(Debug)]
pub enum MailCheck {
    /// Every fingerprint has been reported.
    NothingNew,
    /// There is no active admin with an address to mail.
    NoRecipients,
    /// The last mail went out less than [`MAIL_INTERVAL`] ago; the next may go at this time.
    NotBefore(DateTime<Utc>),
    /// Another node recorded a mail first.
    Lost,
    /// A mail is recorded and its fingerprints marked: send it (or [`cancel_mail`] it).
    Claimed(ClaimedMail),
}

#[derive(Debug)]
pub struct ClaimedMail {
    pub id: ErrorMailId,
    /// The fingerprints it reports, first seen earliest first.
    pub groups: Vec<ErrorGroup>,
    pub recipients: Vec<String>,
}

/// Claims the mail about unreported fingerprints if one may go at `at`, in one write: the
/// mail is recorded and its fingerprints marked together, or neither.
///
/// A read comes first: with nothing to report (the usual case, and every start) no write
/// transaction is opened, so the check never takes a place in SQLite's write queue from a till.
pub async fn claim_mail(db: &Db, at: DateTime<Utc>) -> Result<MailCheck, StoreError> {
    {
        let mut conn = db.read_conn().await?;
        if store::unmailed(&mut conn, 1).await?.is_empty() {
            return Ok(MailCheck::NothingNew);
        }
    }
    let mut tx = db.begin_write().await?;
    let last = store::last_mail(&mut tx).await?;
    if let Some(last) = &last {
        let sent = time::from_db(&last.sent_at).map_err(|e| StoreError::Corrupt {
            what: "error_mails.sent_at",
            detail: e.to_string(),
        })?;
        let next = sent + MAIL_INTERVAL;
        if at < next {
            return Ok(MailCheck::NotBefore(next));
        }
    }
    let groups = store::unmailed(&mut tx, MAILED_AT_MOST).await?;
    if groups.is_empty() {
        return Ok(MailCheck::NothingNew);
    }
    let recipients = ringup_store::users::active_admin_emails(&mut tx).await?;
    if recipients.is_empty() {
        return Ok(MailCheck::NoRecipients);
    }
    let id = ErrorMailId::new();
    let fingerprints: Vec<String> = groups.iter().map(|g| g.fingerprint.clone()).collect();
    let mail = NewMail {
        id,
        previous_id: last.as_ref().map_or("", |l| l.id.as_str()),
        at,
        fingerprints: &fingerprints,
        recipients: i64::try_from(recipients.len()).unwrap_or(i64::MAX),
    };
    if !store::record_mail(&mut tx, &mail).await? {
        return Ok(MailCheck::Lost);
    }
    tx.commit().await?;
    Ok(MailCheck::Claimed(ClaimedMail {
        id,
        groups,
        recipients,
    }))
}

/// Undoes a claimed mail that reached nobody.
pub async fn cancel_mail(db: &Db, id: ErrorMailId, at: DateTime<Utc>) -> Result<(), StoreError> {
    let mut tx = db.begin_write().await?;
    store::cancel_mail(&mut tx, id, at).await?;
    tx.commit().await
}
