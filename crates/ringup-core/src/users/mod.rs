//! Users: roles, usernames, e-mail addresses and passwords.
//!
//! Invariants: a `Username` is 3–64 ASCII letters, digits, `.`, `_` or `-`, and two usernames
//! that differ only in case name the same account (compare `normalized()`). An `Email` is one
//! trimmed address of at most 254 characters with no display name; `normalized()` is what
//! uniqueness and look-ups compare. A `Password` built by `Password::new` meets the whole
//! policy of docs/API.md ("Auth and users") and its text is never printed by `Debug`, `Display` or
//! serde. Roles are exactly `admin`, `manager`, `cashier` and `employee`.

mod email;
mod password;
mod role;
mod username;

pub use email::Email;
pub use password::{Password, PasswordRule};
pub use role::Role;
pub use username::Username;

/// A user field that is not valid. Each message completes a sentence whose subject is the
/// field (`field()`), so it fits a 422 `errors[]` entry as it stands.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    #[error(
        "must be between {min} and {max} characters long, got {len}",
        min = Username::MIN_CHARS,
        max = Username::MAX_CHARS
    )]
    UsernameLength { len: usize },
    #[error("may contain only letters, digits, '.', '_' and '-'")]
    UsernameCharacters,
    #[error("must be a valid e-mail address ({reason})")]
    InvalidEmail { reason: &'static str },
    #[error(
        "must be at most {max} characters long, got {len}",
        max = Email::MAX_CHARS
    )]
    EmailTooLong { len: usize },
    #[error("must be one of admin, manager, cashier, employee")]
    UnknownRole,
    /// Every rule the password breaks; the API reports one `errors[]` entry per rule (see
    /// `PasswordRule::message`), not this summary.
    #[error("breaks {} password rule(s)", .0.len())]
    WeakPassword(Vec<PasswordRule>),
}

impl UserError {
    /// The request field this error is about, for a 422 `errors[].field`. A password may
    /// arrive as `new_password`; the caller knows which.
    pub fn field(&self) -> &'static str {
        match self {
            UserError::UsernameLength { .. } | UserError::UsernameCharacters => "username",
            UserError::InvalidEmail { .. } | UserError::EmailTooLong { .. } => "email",
            UserError::UnknownRole => "role",
            UserError::WeakPassword(_) => "password",
        }
    }
}

impl From<Vec<PasswordRule>> for UserError {
    fn from(rules: Vec<PasswordRule>) -> Self {
        UserError::WeakPassword(rules)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_their_field() {
        assert_eq!(UserError::UsernameCharacters.field(), "username");
        assert_eq!(UserError::UsernameLength { len: 2 }.field(), "username");
        assert_eq!(UserError::InvalidEmail { reason: "x" }.field(), "email");
        assert_eq!(UserError::EmailTooLong { len: 300 }.field(), "email");
        assert_eq!(UserError::UnknownRole.field(), "role");
        assert_eq!(
            UserError::from(vec![PasswordRule::TooShort]).field(),
            "password"
        );
    }

    #[test]
    fn messages_read_as_sentences_about_the_field() {
        assert_eq!(
            UserError::UsernameLength { len: 2 }.to_string(),
            "must be between 3 and 64 characters long, got 2"
        );
        assert_eq!(
            UserError::EmailTooLong { len: 300 }.to_string(),
            "must be at most 254 characters long, got 300"
        );
        assert_eq!(
            UserError::WeakPassword(vec![PasswordRule::TooShort, PasswordRule::NoDigit])
                .to_string(),
            "breaks 2 password rule(s)"
        );
    }
}
