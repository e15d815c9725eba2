//! Stock-keeping units. Invariant: a `Sku` is 1–64 characters, each an ASCII letter, digit, `-`,
//! `_`, `.` or `/`; the case given is kept for display, and `normalized()` (upper case) decides
//! uniqueness.

/// Why a string is not a SKU.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SkuError {
    #[error(
        "must be between {min} and {max} characters long, got {len}",
        min = Sku::MIN_CHARS,
        max = Sku::MAX_CHARS
    )]
    Length { len: usize },
    #[error("may contain only letters, digits, '-', '_', '.' and '/' (no spaces)")]
    Characters,
}

/// A merchant's own product code as typed.
///
/// `==` compares the spelling; two SKUs name the same product when their `normalized()` forms
/// are equal, which is what the unique index must be on.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sku(String);

impl Sku {
    pub const MIN_CHARS: usize = 1;
    pub const MAX_CHARS: usize = 64;

    /// No trimming: surrounding spaces are an error the client should see, not silently a
    /// different SKU.
    pub fn parse(s: &str) -> Result<Sku, SkuError> {
        let len = s.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&len) {
            return Err(SkuError::Length { len });
        }
        if !s.chars().all(is_sku_char) {
            return Err(SkuError::Characters);
        }
        Ok(Sku(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form compared for uniqueness and for `?q=` prefix search.
    pub fn normalized(&self) -> String {
        self.0.to_ascii_uppercase()
    }
}

fn is_sku_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/')
}

text_newtype_conversions!(Sku, SkuError);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn length_boundaries() {
        assert_eq!(Sku::parse(""), Err(SkuError::Length { len: 0 }));
        assert_eq!(Sku::parse("A").unwrap().as_str(), "A");
        let max = "x".repeat(64);
        assert_eq!(Sku::parse(&max).unwrap().as_str(), max);
        assert_eq!(
            Sku::parse(&"x".repeat(65)),
            Err(SkuError::Length { len: 65 })
        );
        assert_eq!(
            SkuError::Length { len: 65 }.to_string(),
            "must be between 1 and 64 characters long, got 65"
        );
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        // 33 two-byte characters: 66 bytes but 33 characters, so the complaint is the
        // characters, not the length.
        assert_eq!(Sku::parse(&"é".repeat(33)), Err(SkuError::Characters));
        assert_eq!(
            Sku::parse(&"é".repeat(65)),
            Err(SkuError::Length { len: 65 })
        );
    }

    #[test]
    fn allowed_characters() {
        for good in [
            "ABC-123",
            "abc_123",
            "milk.1l",
            "TSHIRT/RED/XL",
            "0",
            "-",
            "a-b_c.d/E9",
        ] {
            assert_eq!(Sku::parse(good).unwrap().as_str(), good, "{good:?}");
        }
    }

    #[test]
    fn rejected_characters_and_whitespace() {
        for bad in [
            " ABC", "ABC ", "AB C", "\tABC", "ABC\n", "ABC+1", "ABC#1", "ABC,1", "ABC\\1", "ÄBC",
            "ABC\u{0}",
        ] {
            assert_eq!(Sku::parse(bad), Err(SkuError::Characters), "{bad:?}");
        }
        assert_eq!(
            SkuError::Characters.to_string(),
            "may contain only letters, digits, '-', '_', '.' and '/' (no spaces)"
        );
    }

    #[test]
    fn case_is_kept_and_normalized_is_upper() {
        let sku = Sku::parse("Milk-1L").unwrap();
        assert_eq!(sku.as_str(), "Milk-1L");
        assert_eq!(sku.to_string(), "Milk-1L");
        assert_eq!(sku.normalized(), "MILK-1L");
        let other = Sku::parse("milk-1l").unwrap();
        assert_ne!(sku, other);
        assert_eq!(sku.normalized(), other.normalized());
    }

    #[test]
    fn serde_round_trip_and_failures() {
        let sku = Sku::parse("TSHIRT/RED/XL").unwrap();
        let json = serde_json::to_string(&sku).unwrap();
        assert_eq!(json, "\"TSHIRT/RED/XL\"");
        assert_eq!(serde_json::from_str::<Sku>(&json).unwrap(), sku);

        let err = serde_json::from_str::<Sku>("\" ABC\"").unwrap_err();
        assert!(
            err.to_string().contains("may contain only letters"),
            "{err}"
        );
        let err = serde_json::from_str::<Sku>("\"\"").unwrap_err();
        assert!(
            err.to_string()
                .contains("must be between 1 and 64 characters long, got 0"),
            "{err}"
        );
        assert!(serde_json::from_str::<Sku>("123").is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in any::<String>()) {
            if let Ok(sku) = Sku::parse(&s) {
                prop_assert_eq!(sku.as_str(), s.as_str());
                prop_assert!((1..=64).contains(&s.len()));
            }
        }

        #[test]
        fn well_formed_skus_are_accepted(s in "[A-Za-z0-9._/-]{1,64}") {
            let sku = Sku::parse(&s).unwrap();
            prop_assert_eq!(sku.normalized(), s.to_ascii_uppercase());
        }
    }
}
