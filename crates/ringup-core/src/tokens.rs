//! Opaque secrets: refresh tokens, password-reset tokens and API keys.
//!
//! Invariants: every secret carries 256 bits from a cryptographically secure generator
//! (rand's thread-local ChaCha generator, seeded and periodically reseeded from the OS) and
//! is text-safe (base64url without padding, 43 characters). Only `hash_token` of a secret is
//! stored; the secret itself is shown once. Secrets are compared with `constant_time_eq`, or
//! better, looked up by their hash.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

/// Bytes of randomness in every token.
const TOKEN_BYTES: usize = 32;

/// Prefix of every API key, so a leaked key is recognisable (secret scanners, logs) and an
/// `Authorization` value can be told from a JWT without trying both.
pub const API_KEY_PREFIX: &str = "rk_";

/// Characters after the prefix that `looks_like_api_key` requires at least.
const API_KEY_MIN_BODY: usize = 32;

/// A fresh 256-bit secret, base64url without padding (43 characters of `[A-Za-z0-9_-]`).
pub fn random_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Lower-case hex SHA-256 of a token, the form kept in storage and looked up.
///
/// A fast hash is right here, unlike for passwords: argon2's cost exists to slow a guesser
/// working through a small space of human-chosen passwords, but these tokens are 256 uniformly
/// random bits, so nobody can guess one from its hash however fast the hash is. And a fast,
/// unsalted hash is deterministic, which lets the server find the row by `hash_token(token)`
/// in one indexed look-up.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A fresh API key: `rk_` followed by a `random_token()`.
pub fn new_api_key() -> String {
    format!("{API_KEY_PREFIX}{}", random_token())
}

/// Whether `s` has the shape of an API key: `rk_` then at least 32 characters of
/// `[A-Za-z0-9_-]` and nothing else. Says nothing about whether the key exists.
pub fn looks_like_api_key(s: &str) -> bool {
    s.strip_prefix(API_KEY_PREFIX).is_some_and(|body| {
        body.len() >= API_KEY_MIN_BODY
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    })
}

/// Equality whose running time does not depend on where the strings first differ (only on
/// their lengths), so comparing a presented secret with a stored one leaks nothing of the
/// stored one's contents through timing.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn is_url_safe(s: &str) -> bool {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    }

    #[test]
    fn random_tokens_are_43_url_safe_chars() {
        for _ in 0..100 {
            let token = random_token();
            assert_eq!(token.len(), 43, "{token}");
            assert!(is_url_safe(&token), "{token}");
            assert_eq!(URL_SAFE_NO_PAD.decode(&token).unwrap().len(), 32);
        }
    }

    #[test]
    fn random_tokens_do_not_repeat() {
        let tokens: HashSet<String> = (0..1000).map(|_| random_token()).collect();
        assert_eq!(tokens.len(), 1000);
    }

    #[test]
    fn hash_token_is_sha256_hex() {
        // SHA-256("abc"), FIPS 180-2 test vector.
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let token = random_token();
        assert_eq!(hash_token(&token), hash_token(&token));
        assert_ne!(hash_token(&token), hash_token(&random_token()));
    }

    #[test]
    fn api_keys_have_the_prefix_and_look_like_keys() {
        let key = new_api_key();
        assert!(key.starts_with("rk_"), "{key}");
        assert_eq!(key.len(), 3 + 43);
        assert!(looks_like_api_key(&key), "{key}");
    }

    #[test]
    fn looks_like_api_key_checks_shape() {
        let body32 = "a".repeat(32);
        assert!(looks_like_api_key(&format!("rk_{body32}")));
        assert!(looks_like_api_key(&format!("rk_{}", "A-_9".repeat(8))));
        for bad in [
            String::new(),
            "rk_".to_owned(),
            format!("rk_{}", "a".repeat(31)),
            format!("RK_{body32}"),
            format!("pk_{body32}"),
            body32.clone(),
            format!("rk_{body32}="),
            format!("rk_{body32} "),
            format!(" rk_{body32}"),
            format!("rk_{}+/", "a".repeat(32)),
            format!("rk_{}é", "a".repeat(32)),
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig".to_owned(),
        ] {
            assert!(!looks_like_api_key(&bad), "{bad:?}");
        }
    }

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq("", ""));
        assert!(constant_time_eq("secret", "secret"));
        assert!(!constant_time_eq("secret", "secreT"));
        assert!(!constant_time_eq("secret", "secret1"));
        assert!(!constant_time_eq("", "a"));
        let token = random_token();
        assert!(constant_time_eq(&token, &token.clone()));
    }
}
