//! Currency codes. Invariant: a `CurrencyCode` is exactly three upper-case ASCII letters, the
//! shape of an ISO 4217 alphabetic code. Whether the code is in the current ISO list is not
//! checked (the list changes, and a merchant's currency must not stop parsing when it does);
//! `minor_units()` knows the well-known codes and says 2 for every other.

/// Why a string is not a currency code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CurrencyError {
    #[error("must be a three-letter upper-case ISO 4217 currency code such as KES or USD")]
    Malformed,
}

/// Minor units of well-known currencies, from ISO 4217. The two-digit entries are listed for
/// the reader (they match the default); what matters are the 0-, 3- and 4-digit ones.
const MINOR_UNITS: &[(&str, u32)] = &[
    // East Africa, where ringup is sold first.
    ("KES", 2),
    ("TZS", 2),
    ("UGX", 0),
    ("RWF", 0),
    ("BIF", 0),
    ("ETB", 2),
    ("SOS", 2),
    ("DJF", 0),
    ("KMF", 0),
    // Widely used elsewhere.
    ("USD", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("ZAR", 2),
    ("NGN", 2),
    ("GHS", 2),
    ("XOF", 0),
    ("XAF", 0),
    ("XPF", 0),
    ("GNF", 0),
    ("INR", 2),
    ("CNY", 2),
    ("JPY", 0),
    ("KRW", 0),
    ("VND", 0),
    ("ISK", 0),
    ("CLP", 0),
    ("PYG", 0),
    ("VUV", 0),
    ("UYI", 0),
    // Three decimals.
    ("BHD", 3),
    ("IQD", 3),
    ("JOD", 3),
    ("KWD", 3),
    ("LYD", 3),
    ("OMR", 3),
    ("TND", 3),
    // Units of account with four decimals.
    ("CLF", 4),
    ("UYW", 4),
];

/// An ISO 4217-shaped currency code such as `KES`.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct CurrencyCode(String);

impl CurrencyCode {
    /// Minor units assumed for a well-formed code that is not in the table.
    pub const DEFAULT_MINOR_UNITS: u32 = 2;

    /// No case folding: `kes` is refused so a code has one spelling everywhere.
    pub fn parse(s: &str) -> Result<CurrencyCode, CurrencyError> {
        if s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(CurrencyCode(s.to_owned()))
        } else {
            Err(CurrencyError::Malformed)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// How many decimal digits the currency's minor unit has (KES 2: 1 shilling = 100 cents;
    /// UGX 0; BHD 3), i.e. the exponent that turns a `Money` amount into major units.
    ///
    /// From a table of well-known codes; any other well-formed code, recognised by ISO or not,
    /// gets `DEFAULT_MINOR_UNITS` (2), which is right for most of the world's currencies.
    pub fn minor_units(&self) -> u32 {
        MINOR_UNITS
            .iter()
            .find(|(code, _)| *code == self.0)
            .map_or(Self::DEFAULT_MINOR_UNITS, |&(_, units)| units)
    }
}

text_newtype_conversions!(CurrencyCode, CurrencyError);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_three_upper_case_letters() {
        for good in ["KES", "USD", "EUR", "XXX", "ABC"] {
            let code = CurrencyCode::parse(good).unwrap();
            assert_eq!(code.as_str(), good);
            assert_eq!(code.to_string(), good);
        }
    }

    #[test]
    fn rejects_other_shapes() {
        for bad in [
            "", "K", "KE", "KESS", "kes", "Kes", "KE1", "K-S", " KES", "KES ", "123", "ÄBC",
        ] {
            assert_eq!(
                CurrencyCode::parse(bad),
                Err(CurrencyError::Malformed),
                "{bad:?}"
            );
        }
        assert_eq!(
            CurrencyError::Malformed.to_string(),
            "must be a three-letter upper-case ISO 4217 currency code such as KES or USD"
        );
    }

    #[test]
    fn minor_units_of_well_known_codes() {
        for (code, units) in [
            ("KES", 2),
            ("USD", 2),
            ("EUR", 2),
            ("UGX", 0),
            ("TZS", 2),
            ("JPY", 0),
            ("BHD", 3),
            ("KWD", 3),
            ("CLF", 4),
        ] {
            assert_eq!(
                CurrencyCode::parse(code).unwrap().minor_units(),
                units,
                "{code}"
            );
        }
    }

    #[test]
    fn unknown_well_formed_codes_default_to_two() {
        for code in ["XYZ", "ABC", "QQQ"] {
            assert_eq!(CurrencyCode::parse(code).unwrap().minor_units(), 2);
        }
    }

    #[test]
    fn table_entries_are_well_formed_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for (code, units) in MINOR_UNITS {
            assert!(CurrencyCode::parse(code).is_ok(), "{code}");
            assert!(*units <= 4, "{code}");
            assert!(seen.insert(*code), "{code} listed twice");
        }
    }

    #[test]
    fn serde_round_trip_and_failures() {
        let code = CurrencyCode::parse("KES").unwrap();
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(json, "\"KES\"");
        assert_eq!(serde_json::from_str::<CurrencyCode>(&json).unwrap(), code);

        let err = serde_json::from_str::<CurrencyCode>("\"kes\"").unwrap_err();
        assert!(
            err.to_string().contains("three-letter upper-case ISO 4217"),
            "{err}"
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in any::<String>()) {
            if let Ok(code) = CurrencyCode::parse(&s) {
                prop_assert_eq!(code.as_str(), s.as_str());
                prop_assert!(code.minor_units() <= 4);
            }
        }
    }
}
