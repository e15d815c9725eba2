//! Values that settings carry but must never print: secrets, and URLs that may hold a password.
//! Their `Debug` hides what they carry, so `Settings` can be logged.

use std::fmt;

use url::Url;

/// A secret string: compared and used, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(value)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A URL that may carry a password: shown with the password replaced by `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct RedactedUrl(pub(super) Url);

impl RedactedUrl {
    pub fn expose(&self) -> &Url {
        &self.0
    }
}

impl fmt::Debug for RedactedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.0.clone();
        if shown.password().is_some() {
            let _ = shown.set_password(Some("***"));
        }
        write!(f, "{shown}")
    }
}
