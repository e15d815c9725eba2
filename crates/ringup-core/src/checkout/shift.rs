//! A shift's cash drawer. CONTRACT: helper implements and tests.

/// The cash figures of a shift (voided sales already taken out).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DrawerTotals {
    pub opening_float: i64,
    pub cash_taken: i64,
    pub change_given: i64,
    pub cash_refunded: i64,
    pub paid_in: i64,
    pub paid_out: i64,
}

impl DrawerTotals {
    /// opening float + cash taken − change given − cash refunded + paid in − paid out.
    pub fn expected_cash(&self) -> Option<i64> {
        todo!("helper implements")
    }
}

/// counted − expected (positive: over, negative: short).
pub fn over_short(counted: i64, expected: i64) -> Option<i64> {
    counted.checked_sub(expected)
}
