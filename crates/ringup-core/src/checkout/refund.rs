//! Refunds due on returns. CONTRACT: helper implements and tests.

/// The refund due for returning `returning` more units of a line that sold `sold` units for
/// `line_total`, of which `already_returned` were returned before. Cumulative rounding:
/// `round(total × (already + returning) / sold) − round(total × already / sold)`, half-up —
/// for a first return this is exactly API.md's `total × returned / sold`, and any sequence of
/// partial returns of a whole line refunds exactly its total, never more.
/// `None` if `already + returning > sold`, a count is not positive, or on overflow.
pub fn refund_due(line_total: i64, sold: i64, already_returned: i64, returning: i64) -> Option<i64> {
    let _ = (line_total, sold, already_returned, returning);
    todo!("helper implements")
}
