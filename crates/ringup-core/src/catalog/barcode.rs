//! GS1 barcodes. Invariant: a `Barcode` is 8, 12, 13 or 14 ASCII digits whose last digit is the
//! GS1 mod-10 check digit of the digits before it, kept exactly as given (no padding, no
//! trimming), so one barcode has one spelling in storage, JSON and `?barcode=` look-ups.

/// Why a string is not a barcode.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BarcodeError {
    /// Anything but `0`–`9`: spaces, signs, letters, non-ASCII digits.
    #[error("must contain only the digits 0-9 (no spaces, signs or other characters)")]
    NotDigits,
    #[error(
        "must be 8, 12, 13 or 14 digits long (EAN-8, UPC-A, EAN-13 or GTIN-14), got {len} digits"
    )]
    Length { len: usize },
    #[error("has the wrong check digit: the last digit must be {expected}, not {actual}")]
    CheckDigit { expected: u8, actual: u8 },
}

/// Which GS1 format a barcode is, told by its length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BarcodeKind {
    /// 8 digits.
    Ean8,
    /// 12 digits (North American retail).
    UpcA,
    /// 13 digits.
    Ean13,
    /// 14 digits (trade units such as cases).
    Gtin14,
}

impl BarcodeKind {
    fn from_len(len: usize) -> Option<BarcodeKind> {
        match len {
            8 => Some(BarcodeKind::Ean8),
            12 => Some(BarcodeKind::UpcA),
            13 => Some(BarcodeKind::Ean13),
            14 => Some(BarcodeKind::Gtin14),
            _ => None,
        }
    }

    /// The number of digits, check digit included.
    pub fn digits(self) -> usize {
        match self {
            BarcodeKind::Ean8 => 8,
            BarcodeKind::UpcA => 12,
            BarcodeKind::Ean13 => 13,
            BarcodeKind::Gtin14 => 14,
        }
    }

    /// The name people use for the format, as in "EAN-13".
    pub fn name(self) -> &'static str {
        match self {
            BarcodeKind::Ean8 => "EAN-8",
            BarcodeKind::UpcA => "UPC-A",
            BarcodeKind::Ean13 => "EAN-13",
            BarcodeKind::Gtin14 => "GTIN-14",
        }
    }
}

impl std::fmt::Display for BarcodeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The GS1 mod-10 check digit of `body`, the digit values (0–9, most significant first) that
/// precede the check digit. Weights alternate 3, 1, 3, … starting from the digit next to the
/// check digit, which is why one function serves every length: a UPC-A and the same code
/// zero-padded to EAN-13 get the same check digit.
///
/// The caller guarantees each element is 0–9; larger values give a meaningless digit, never a
/// panic.
pub fn gs1_check_digit(body: &[u8]) -> u8 {
    let sum = body
        .iter()
        .rev()
        .zip([3u32, 1].into_iter().cycle())
        .fold(0u32, |sum, (&digit, weight)| {
            (sum + u32::from(digit) * weight) % 10
        });
    // `sum` is below 10, so the result is a single digit.
    u8::try_from((10 - sum) % 10).unwrap_or(0)
}

/// A product barcode (GTIN) exactly as printed under the bars.
///
/// `==` compares the digits as given: the UPC-A `036000291452` and the EAN-13 `0036000291452`
/// name the same trade item but are different `Barcode`s, because the API promises to return
/// what was sent.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Barcode(String);

impl Barcode {
    /// No trimming: a barcode with a space is an error the client should see.
    pub fn parse(s: &str) -> Result<Barcode, BarcodeError> {
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(BarcodeError::NotDigits);
        }
        // All ASCII, so bytes are characters.
        let len = s.len();
        if BarcodeKind::from_len(len).is_none() {
            return Err(BarcodeError::Length { len });
        }
        let digits: Vec<u8> = s.bytes().map(|b| b - b'0').collect();
        let Some((&actual, body)) = digits.split_last() else {
            return Err(BarcodeError::Length { len });
        };
        let expected = gs1_check_digit(body);
        if actual != expected {
            return Err(BarcodeError::CheckDigit { expected, actual });
        }
        Ok(Barcode(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn kind(&self) -> BarcodeKind {
        // Every constructed barcode has one of the four lengths; EAN-13 is only the fallback
        // the type system asks for.
        BarcodeKind::from_len(self.0.len()).unwrap_or(BarcodeKind::Ean13)
    }
}

text_newtype_conversions!(Barcode, BarcodeError);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Real codes from packaging and the GS1 documentation, one per format.
    const EAN13: &str = "4006381333931";
    const UPCA: &str = "036000291452";
    const EAN8: &str = "96385074";
    const GTIN14: &str = "10012345678902";

    fn digits(s: &str) -> Vec<u8> {
        s.bytes().map(|b| b - b'0').collect()
    }

    #[test]
    fn real_barcodes_are_valid_and_kept_as_given() {
        for (code, kind) in [
            (EAN13, BarcodeKind::Ean13),
            (UPCA, BarcodeKind::UpcA),
            (EAN8, BarcodeKind::Ean8),
            (GTIN14, BarcodeKind::Gtin14),
        ] {
            let barcode = Barcode::parse(code).unwrap();
            assert_eq!(barcode.as_str(), code);
            assert_eq!(barcode.to_string(), code);
            assert_eq!(barcode.kind(), kind);
            assert_eq!(kind.digits(), code.len());
        }
    }

    #[test]
    fn upc_a_stays_twelve_digits() {
        let upc = Barcode::parse(UPCA).unwrap();
        assert_eq!(upc.as_str().len(), 12);
        // The same item zero-padded is a valid EAN-13, but a different spelling.
        let padded = Barcode::parse("0036000291452").unwrap();
        assert_eq!(padded.kind(), BarcodeKind::Ean13);
        assert_ne!(upc, padded);
    }

    #[test]
    fn wrong_check_digit_says_which_digit_was_expected() {
        assert_eq!(
            Barcode::parse("4006381333932"),
            Err(BarcodeError::CheckDigit {
                expected: 1,
                actual: 2
            })
        );
        assert_eq!(
            Barcode::parse("4006381333932").unwrap_err().to_string(),
            "has the wrong check digit: the last digit must be 1, not 2"
        );
        assert_eq!(
            Barcode::parse("036000291453"),
            Err(BarcodeError::CheckDigit {
                expected: 2,
                actual: 3
            })
        );
        assert!(Barcode::parse("96385075").is_err());
        assert!(Barcode::parse("10012345678901").is_err());
    }

    #[test]
    fn check_digit_of_real_bodies() {
        assert_eq!(gs1_check_digit(&digits("400638133393")), 1);
        assert_eq!(gs1_check_digit(&digits("03600029145")), 2);
        assert_eq!(gs1_check_digit(&digits("9638507")), 4);
        assert_eq!(gs1_check_digit(&digits("1001234567890")), 2);
        // A sum that is already a multiple of ten gives 0, not 10.
        assert_eq!(gs1_check_digit(&digits("0000000")), 0);
        assert_eq!(gs1_check_digit(&[]), 0);
    }

    #[test]
    fn check_digit_ignores_leading_zeros() {
        let upc_body = digits("03600029145");
        let mut padded = vec![0];
        padded.extend(&upc_body);
        assert_eq!(gs1_check_digit(&upc_body), gs1_check_digit(&padded));
    }

    #[test]
    fn check_digit_never_panics_on_out_of_range_values() {
        let digit = gs1_check_digit(&[255; 1000]);
        assert!(digit <= 9);
    }

    #[test]
    fn length_boundaries() {
        for len in [0usize, 1, 7, 9, 10, 11, 15, 16, 40] {
            let code = "0".repeat(len);
            assert_eq!(
                Barcode::parse(&code),
                Err(BarcodeError::Length { len }),
                "{len}"
            );
        }
        // All zeros has check digit 0, so every accepted length is valid.
        for len in [8usize, 12, 13, 14] {
            assert!(Barcode::parse(&"0".repeat(len)).is_ok(), "{len}");
        }
        assert_eq!(
            Barcode::parse("123").unwrap_err().to_string(),
            "must be 8, 12, 13 or 14 digits long (EAN-8, UPC-A, EAN-13 or GTIN-14), got 3 digits"
        );
    }

    #[test]
    fn rejects_anything_but_ascii_digits() {
        for bad in [
            " 4006381333931",
            "4006381333931 ",
            "4006381 333931",
            "\t96385074",
            "96385074\n",
            "+96385074",
            "-96385074",
            "9638507A",
            "9638-5074",
            "96385.074",
            "٩٦٣٨٥٠٧٤",         // Arabic-Indic digits
            "９６３８５０７４", // full-width digits
        ] {
            assert_eq!(Barcode::parse(bad), Err(BarcodeError::NotDigits), "{bad:?}");
        }
        assert_eq!(
            BarcodeError::NotDigits.to_string(),
            "must contain only the digits 0-9 (no spaces, signs or other characters)"
        );
    }

    #[test]
    fn kind_names() {
        assert_eq!(BarcodeKind::Ean8.to_string(), "EAN-8");
        assert_eq!(BarcodeKind::UpcA.name(), "UPC-A");
        assert_eq!(BarcodeKind::Ean13.name(), "EAN-13");
        assert_eq!(BarcodeKind::Gtin14.name(), "GTIN-14");
    }

    #[test]
    fn conversions() {
        let barcode: Barcode = EAN13.parse().unwrap();
        assert_eq!(Barcode::try_from(EAN13).unwrap(), barcode);
        assert_eq!(Barcode::try_from(EAN13.to_owned()).unwrap(), barcode);
        assert_eq!(String::from(barcode.clone()), EAN13);
        assert_eq!(barcode.as_ref(), EAN13);
    }

    #[test]
    fn serde_is_the_plain_string() {
        let barcode = Barcode::parse(UPCA).unwrap();
        let json = serde_json::to_string(&barcode).unwrap();
        assert_eq!(json, format!("\"{UPCA}\""));
        assert_eq!(serde_json::from_str::<Barcode>(&json).unwrap(), barcode);
    }

    #[test]
    fn serde_rejects_bad_barcodes_with_the_message() {
        let err = serde_json::from_str::<Barcode>("\"4006381333932\"").unwrap_err();
        assert!(
            err.to_string().contains("the last digit must be 1, not 2"),
            "{err}"
        );
        let err = serde_json::from_str::<Barcode>("\"12345\"").unwrap_err();
        assert!(err.to_string().contains("must be 8, 12, 13 or 14"), "{err}");
        // A JSON number is not a barcode: leading zeros would be lost.
        let err = serde_json::from_str::<Barcode>("96385074").unwrap_err();
        assert!(err.to_string().contains("invalid type"), "{err}");
    }

    fn body_strategy() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![Just(7usize), Just(11), Just(12), Just(13)]
            .prop_flat_map(|len| proptest::collection::vec(0u8..=9, len))
    }

    fn to_text(digits: &[u8]) -> String {
        digits.iter().map(|d| char::from(b'0' + d)).collect()
    }

    fn valid_code() -> impl Strategy<Value = String> {
        body_strategy().prop_map(|mut body| {
            body.push(gs1_check_digit(&body));
            to_text(&body)
        })
    }

    proptest! {
        #[test]
        fn computed_check_digit_is_the_only_valid_last_digit(
            body in body_strategy(),
            last in 0u8..=9,
        ) {
            let check = gs1_check_digit(&body);
            prop_assert!(check <= 9);
            let mut code = body.clone();
            code.push(last);
            let text = to_text(&code);
            let parsed = Barcode::parse(&text);
            if last == check {
                let barcode = parsed.unwrap();
                prop_assert_eq!(barcode.as_str(), text.as_str());
                prop_assert_eq!(barcode.kind().digits(), body.len() + 1);
            } else {
                prop_assert_eq!(
                    parsed,
                    Err(BarcodeError::CheckDigit { expected: check, actual: last })
                );
            }
        }

        #[test]
        fn any_single_digit_change_is_detected(
            code in valid_code(),
            position in any::<prop::sample::Index>(),
            shift in 1u8..=9,
        ) {
            let mut bytes = code.clone().into_bytes();
            let at = position.index(bytes.len());
            let old = bytes[at] - b'0';
            bytes[at] = b'0' + (old + shift) % 10;
            let changed = String::from_utf8(bytes).unwrap();
            prop_assert_ne!(&changed, &code);
            prop_assert!(
                matches!(Barcode::parse(&changed), Err(BarcodeError::CheckDigit { .. })),
                "{} accepted after changing {}", changed, code
            );
        }

        #[test]
        fn parse_never_panics(s in any::<String>()) {
            if let Ok(barcode) = Barcode::parse(&s) {
                prop_assert_eq!(barcode.as_str(), s.as_str());
            }
        }

        #[test]
        fn accepted_digit_strings_keep_every_invariant(s in "[0-9]{0,16}") {
            if let Ok(barcode) = Barcode::parse(&s) {
                prop_assert!([8, 12, 13, 14].contains(&s.len()));
                let all = digits(&s);
                let (last, body) = all.split_last().unwrap();
                prop_assert_eq!(*last, gs1_check_digit(body));
                prop_assert_eq!(barcode.kind().digits(), s.len());
            }
        }

        #[test]
        fn valid_codes_round_trip_through_json(code in valid_code()) {
            let barcode = Barcode::parse(&code).unwrap();
            let json = serde_json::to_string(&barcode).unwrap();
            prop_assert_eq!(serde_json::from_str::<Barcode>(&json).unwrap(), barcode);
        }
    }
}
