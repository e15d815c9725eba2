//! E-mail addresses. Invariant: one trimmed address of at most 254 characters that the
//! `email_address` crate accepts, without a display name (`Ann <ann@example.com>` is
//! rejected); `normalized()` (the whole address in lower case) decides uniqueness.

use std::fmt;

use email_address::{EmailAddress, Options};

use super::UserError;

/// An e-mail address as given (trimmed).
///
/// The local part is case-sensitive by the RFC but case-insensitive at every real mail host,
/// so uniqueness and look-ups (password reset) compare `normalized()`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// The limit of a forward path in SMTP (RFC 5321 §4.5.3.1.3 less the angle brackets).
    pub const MAX_CHARS: usize = 254;

    /// Trims surrounding whitespace, then validates with `email_address`'s default rules
    /// (a dotless domain such as `localhost` and domain literals are allowed) except that a
    /// display name is not.
    pub fn parse(s: &str) -> Result<Email, UserError> {
        let s = s.trim();
        let len = s.chars().count();
        if len > Self::MAX_CHARS {
            return Err(UserError::EmailTooLong { len });
        }
        let options = Options {
            allow_display_text: false,
            ..Options::default()
        };
        EmailAddress::parse_with_options(s, options).map_err(|err| UserError::InvalidEmail {
            reason: reason(&err),
        })?;
        Ok(Email(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form compared for uniqueness and looked up for password resets.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

/// Short, stable reasons for a client; `email_address`'s own texts are capitalised sentences.
fn reason(err: &email_address::Error) -> &'static str {
    use email_address::Error as E;
    match err {
        E::MissingSeparator => "missing '@'",
        E::LocalPartEmpty => "nothing before '@'",
        E::LocalPartTooLong => "the part before '@' is too long",
        E::DomainEmpty => "nothing after '@'",
        E::DomainTooLong | E::SubDomainTooLong => "the domain is too long",
        E::SubDomainEmpty | E::DomainInvalidSeparator | E::DomainTooFew => {
            "the domain is malformed"
        }
        E::UnsupportedDisplayName | E::MissingDisplayName | E::MissingEndBracket => {
            "give the bare address, without a name or angle brackets"
        }
        E::UnbalancedQuotes => "unbalanced quotes",
        E::InvalidComment => "malformed comment",
        E::InvalidIPAddress | E::UnsupportedDomainLiteral => "invalid domain address literal",
        E::InvalidCharacter => "invalid character",
        #[allow(unreachable_patterns, reason = "email_address may add error kinds")]
        _ => "not an e-mail address",
    }
}

impl TryFrom<String> for Email {
    type Error = UserError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Email::parse(&s)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> String {
        email.0
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_ordinary_addresses() {
        for good in [
            "ann@example.com",
            "Ann.Smith+till@shop.example.co.ke",
            "x@y.io",
            "ops@localhost",
            "o'brien@example.org",
        ] {
            assert_eq!(Email::parse(good).unwrap().as_str(), good);
        }
    }

    #[test]
    fn trims_surrounding_whitespace() {
        assert_eq!(
            Email::parse("  ann@example.com\n").unwrap().as_str(),
            "ann@example.com"
        );
    }

    #[test]
    fn rejects_non_addresses() {
        for bad in [
            "",
            "   ",
            "ann",
            "ann@",
            "@example.com",
            "ann@@example.com",
            "ann smith@example.com",
            "ann@exa mple.com",
            "ann@example..com",
            "ann@.example.com",
            "Ann <ann@example.com>",
            "<ann@example.com>",
            "ann@example.com, bob@example.com",
        ] {
            assert!(
                matches!(Email::parse(bad), Err(UserError::InvalidEmail { .. })),
                "{bad:?} gave {:?}",
                Email::parse(bad)
            );
        }
    }

    #[test]
    fn display_names_are_explained() {
        let err = Email::parse("Ann <ann@example.com>").unwrap_err();
        assert_eq!(
            err.to_string(),
            "must be a valid e-mail address (give the bare address, without a name or angle \
             brackets)"
        );
        let err = Email::parse("ann").unwrap_err();
        assert_eq!(
            err.to_string(),
            "must be a valid e-mail address (missing '@')"
        );
    }

    #[test]
    fn length_limit_is_254() {
        let domain = format!(
            "{}.{}.{}.io",
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(62)
        );
        let at_limit = format!("{}@{domain}", "u".repeat(254 - 1 - domain.len()));
        assert_eq!(at_limit.len(), 254);
        assert!(Email::parse(&at_limit).is_ok());
        let over = format!("u{at_limit}");
        assert_eq!(
            Email::parse(&over),
            Err(UserError::EmailTooLong { len: 255 })
        );
    }

    #[test]
    fn normalized_lowercases_the_whole_address() {
        let email = Email::parse("Ann.Smith@Example.COM").unwrap();
        assert_eq!(email.as_str(), "Ann.Smith@Example.COM");
        assert_eq!(email.to_string(), "Ann.Smith@Example.COM");
        assert_eq!(email.normalized(), "ann.smith@example.com");
    }

    #[test]
    fn serde_round_trip_and_rejection() {
        let email = Email::parse("ann@example.com").unwrap();
        let json = serde_json::to_string(&email).unwrap();
        assert_eq!(json, "\"ann@example.com\"");
        assert_eq!(serde_json::from_str::<Email>(&json).unwrap(), email);
        let err = serde_json::from_str::<Email>("\"nope\"").unwrap_err();
        assert!(err.to_string().contains("valid e-mail address"), "{err}");
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in any::<String>()) {
            if let Ok(email) = Email::parse(&s) {
                prop_assert!(email.as_str().chars().count() <= Email::MAX_CHARS);
                prop_assert_eq!(email.as_str(), email.as_str().trim());
            }
        }
    }
}
