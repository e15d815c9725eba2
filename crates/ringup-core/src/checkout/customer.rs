//! Customers' contact details.
//!
//! Invariants (a value that exists is a valid one):
//!
//! - `CustomerName`: trimmed, 1–200 characters, a name by `text::check_name` (no control
//!   character, at least one visible character).
//! - `Country`: an ISO 3166-1 alpha-2 code in upper case (`KE`) that the phone-number metadata
//!   (the `phonenumber` crate, Google's libphonenumber data) knows, so every store's country can
//!   read national phone numbers. No case folding: `ke` is refused, so a code has one spelling.
//! - `Phone`: a number that libphonenumber's metadata calls valid (not merely possible), kept in
//!   E.164 (`+254712345678`) without an extension. A national form (`0712 345 678`) is read in
//!   the store's country; a number carrying a country code must say so with a leading `+`, so
//!   `254712345678` is refused rather than guessed at. Only digits, spaces, `-`, `.`, `(` and
//!   `)` may stand beside the digits: letters (vanity numbers, `ext.`) and `tel:` URIs are
//!   refused.
//!
//! Every error's message completes a sentence whose subject is the field ("must be …"), so it
//! fits a 422 `errors[].message` as it stands.

use std::fmt;
use std::str::FromStr;

use phonenumber::country::{Id, Source};
use phonenumber::{Mode, metadata::DATABASE};

/// Why a customer field is not valid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CustomerError {
    #[error(
        "must be 1 to {max} characters after trimming",
        max = CustomerName::MAX_CHARS
    )]
    NameLength,
    #[error("{0}")]
    NameText(crate::text::TextError),
    #[error("must be an upper-case ISO 3166-1 alpha-2 country code such as KE")]
    Country,
    #[error("may contain only digits, spaces, '-', '.', '(', ')' and a leading '+'")]
    PhoneCharacters,
    #[error("must include the country code after a leading '+', such as +254712345678")]
    PhoneWithoutPlus,
    #[error("must be a valid phone number")]
    PhoneInvalid,
}

/// A customer's name as shown on receipts and searched by prefix.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CustomerName(String);

impl CustomerName {
    pub const MAX_CHARS: usize = 200;

    /// Trims surrounding whitespace; 1–200 characters must remain, making a name.
    pub fn parse(s: &str) -> Result<CustomerName, CustomerError> {
        let name = s.trim();
        let len = name.chars().count();
        if len == 0 || len > Self::MAX_CHARS {
            return Err(CustomerError::NameLength);
        }
        crate::text::check_name(name).map_err(CustomerError::NameText)?;
        Ok(CustomerName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CustomerName {
    type Error = CustomerError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        CustomerName::parse(&s)
    }
}

impl From<CustomerName> for String {
    fn from(name: CustomerName) -> String {
        name.0
    }
}

impl fmt::Display for CustomerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The country a store's national phone numbers are read in.
#[derive(Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Country(Id);

impl Country {
    /// Kenya, the default of every store (where ringup is sold first).
    pub const KENYA: Country = Country(Id::KE);

    pub fn parse(s: &str) -> Result<Country, CustomerError> {
        if s.len() != 2 || !s.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(CustomerError::Country);
        }
        let id = Id::from_str(s).map_err(|_| CustomerError::Country)?;
        // The enum lists CLDR regions; only those with numbering metadata can read a number.
        if DATABASE.by_id(id.as_ref()).is_none() {
            return Err(CustomerError::Country);
        }
        Ok(Country(id))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_ref()
    }
}

impl Default for Country {
    fn default() -> Self {
        Country::KENYA
    }
}

impl fmt::Debug for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Country({})", self.as_str())
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Country {
    type Err = CustomerError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Country::parse(s)
    }
}

impl TryFrom<String> for Country {
    type Error = CustomerError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Country::parse(&s)
    }
}

impl From<Country> for String {
    fn from(country: Country) -> String {
        country.as_str().to_owned()
    }
}

/// A valid phone number in E.164 form.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(into = "String")]
pub struct Phone(String);

impl Phone {
    /// Longer input is refused before it reaches the parser (E.164 has at most 15 digits; this
    /// leaves room for separators).
    pub const MAX_INPUT_CHARS: usize = 40;

    /// Reads `input` as a customer's number: a national form in `default_country`, or an
    /// international one with a leading `+`. See the module's invariants.
    pub fn parse(input: &str, default_country: &Country) -> Result<Phone, CustomerError> {
        let (phone, source) = Self::read(input, default_country)?;
        match source {
            Source::Plus | Source::Default => Ok(phone),
            Source::Idd | Source::Number => Err(CustomerError::PhoneWithoutPlus),
        }
    }

    /// Like [`Phone::parse`], but also takes a country code written without `+` (`254712…`)
    /// or after the country's international prefix (`000 254…`): for finding a number someone
    /// typed in any form, never for storing one.
    pub fn recognize(input: &str, default_country: &Country) -> Option<Phone> {
        Self::read(input, default_country)
            .ok()
            .map(|(phone, _)| phone)
    }

    fn read(input: &str, country: &Country) -> Result<(Phone, Source), CustomerError> {
        let text = input.trim();
        if text.chars().count() > Self::MAX_INPUT_CHARS {
            return Err(CustomerError::PhoneInvalid);
        }
        let digits = text.strip_prefix('+').unwrap_or(text);
        let allowed = |c: char| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')');
        if !digits.chars().all(allowed) {
            return Err(CustomerError::PhoneCharacters);
        }
        if !digits.chars().any(|c| c.is_ascii_digit()) {
            return Err(CustomerError::PhoneInvalid);
        }
        let number =
            phonenumber::parse(Some(country.0), text).map_err(|_| CustomerError::PhoneInvalid)?;
        if number.extension().is_some() || !number.is_valid() {
            return Err(CustomerError::PhoneInvalid);
        }
        let e164 = number.format().mode(Mode::E164).to_string();
        Ok((Phone(e164), number.code().source()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<Phone> for String {
    fn from(phone: Phone) -> String {
        phone.0
    }
}

impl AsRef<str> for Phone {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn country(code: &str) -> Country {
        Country::parse(code).unwrap_or_else(|e| unreachable!("{code}: {e}"))
    }

    fn e164(input: &str, code: &str) -> Result<String, CustomerError> {
        Phone::parse(input, &country(code)).map(String::from)
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            CustomerName::parse("  Wanjiru Kamau \n").map(String::from),
            Ok("Wanjiru Kamau".to_owned())
        );
        assert_eq!(CustomerName::parse("   "), Err(CustomerError::NameLength));
        assert_eq!(CustomerName::parse(""), Err(CustomerError::NameLength));
        assert!(CustomerName::parse(&"é".repeat(200)).is_ok());
        assert_eq!(
            CustomerName::parse(&"é".repeat(201)),
            Err(CustomerError::NameLength)
        );
        assert_eq!(
            CustomerName::parse("\u{200d}\u{feff}"),
            Err(CustomerError::NameText(crate::text::TextError::Invisible))
        );
        assert_eq!(
            CustomerName::parse("Ann\0"),
            Err(CustomerError::NameText(
                crate::text::TextError::ControlInName
            ))
        );
    }

    #[test]
    fn countries_are_upper_case_regions_with_numbering_data() {
        assert_eq!(country("KE").as_str(), "KE");
        assert_eq!(country("UG").to_string(), "UG");
        assert_eq!(Country::default(), country("KE"));
        for bad in ["ke", "Ke", "KEN", "K", "", "XX", "ZZ", "1A", "K€"] {
            assert_eq!(Country::parse(bad), Err(CustomerError::Country), "{bad:?}");
        }
    }

    #[test]
    fn countries_serialise_as_their_code() {
        let json = serde_json::to_string(&country("TZ")).unwrap_or_default();
        assert_eq!(json, "\"TZ\"");
        assert!(serde_json::from_str::<Country>("\"tz\"").is_err());
        assert_eq!(
            serde_json::from_str::<Country>("\"TZ\"").ok(),
            Some(country("TZ"))
        );
    }

    #[test]
    fn national_forms_are_read_in_the_store_country() {
        let ke = Ok("+254712345678".to_owned());
        assert_eq!(e164("0712 345 678", "KE"), ke);
        assert_eq!(e164("0712-345-678", "KE"), ke);
        assert_eq!(e164("(0712) 345.678", "KE"), ke);
        assert_eq!(e164("712345678", "KE"), ke);
        assert_eq!(e164(" 0712345678 ", "KE"), ke);
        assert_eq!(e164("0772 123 456", "UG"), Ok("+256772123456".to_owned()));
        assert_eq!(e164("0712 345 678", "TZ"), Ok("+255712345678".to_owned()));
    }

    #[test]
    fn international_forms_need_a_plus_and_ignore_the_store_country() {
        assert_eq!(e164("+254712345678", "UG"), Ok("+254712345678".to_owned()));
        assert_eq!(
            e164("+254 712 345 678", "KE"),
            Ok("+254712345678".to_owned())
        );
        assert_eq!(e164("+1 202-555-0100", "KE"), Ok("+12025550100".to_owned()));
        assert_eq!(
            e164("254712345678", "KE"),
            Err(CustomerError::PhoneWithoutPlus)
        );
        assert_eq!(
            e164("000 254 712 345 678", "KE"),
            Err(CustomerError::PhoneWithoutPlus)
        );
    }

    #[test]
    fn invalid_and_impossible_numbers_are_refused() {
        for bad in [
            "071234567",      // a digit short
            "07123456789",    // a digit long
            "12345",          // too short for anything
            "+2547123456789", // too long for Kenya
            "+999 1234 5678", // no such country code
            "",
            "   ",
            "+",
            "()-",
        ] {
            assert_eq!(e164(bad, "KE"), Err(CustomerError::PhoneInvalid), "{bad:?}");
        }
        assert_eq!(
            e164(&"1".repeat(41), "KE"),
            Err(CustomerError::PhoneInvalid)
        );
    }

    #[test]
    fn only_digits_and_separators_are_accepted() {
        for bad in [
            "0800 FLOWERS",
            "0712 345 678 ext 12",
            "tel:+254712345678",
            "0712/345/678",
            "++254712345678",
            "0712+345678",
            "٠٧١٢٣٤٥٦٧٨",
        ] {
            assert_eq!(
                e164(bad, "KE"),
                Err(CustomerError::PhoneCharacters),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn recognize_also_takes_a_country_code_without_plus() {
        let ke = country("KE");
        let expected = Some("+254712345678");
        for form in [
            "254712345678",
            "0712 345 678",
            "+254712345678",
            "000254712345678",
        ] {
            assert_eq!(
                Phone::recognize(form, &ke).as_ref().map(Phone::as_str),
                expected,
                "{form:?}"
            );
        }
        assert_eq!(Phone::recognize("Wanjiru", &ke), None);
        assert_eq!(Phone::recognize("0712", &ke), None);
    }

    #[test]
    fn messages_complete_a_sentence_about_the_field() {
        for err in [
            CustomerError::NameLength,
            CustomerError::NameText(crate::text::TextError::Invisible),
            CustomerError::NameText(crate::text::TextError::ControlInName),
            CustomerError::Country,
            CustomerError::PhoneCharacters,
            CustomerError::PhoneWithoutPlus,
            CustomerError::PhoneInvalid,
        ] {
            let text = err.to_string();
            assert!(
                text.starts_with("must ") || text.starts_with("may "),
                "{text}"
            );
        }
    }
}
