//! What the business operations report on `/metrics`: sales, voids and returns per store, login
//! failures, rate-limit refusals, mail, and how long each operation takes.
//!
//! Invariants:
//! - An event is counted only once it is committed: the use case counts after
//!   [`crate::write::Write::finish`] returned, so a refused, rolled-back or replayed write
//!   counts nothing, and a write run again after a transient failure counts once.
//! - Every label value comes from a closed set: a store's code (bounded by the stores an
//!   operator creates, never an id), an [`Operation`] name written in the source, a
//!   [`RateLimit`] kind, an outcome. No id, username, address or path becomes a label, so the
//!   number of series does not grow with traffic.
//! - Amounts are minor units of the store's own currency; a store has one currency, so a
//!   per-store sum is meaningful, a sum over stores only when they share it.
//!
//! Counters are process-local (a restart starts them at zero; Prometheus' `rate` and
//! `increase` handle that). What describes the database rather than events (open shifts, low
//! stock, the outbox) is read from the database when scraped, in `ringup-api`'s `ops`.

use std::time::Duration;

/// Sales rung up, per store (`store` = the store's code).
pub const SALES: &str = "ringup_sales_total";
/// Their totals, minor units, per store.
pub const SALES_AMOUNT: &str = "ringup_sales_amount_total";
/// Sales voided, per store.
pub const VOIDS: &str = "ringup_voids_total";
/// The totals of the voided sales, minor units, per store.
pub const VOIDS_AMOUNT: &str = "ringup_voids_amount_total";
/// Returns taken, per store.
pub const RETURNS: &str = "ringup_returns_total";
/// What the returns refunded, minor units, per store.
pub const RETURNS_AMOUNT: &str = "ringup_returns_amount_total";
/// Logins refused for wrong credentials (wrong password, unknown or deactivated user alike).
pub const LOGIN_FAILURES: &str = "ringup_login_failures_total";
/// Requests refused with 429, by `limit`.
pub const RATE_LIMITED: &str = "ringup_rate_limited_total";
/// Mail handed to the transport, by `result` (`sent`, `failed`).
pub const MAIL: &str = "ringup_mail_deliveries_total";
/// Time of a business operation, by `operation` and `outcome`.
pub const OPERATION_SECONDS: &str = "ringup_db_operation_seconds";
/// Writes run again after a transient failure, by `operation`.
pub const WRITE_RETRIES: &str = "ringup_write_retries_total";
/// Webhook delivery attempts, by result (`succeeded`, `failed`, `dead`).
pub const WEBHOOK_DELIVERIES: &str = "ringup_webhook_deliveries_total";
/// Time from sending a webhook attempt to its answer (or to giving up on one).
pub const WEBHOOK_SECONDS: &str = "ringup_webhook_delivery_seconds";

/// A business operation's name as a label: `<resource>.<verb>`, a literal in the source, so
/// the set of names is the set of operations.
pub type Operation = &'static str;

/// The limits that refuse a request with 429.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateLimit {
    /// Login requests per client address.
    LoginPerIp,
    /// A username locked after too many failed logins.
    LoginLockout,
    /// Password-reset requests per client address.
    ResetPerIp,
    /// Password-reset requests per e-mail address.
    ResetPerAddress,
    /// An API key over its tier's quota.
    ApiKey,
    /// More password checks waiting than the hashing pool takes.
    PasswordHashing,
}

impl RateLimit {
    pub const ALL: [RateLimit; 6] = [
        RateLimit::LoginPerIp,
        RateLimit::LoginLockout,
        RateLimit::ResetPerIp,
        RateLimit::ResetPerAddress,
        RateLimit::ApiKey,
        RateLimit::PasswordHashing,
    ];

    /// The `limit` label.
    pub fn as_str(self) -> &'static str {
        match self {
            RateLimit::LoginPerIp => "login_per_ip",
            RateLimit::LoginLockout => "login_lockout",
            RateLimit::ResetPerIp => "password_reset_per_ip",
            RateLimit::ResetPerAddress => "password_reset_per_address",
            RateLimit::ApiKey => "api_key",
            RateLimit::PasswordHashing => "password_hashing",
        }
    }
}

/// A committed sale of `store` (its code) for `total` minor units.
pub fn sale_recorded(store: &str, total: i64) {
    per_store(SALES, SALES_AMOUNT, store, total);
}

/// A committed void of a sale of `store` whose total was `total`.
pub fn sale_voided(store: &str, total: i64) {
    per_store(VOIDS, VOIDS_AMOUNT, store, total);
}

/// A committed return in `store` that refunded `refunded`.
pub fn return_taken(store: &str, refunded: i64) {
    per_store(RETURNS, RETURNS_AMOUNT, store, refunded);
}

fn per_store(count: &'static str, amount: &'static str, store: &str, value: i64) {
    let store = store.to_owned();
    metrics::counter!(count, "store" => store.clone()).increment(1);
    metrics::counter!(amount, "store" => store).increment(u64::try_from(value).unwrap_or(0));
}

/// A login refused for its credentials, once the failure was recorded.
pub fn login_failed() {
    metrics::counter!(LOGIN_FAILURES).increment(1);
}

/// A request refused by `limit`.
pub fn rate_limited(limit: RateLimit) {
    metrics::counter!(RATE_LIMITED, "limit" => limit.as_str()).increment(1);
}

/// A message handed to the mail transport: `sent` when it took it, else `failed`.
pub fn mail_delivered(sent: bool) {
    let result = if sent { "sent" } else { "failed" };
    metrics::counter!(MAIL, "result" => result).increment(1);
}

/// How an operation ended, as the `outcome` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Committed, or a replay answered.
    Ok,
    /// A rule refused it (a 4xx): nothing was written.
    Refused,
    /// The database failed it (a 5xx).
    Failed,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Refused => "refused",
            Outcome::Failed => "failed",
        }
    }
}

/// `operation` took `elapsed`, all its attempts and the pauses between them included.
pub fn operation_timed(operation: Operation, outcome: Outcome, elapsed: Duration) {
    metrics::histogram!(OPERATION_SECONDS, "operation" => operation, "outcome" => outcome.as_str())
        .record(elapsed.as_secs_f64());
}

/// `operation` runs again after a transient database failure.
pub fn write_retried(operation: Operation) {
    metrics::counter!(WRITE_RETRIES, "operation" => operation).increment(1);
}

/// A webhook attempt ended with `result` (`succeeded`, `failed`, `dead`) after `elapsed`.
pub fn webhook_delivered(result: &'static str, elapsed: Duration) {
    metrics::counter!(WEBHOOK_DELIVERIES, "result" => result).increment(1);
    metrics::histogram!(WEBHOOK_SECONDS).record(elapsed.as_secs_f64());
}

/// Describes this module's metrics to the recorder (their `# HELP` lines); the recorder calls
/// it once it is installed.
pub fn describe() {
    use metrics::{Unit, describe_counter, describe_histogram};
    describe_counter!(SALES, "Sales rung up, by store code");
    describe_counter!(
        SALES_AMOUNT,
        "Totals of the sales rung up, minor units of the store's currency, by store code"
    );
    describe_counter!(VOIDS, "Sales voided, by store code");
    describe_counter!(
        VOIDS_AMOUNT,
        "Totals of the voided sales, minor units, by store code"
    );
    describe_counter!(RETURNS, "Returns taken, by store code");
    describe_counter!(
        RETURNS_AMOUNT,
        "Amounts refunded by returns, minor units, by store code"
    );
    describe_counter!(
        LOGIN_FAILURES,
        "Logins refused for wrong credentials (after the failure was recorded)"
    );
    describe_counter!(RATE_LIMITED, "Requests refused with 429, by limit");
    describe_counter!(
        MAIL,
        "Mail handed to the transport, by result (sent, failed)"
    );
    describe_histogram!(
        OPERATION_SECONDS,
        Unit::Seconds,
        "Time of a business operation (its reads, transaction and retries), by operation and outcome"
    );
    describe_counter!(
        WEBHOOK_DELIVERIES,
        "Webhook delivery attempts, by result (succeeded, failed, dead)"
    );
    describe_histogram!(
        WEBHOOK_SECONDS,
        Unit::Seconds,
        "Time from sending a webhook attempt to its answer, or to giving up on one"
    );
    describe_counter!(
        WRITE_RETRIES,
        "Writes run again after a transient database failure, by operation"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_labels_are_distinct_snake_case() {
        let labels: Vec<_> = RateLimit::ALL.iter().map(|l| l.as_str()).collect();
        let mut unique = labels.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), labels.len(), "{labels:?}");
        assert!(
            labels
                .iter()
                .all(|l| l.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')),
            "{labels:?}"
        );
    }
}
