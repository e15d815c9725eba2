//! Passwords. Invariant: a `Password` from `Password::new` meets every rule of the policy in
//! docs/API.md ("Auth and users"); one from `Password::unchecked` is only a login attempt to
//! verify.
//! The text leaves the type only through `expose()`: no `Display`, no `Serialize`, and
//! `Debug` prints `Password(***)`.

use std::fmt;

/// One rule of the password policy that a candidate breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PasswordRule {
    TooShort,
    TooLong,
    NoUppercase,
    NoLowercase,
    NoDigit,
    /// No character that is neither a letter nor a digit.
    NoSymbol,
    ContainsUsername,
    /// zxcvbn scores it below 3 of 4: common, or built from predictable patterns.
    TooWeak,
}

impl PasswordRule {
    /// Every rule, in the order `Password::new` reports them.
    pub const ALL: [PasswordRule; 8] = [
        PasswordRule::TooShort,
        PasswordRule::TooLong,
        PasswordRule::NoUppercase,
        PasswordRule::NoLowercase,
        PasswordRule::NoDigit,
        PasswordRule::NoSymbol,
        PasswordRule::ContainsUsername,
        PasswordRule::TooWeak,
    ];

    /// A sentence whose subject is the password field, for a 422 `errors[].message`.
    pub fn message(&self) -> String {
        match self {
            PasswordRule::TooShort => {
                format!("must be at least {} characters", Password::MIN_CHARS)
            }
            PasswordRule::TooLong => {
                format!("must be at most {} characters", Password::MAX_CHARS)
            }
            PasswordRule::NoUppercase => "must contain an upper-case letter".to_owned(),
            PasswordRule::NoLowercase => "must contain a lower-case letter".to_owned(),
            PasswordRule::NoDigit => "must contain a digit".to_owned(),
            PasswordRule::NoSymbol => {
                "must contain a character that is not a letter or a digit".to_owned()
            }
            PasswordRule::ContainsUsername => "must not contain the username".to_owned(),
            PasswordRule::TooWeak => "is too easy to guess: avoid common words, names, dates, \
                                      keyboard patterns and simple substitutions"
                .to_owned(),
        }
    }

    /// A stable slug for clients and logs (`too-short`, `too-weak`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            PasswordRule::TooShort => "too-short",
            PasswordRule::TooLong => "too-long",
            PasswordRule::NoUppercase => "no-uppercase",
            PasswordRule::NoLowercase => "no-lowercase",
            PasswordRule::NoDigit => "no-digit",
            PasswordRule::NoSymbol => "no-symbol",
            PasswordRule::ContainsUsername => "contains-username",
            PasswordRule::TooWeak => "too-weak",
        }
    }
}

impl fmt::Display for PasswordRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

/// A plaintext password on its way to the hasher.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 128;
    /// The lowest zxcvbn score (0–4) accepted.
    pub const MIN_SCORE: u8 = 3;

    /// Applies the whole policy and reports every broken rule, in `PasswordRule::ALL` order.
    /// Lengths count characters, not bytes; letters and digits are Unicode-aware. `username`
    /// (when given) is matched ignoring case and is also fed to zxcvbn, so variations on it
    /// score low.
    pub fn new(raw: &str, username: Option<&str>) -> Result<Password, Vec<PasswordRule>> {
        let mut broken = Vec::new();
        let len = raw.chars().count();
        if len < Self::MIN_CHARS {
            broken.push(PasswordRule::TooShort);
        }
        if len > Self::MAX_CHARS {
            broken.push(PasswordRule::TooLong);
        }
        if !raw.chars().any(char::is_uppercase) {
            broken.push(PasswordRule::NoUppercase);
        }
        if !raw.chars().any(char::is_lowercase) {
            broken.push(PasswordRule::NoLowercase);
        }
        if !raw.chars().any(char::is_numeric) {
            broken.push(PasswordRule::NoDigit);
        }
        if !raw.chars().any(|c| !c.is_alphanumeric()) {
            broken.push(PasswordRule::NoSymbol);
        }
        let username = username.filter(|name| !name.is_empty());
        if let Some(name) = username
            && raw.to_lowercase().contains(&name.to_lowercase())
        {
            broken.push(PasswordRule::ContainsUsername);
        }
        let inputs: Vec<&str> = username.into_iter().collect();
        // zxcvbn itself reads only the first 100 characters, so a 128-character password
        // costs no more than a 100-character one.
        if u8::from(zxcvbn::zxcvbn(raw, &inputs).score()) < Self::MIN_SCORE {
            broken.push(PasswordRule::TooWeak);
        }
        if broken.is_empty() {
            Ok(Password(raw.to_owned()))
        } else {
            Err(broken)
        }
    }

    /// Wraps a login attempt without applying the policy: a user whose password predates a
    /// rule must still be able to log in, and the verdict comes from the stored hash.
    pub fn unchecked(raw: &str) -> Password {
        Password(raw.to_owned())
    }

    /// The plaintext, for the password hasher only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRONG: &str = "Tr0ub4dor&3-horse-staple";

    fn broken(raw: &str, username: Option<&str>) -> Vec<PasswordRule> {
        match Password::new(raw, username) {
            Ok(_) => vec![],
            Err(rules) => rules,
        }
    }

    #[test]
    fn a_strong_password_is_accepted() {
        let password = Password::new(STRONG, Some("alice")).unwrap();
        assert_eq!(password.expose(), STRONG);
        assert!(Password::new("correct-Horse-battery-9-staple", None).is_ok());
    }

    #[test]
    fn password1_bang_is_too_weak_and_only_that() {
        assert_eq!(broken("Password1!", None), vec![PasswordRule::TooWeak]);
    }

    #[test]
    fn common_passwords_meeting_the_character_rules_are_too_weak() {
        for weak in [
            "Passw0rd!",
            "Qwerty123!",
            "Welcome1!",
            "Summer2024!",
            "Abcd1234!",
        ] {
            assert_eq!(broken(weak, None), vec![PasswordRule::TooWeak], "{weak}");
        }
    }

    #[test]
    fn too_short() {
        let rules = broken("Ab1!x", None);
        assert!(rules.contains(&PasswordRule::TooShort), "{rules:?}");
        // 8 characters exactly is long enough.
        assert!(!broken("Zq8!vW3#", None).contains(&PasswordRule::TooShort));
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        // 7 characters but more than 8 bytes.
        let rules = broken("Éé1!ßøÅ", None);
        assert!(rules.contains(&PasswordRule::TooShort), "{rules:?}");
    }

    #[test]
    fn too_long() {
        let at_limit = format!("{STRONG}{}", "x".repeat(128 - STRONG.len()));
        assert_eq!(at_limit.chars().count(), 128);
        assert!(Password::new(&at_limit, None).is_ok());
        let over = format!("{at_limit}y");
        assert_eq!(broken(&over, None), vec![PasswordRule::TooLong]);
    }

    #[test]
    fn no_uppercase() {
        assert_eq!(
            broken(&STRONG.to_lowercase(), None),
            vec![PasswordRule::NoUppercase]
        );
    }

    #[test]
    fn no_lowercase() {
        assert_eq!(
            broken(&STRONG.to_uppercase(), None),
            vec![PasswordRule::NoLowercase]
        );
    }

    #[test]
    fn no_digit() {
        assert_eq!(
            broken("Troubador&x-horse-staple", None),
            vec![PasswordRule::NoDigit]
        );
    }

    #[test]
    fn no_symbol() {
        assert_eq!(
            broken("Tr0ub4dor3horseStapleQz", None),
            vec![PasswordRule::NoSymbol]
        );
    }

    #[test]
    fn a_space_counts_as_a_symbol() {
        assert!(Password::new("Tr0ub4dor 3 horse staple", None).is_ok());
    }

    #[test]
    fn contains_username_ignoring_case() {
        let raw = "Xk9#mAlice.Smith-Qv7";
        assert!(Password::new(raw, None).is_ok());
        assert!(broken(raw, Some("alice.smith")).contains(&PasswordRule::ContainsUsername));
        assert!(broken(raw, Some("ALICE.SMITH")).contains(&PasswordRule::ContainsUsername));
        assert!(!broken(raw, Some("bob")).contains(&PasswordRule::ContainsUsername));
    }

    #[test]
    fn an_empty_username_is_ignored() {
        assert!(Password::new(STRONG, Some("")).is_ok());
    }

    #[test]
    fn the_username_is_fed_to_zxcvbn() {
        // Strong on its own, but only a l33t spelling of the username (so the plain
        // containment rule does not catch it).
        let raw = "Kw4ben40f0ri!";
        let username = "kwabenaofori";
        assert!(Password::new(raw, None).is_ok(), "{:?}", broken(raw, None));
        let rules = broken(raw, Some(username));
        assert_eq!(rules, vec![PasswordRule::TooWeak]);
    }

    #[test]
    fn every_broken_rule_is_reported() {
        assert_eq!(
            broken("", None),
            vec![
                PasswordRule::TooShort,
                PasswordRule::NoUppercase,
                PasswordRule::NoLowercase,
                PasswordRule::NoDigit,
                PasswordRule::NoSymbol,
                PasswordRule::TooWeak,
            ]
        );
        assert_eq!(
            broken("alice", Some("Alice")),
            vec![
                PasswordRule::TooShort,
                PasswordRule::NoUppercase,
                PasswordRule::NoDigit,
                PasswordRule::NoSymbol,
                PasswordRule::ContainsUsername,
                PasswordRule::TooWeak,
            ]
        );
    }

    #[test]
    fn unchecked_applies_no_policy() {
        assert_eq!(Password::unchecked("a").expose(), "a");
        assert_eq!(Password::unchecked("").expose(), "");
    }

    #[test]
    fn debug_hides_the_text() {
        let password = Password::new(STRONG, None).unwrap();
        let debug = format!("{password:?}");
        assert_eq!(debug, "Password(***)");
        assert!(!debug.contains("Tr0ub"));
        let nested = format!("{:?}", Some(Password::unchecked("hunter2")));
        assert!(!nested.contains("hunter2"), "{nested}");
    }

    #[test]
    fn every_rule_has_a_message_and_a_distinct_code() {
        assert_eq!(
            PasswordRule::TooShort.message(),
            "must be at least 8 characters"
        );
        assert_eq!(
            PasswordRule::TooLong.message(),
            "must be at most 128 characters"
        );
        let mut codes: Vec<&str> = PasswordRule::ALL.iter().map(PasswordRule::code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), PasswordRule::ALL.len());
        for rule in PasswordRule::ALL {
            assert!(!rule.message().is_empty());
            assert_eq!(rule.to_string(), rule.message());
        }
    }
}
