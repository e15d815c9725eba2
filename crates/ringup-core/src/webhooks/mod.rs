//! Webhooks as the Standard Webhooks specification has them: the endpoint's secret
//! (`whsec_` and the base64 of its key), the signature of one attempt, when a failed attempt
//! is tried again ([`retry`]), when an endpoint's circuit opens ([`retry::Circuit`]), and
//! which URLs an endpoint may have ([`address`]). No I/O.

pub mod address;
pub mod retry;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit as _, Mac as _};
use rand::RngCore as _;
use sha2::Sha256;

/// The prefix of every secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// Bytes of key in a new secret (the specification asks for 24 to 64).
const KEY_BYTES: usize = 32;

/// The type of the event [`crate::webhooks`] sends when an admin tests an endpoint.
pub const TEST_EVENT_TYPE: &str = "webhook.test";

/// A signing secret. No `Debug`: it must never reach a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

/// Why a stored secret cannot sign.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("does not start with `whsec_`")]
    Prefix,
    #[error("is not base64")]
    Base64,
    #[error("holds fewer than 24 or more than 64 bytes of key")]
    Length,
}

impl Secret {
    /// A new random secret: `whsec_` and the base64 of 32 random bytes.
    pub fn generate() -> Secret {
        let mut key = [0u8; KEY_BYTES];
        rand::rng().fill_bytes(&mut key);
        Secret(format!("{SECRET_PREFIX}{}", STANDARD.encode(key)))
    }

    /// A secret as stored, checked.
    pub fn parse(text: &str) -> Result<Secret, SecretError> {
        let secret = Secret(text.to_owned());
        secret.key()?;
        Ok(secret)
    }

    /// The secret as the endpoint's owner copies it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The HMAC key: the base64-decoded part after `whsec_`.
    fn key(&self) -> Result<Vec<u8>, SecretError> {
        let encoded = self
            .0
            .strip_prefix(SECRET_PREFIX)
            .ok_or(SecretError::Prefix)?;
        let key = STANDARD.decode(encoded).map_err(|_| SecretError::Base64)?;
        if !(24..=64).contains(&key.len()) {
            return Err(SecretError::Length);
        }
        Ok(key)
    }

    /// `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &str) -> Result<String, SecretError> {
        let key = self.key()?;
        let mac = <Hmac<Sha256>>::new_from_slice(&key)
            .map_err(|_| SecretError::Length)?
            .chain_update(id.as_bytes())
            .chain_update(b".")
            .chain_update(timestamp.to_string().as_bytes())
            .chain_update(b".")
            .chain_update(body.as_bytes())
            .finalize()
            .into_bytes();
        Ok(format!("v1,{}", STANDARD.encode(mac)))
    }
}

/// The `webhook-signature` header of one attempt: the signature with the current secret and,
/// while a rotated secret is still valid, one with it too, separated by a space.
pub fn signature_header(
    current: &Secret,
    previous: Option<&Secret>,
    id: &str,
    timestamp: i64,
    body: &str,
) -> Result<String, SecretError> {
    let mut header = current.sign(id, timestamp, body)?;
    if let Some(previous) = previous {
        header.push(' ');
        header.push_str(&previous.sign(id, timestamp, body)?);
    }
    Ok(header)
}

/// How long a rotated secret still signs, beside the new one.
pub fn rotation_overlap() -> chrono::Duration {
    chrono::Duration::hours(24)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The example of the Standard Webhooks reference libraries (their test suites sign this
    /// message with this secret and expect this signature).
    #[test]
    fn the_signature_matches_the_reference_vector() {
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").ok();
        let signature = secret.and_then(|s| {
            s.sign(
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                r#"{"test": 2432232314}"#,
            )
            .ok()
        });
        assert_eq!(
            signature.as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
    }

    #[test]
    fn a_generated_secret_has_the_prefix_and_32_bytes_of_key() {
        let secret = Secret::generate();
        assert!(secret.expose().starts_with("whsec_"));
        assert_eq!(secret.key().map(|k| k.len()), Ok(32));
        assert!(Secret::generate() != secret);
    }

    #[test]
    fn malformed_secrets_are_refused() {
        assert_eq!(Secret::parse("abc").err(), Some(SecretError::Prefix));
        assert_eq!(Secret::parse("whsec_!!").err(), Some(SecretError::Base64));
        assert_eq!(Secret::parse("whsec_YWJj").err(), Some(SecretError::Length));
    }

    #[test]
    fn two_signatures_while_a_rotated_secret_is_valid() {
        let (new, old) = (Secret::generate(), Secret::generate());
        let one = signature_header(&new, None, "e", 1, "{}").unwrap_or_default();
        let two = signature_header(&new, Some(&old), "e", 1, "{}").unwrap_or_default();
        assert!(one.starts_with("v1,") && !one.contains(' '));
        let parts: Vec<&str> = two.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts.first().copied(), Some(one.as_str()));
        assert_eq!(
            parts.get(1).copied().map(str::to_owned),
            old.sign("e", 1, "{}").ok()
        );
    }

    proptest! {
        #[test]
        fn any_change_to_id_timestamp_or_body_changes_the_signature(
            id in "[a-z0-9]{1,20}", ts in 0i64..4_000_000_000, body in ".{0,64}"
        ) {
            let secret = Secret::generate();
            let base = secret.sign(&id, ts, &body).unwrap_or_default();
            prop_assert_eq!(secret.sign(&id, ts, &body).unwrap_or_default(), base.clone());
            let other_id = format!("{id}x");
            let other_body = format!("{body} ");
            prop_assert!(secret.sign(&other_id, ts, &body).unwrap_or_default() != base);
            prop_assert!(secret.sign(&id, ts + 1, &body).unwrap_or_default() != base);
            prop_assert!(secret.sign(&id, ts, &other_body).unwrap_or_default() != base);
        }
    }
}
