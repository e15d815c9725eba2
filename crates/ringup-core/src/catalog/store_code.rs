//! Store codes. Invariant: a `StoreCode` is 2–8 characters, each an upper-case ASCII letter or
//! a digit. Lower case is refused rather than folded, so a code has exactly one spelling and the
//! unique index needs no normalising.

/// Why a string is not a store code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreCodeError {
    #[error(
        "must be between {min} and {max} characters long, got {len}",
        min = StoreCode::MIN_CHARS,
        max = StoreCode::MAX_CHARS
    )]
    Length { len: usize },
    #[error("may contain only upper-case letters A-Z and digits 0-9")]
    Characters,
}

/// A short code for a store, such as `NBO1`, printed on receipts and used in reports.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct StoreCode(String);

impl StoreCode {
    pub const MIN_CHARS: usize = 2;
    pub const MAX_CHARS: usize = 8;

    pub fn parse(s: &str) -> Result<StoreCode, StoreCodeError> {
        let len = s.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&len) {
            return Err(StoreCodeError::Length { len });
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            return Err(StoreCodeError::Characters);
        }
        Ok(StoreCode(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

text_newtype_conversions!(StoreCode, StoreCodeError);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn length_boundaries() {
        assert_eq!(StoreCode::parse(""), Err(StoreCodeError::Length { len: 0 }));
        assert_eq!(
            StoreCode::parse("A"),
            Err(StoreCodeError::Length { len: 1 })
        );
        assert_eq!(StoreCode::parse("AB").unwrap().as_str(), "AB");
        assert_eq!(StoreCode::parse("ABCD1234").unwrap().as_str(), "ABCD1234");
        assert_eq!(
            StoreCode::parse("ABCD12345"),
            Err(StoreCodeError::Length { len: 9 })
        );
        assert_eq!(
            StoreCodeError::Length { len: 9 }.to_string(),
            "must be between 2 and 8 characters long, got 9"
        );
    }

    #[test]
    fn only_upper_case_letters_and_digits() {
        for good in ["NBO1", "01", "MSA", "Z9Z9Z9Z9"] {
            assert_eq!(StoreCode::parse(good).unwrap().to_string(), good);
        }
        for bad in [
            "nbo1", "Nbo1", "NB-1", "NB 1", " NB1", "NB1 ", "NB_1", "ÉT", "NB.1",
        ] {
            assert_eq!(
                StoreCode::parse(bad),
                Err(StoreCodeError::Characters),
                "{bad:?}"
            );
        }
        assert_eq!(
            StoreCodeError::Characters.to_string(),
            "may contain only upper-case letters A-Z and digits 0-9"
        );
    }

    #[test]
    fn serde_round_trip_and_failures() {
        let code = StoreCode::parse("NBO1").unwrap();
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(json, "\"NBO1\"");
        assert_eq!(serde_json::from_str::<StoreCode>(&json).unwrap(), code);

        let err = serde_json::from_str::<StoreCode>("\"nbo1\"").unwrap_err();
        assert!(err.to_string().contains("upper-case letters"), "{err}");
        let err = serde_json::from_str::<StoreCode>("\"X\"").unwrap_err();
        assert!(
            err.to_string().contains("between 2 and 8 characters"),
            "{err}"
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in any::<String>()) {
            if let Ok(code) = StoreCode::parse(&s) {
                prop_assert_eq!(code.as_str(), s.as_str());
            }
        }

        #[test]
        fn well_formed_codes_are_accepted(s in "[A-Z0-9]{2,8}") {
            let code = StoreCode::parse(&s).unwrap();
            prop_assert_eq!(code.as_str(), s.as_str());
        }
    }
}
