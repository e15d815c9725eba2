//! Access tokens: JWT, HS256 with the configured secret, 15 minutes. The algorithm is pinned:
//! a token signed with anything else (including `alg: none`) is rejected. Expiry is checked
//! against ringup's clock rather than the library's, so tests can move time.

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use ringup_core::ids::{SessionId, UserId};
use ringup_core::users::Role;

pub const ACCESS_TTL_SECS: i64 = 15 * 60;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub sub: String,
    pub sid: String,
    pub role: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

/// A verified access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    pub user: UserId,
    pub session: SessionId,
    pub role: Role,
}

#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> TokenKeys {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.leeway = 0;
        validation.required_spec_claims = ["exp", "sub"].iter().map(|s| (*s).to_owned()).collect();
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    pub fn issue(
        &self,
        user: UserId,
        session: SessionId,
        role: Role,
        now: DateTime<Utc>,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let iat = now.timestamp();
        let claims = Claims {
            sub: user.to_string(),
            sid: session.to_string(),
            role: role.as_str().to_owned(),
            iat,
            exp: iat + ACCESS_TTL_SECS,
            jti: uuid::Uuid::now_v7().to_string(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    /// Verifies signature, algorithm and expiry; `None` for anything that is not a live token.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Option<AccessToken> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?;
        let claims = data.claims;
        if claims.exp <= now.timestamp() {
            return None;
        }
        Some(AccessToken {
            user: UserId::parse(&claims.sub).ok()?,
            session: SessionId::parse(&claims.sid).ok()?,
            role: Role::parse(&claims.role).ok()?,
        })
    }
}
