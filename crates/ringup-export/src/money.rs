//! Money as text: minor units shown in major units, exactly, with integer arithmetic only.
//!
//! Guarantee: for every `i64` (including `i64::MIN`) and every `decimals`, removing the dot
//! from [`major_units`] and parsing the rest as an integer gives the input back, and the
//! fraction has exactly `decimals` digits. No float ever touches an amount shown as text.

/// Money in major units with the currency's decimals and a dot: `123450` (2) is `"1234.50"`,
/// `-5` (2) is `"-0.05"`, `7` (0) is `"7"`, `1234` (3) is `"1.234"`. No thousands separators,
/// so the text parses back as a number in any program.
///
/// The text is `decimals + 21` bytes at most; callers keep `decimals` to a currency's
/// (renderers refuse more than [`crate::MAX_DECIMALS`]).
pub fn major_units(minor: i64, decimals: u32) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    // `unsigned_abs` is total: i64::MIN becomes 9223372036854775808 without overflow.
    let digits = minor.unsigned_abs().to_string();
    let Ok(decimals) = usize::try_from(decimals) else {
        // Only on a target whose usize is narrower than u32, for absurd decimals.
        return format!("{sign}{digits}");
    };
    if decimals == 0 {
        return format!("{sign}{digits}");
    }
    // At least one digit before the point: 5 with 2 decimals is "0.05".
    let width = decimals.saturating_add(1);
    let padded = format!("{digits:0>width$}");
    let point = padded.len().saturating_sub(decimals);
    match padded.split_at_checked(point) {
        Some((whole, fraction)) => format!("{sign}{whole}.{fraction}"),
        // Unreachable: `padded` has more than `decimals` ASCII digits.
        None => format!("{sign}{padded}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn examples() {
        assert_eq!(major_units(123_450, 2), "1234.50");
        assert_eq!(major_units(-5, 2), "-0.05");
        assert_eq!(major_units(7, 0), "7");
        assert_eq!(major_units(1234, 3), "1.234");
        assert_eq!(major_units(0, 2), "0.00");
        assert_eq!(major_units(0, 0), "0");
        assert_eq!(major_units(-100, 2), "-1.00");
        assert_eq!(major_units(99, 2), "0.99");
        assert_eq!(major_units(100, 2), "1.00");
        assert_eq!(major_units(-7, 0), "-7");
    }

    #[test]
    fn extremes() {
        assert_eq!(major_units(i64::MIN, 2), "-92233720368547758.08");
        assert_eq!(major_units(i64::MAX, 2), "92233720368547758.07");
        assert_eq!(major_units(i64::MIN, 0), "-9223372036854775808");
        assert_eq!(major_units(i64::MIN, 19), "-0.9223372036854775808");
        assert_eq!(major_units(1, 25), "0.0000000000000000000000001");
    }

    /// The text without its dot, as an integer.
    fn parse_back(text: &str) -> i128 {
        text.replace('.', "").parse::<i128>().unwrap()
    }

    proptest! {
        #[test]
        fn the_text_parses_back_to_the_amount(minor in any::<i64>(), decimals in 0u32..=30) {
            let text = major_units(minor, decimals);
            prop_assert_eq!(parse_back(&text), i128::from(minor));
            match text.split_once('.') {
                Some((whole, fraction)) => {
                    prop_assert!(decimals > 0);
                    prop_assert_eq!(fraction.len(), decimals as usize);
                    prop_assert!(!whole.trim_start_matches('-').is_empty());
                }
                None => prop_assert_eq!(decimals, 0),
            }
            prop_assert_eq!(text.starts_with('-'), minor < 0);
        }
    }
}
