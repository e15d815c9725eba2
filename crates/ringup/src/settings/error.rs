//! An invalid setting, reported in one line naming its environment variable and its flag; and
//! the whole-number-in-a-range check most settings share.

use std::fmt;

/// One invalid setting: which one and why.
#[derive(Debug, PartialEq, Eq)]
pub struct SettingError {
    pub variable: &'static str,
    pub flag: &'static str,
    pub message: String,
}

impl fmt::Display for SettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid setting {} (--{}): {}",
            self.variable, self.flag, self.message
        )
    }
}

impl std::error::Error for SettingError {}

pub(super) fn invalid(
    variable: &'static str,
    flag: &'static str,
    message: impl Into<String>,
) -> SettingError {
    SettingError {
        variable,
        flag,
        message: message.into(),
    }
}

pub(super) fn parse_in_range<T>(
    text: &str,
    range: std::ops::RangeInclusive<T>,
    variable: &'static str,
    flag: &'static str,
) -> Result<T, SettingError>
where
    T: std::str::FromStr + PartialOrd + fmt::Display,
{
    match text.trim().parse::<T>() {
        Ok(value) if range.contains(&value) => Ok(value),
        _ => Err(invalid(
            variable,
            flag,
            format!(
                "`{text}` is not a whole number from {} to {}",
                range.start(),
                range.end()
            ),
        )),
    }
}
