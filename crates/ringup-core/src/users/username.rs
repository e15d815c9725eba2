//! Usernames. Invariant: 3–64 characters, each an ASCII letter, digit, `.`, `_` or `-`; the
//! case given is kept for display, and `normalized()` (lower case) decides uniqueness.

use std::fmt;

use super::UserError;

/// A login name as the user typed it.
///
/// `==` compares the spelling; two usernames name the same account when their `normalized()`
/// forms are equal, which is what the unique index must be on.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    pub const MIN_CHARS: usize = 3;
    pub const MAX_CHARS: usize = 64;

    /// No trimming: a username with spaces is an error the user should see.
    pub fn parse(s: &str) -> Result<Username, UserError> {
        let len = s.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&len) {
            return Err(UserError::UsernameLength { len });
        }
        if !s.chars().all(is_username_char) {
            return Err(UserError::UsernameCharacters);
        }
        Ok(Username(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form compared for uniqueness and looked up at login.
    pub fn normalized(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

fn is_username_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

impl TryFrom<String> for Username {
    type Error = UserError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Username::parse(&s)
    }
}

impl From<Username> for String {
    fn from(username: Username) -> String {
        username.0
    }
}

impl AsRef<str> for Username {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn length_boundaries() {
        assert_eq!(
            Username::parse("ab"),
            Err(UserError::UsernameLength { len: 2 })
        );
        assert_eq!(Username::parse("abc").unwrap().as_str(), "abc");
        let max = "a".repeat(64);
        assert_eq!(Username::parse(&max).unwrap().as_str(), max);
        assert_eq!(
            Username::parse(&"a".repeat(65)),
            Err(UserError::UsernameLength { len: 65 })
        );
        assert_eq!(
            Username::parse(""),
            Err(UserError::UsernameLength { len: 0 })
        );
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        // Two 2-byte characters: too short by characters, not by bytes.
        assert_eq!(
            Username::parse("éé"),
            Err(UserError::UsernameLength { len: 2 })
        );
    }

    #[test]
    fn allowed_characters() {
        for good in [
            "alice",
            "Bob.Smith",
            "cashier_01",
            "till-3",
            "a.b_c-D9",
            "...",
        ] {
            assert!(Username::parse(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn rejected_characters() {
        for bad in [
            "ali ce",
            " alice",
            "alice ",
            "al@ce",
            "alice!",
            "josé",
            "名前です",
            "a/b/c",
            "tab\there",
            "new\nline",
            "al+ce",
        ] {
            assert_eq!(
                Username::parse(bad),
                Err(UserError::UsernameCharacters),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn normalized_ignores_case_but_keeps_spelling() {
        let name = Username::parse("Alice.Smith").unwrap();
        assert_eq!(name.as_str(), "Alice.Smith");
        assert_eq!(name.to_string(), "Alice.Smith");
        assert_eq!(name.normalized(), "alice.smith");
        assert_eq!(
            name.normalized(),
            Username::parse("ALICE.smith").unwrap().normalized()
        );
    }

    #[test]
    fn serde_round_trip_and_rejection() {
        let name = Username::parse("cashier_01").unwrap();
        let json = serde_json::to_string(&name).unwrap();
        assert_eq!(json, "\"cashier_01\"");
        assert_eq!(serde_json::from_str::<Username>(&json).unwrap(), name);

        let err = serde_json::from_str::<Username>("\"no way\"").unwrap_err();
        assert!(err.to_string().contains("may contain only"), "{err}");
        let err = serde_json::from_str::<Username>("\"ab\"").unwrap_err();
        assert!(err.to_string().contains("between 3 and 64"), "{err}");
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_accepts_only_valid(s in any::<String>()) {
            if let Ok(name) = Username::parse(&s) {
                prop_assert!((3..=64).contains(&name.as_str().len()));
                prop_assert!(name.as_str().chars().all(is_username_char));
            }
        }

        #[test]
        fn every_valid_name_parses(s in "[A-Za-z0-9._-]{3,64}") {
            let name = Username::parse(&s).unwrap();
            prop_assert_eq!(name.as_str(), s.as_str());
        }
    }
}
