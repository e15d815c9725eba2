//! Browser sessions by cookie (docs/API.md "Auth"): login sets them only when its body says
//! `"cookie": true`. The access and refresh tokens travel in `HttpOnly`, `SameSite=Strict`
//! cookies (`Secure` when ringup is reached over https); `csrf_token` is readable by the page,
//! which echoes it in `X-CSRF-Token` on every unsafe request (double-submit). A request with an
//! `Authorization` header is authenticated by it alone and ignores cookies.
//!
//! The CSRF token is *signed* and bound to the session (OWASP's "signed double-submit
//! cookie"): `<nonce>.<mac>`, where `mac` is HMAC-SHA256 over the session id and the nonce
//! under a key derived from the server secret. Matching header and cookie are not enough: an
//! attacker who can plant a cookie (a sibling subdomain, a man in the middle on plain http)
//! cannot make a token that verifies for the victim's session, because it needs the secret.
//! Every comparison is constant-time.

use axum::http::{HeaderMap, Method};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::{Digest as _, Sha256, Sha512};
use time::Duration;

use ringup_core::ids::SessionId;
use ringup_core::tokens::{constant_time_eq, random_token};

pub const ACCESS_COOKIE: &str = "ringup_access";
pub const REFRESH_COOKIE: &str = "ringup_refresh";
pub const CSRF_COOKIE: &str = "csrf_token";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Where the refresh cookie is sent: only to the auth routes that use it.
const REFRESH_PATH: &str = "/api/v1/auth";

fn cookie(
    name: &'static str,
    value: String,
    path: &'static str,
    max_age: Duration,
    secure: bool,
    http_only: bool,
) -> Cookie<'static> {
    Cookie::build((name, value))
        .path(path)
        .max_age(max_age)
        .same_site(SameSite::Strict)
        .secure(secure)
        .http_only(http_only)
        .build()
}

/// Issues and checks CSRF tokens bound to a session.
#[derive(Clone)]
pub struct CsrfKey(Hmac<Sha256>);

impl CsrfKey {
    /// The HMAC key is SHA-512 of a label and the server secret: a key of exactly
    /// SHA-256's block size (so keying cannot fail), and one that differs from the secret the
    /// access tokens are signed with, so the two kinds of token can never stand in for each
    /// other.
    pub fn new(secret: &[u8]) -> CsrfKey {
        let key = Sha512::new()
            .chain_update(b"ringup csrf token key v1\0")
            .chain_update(secret)
            .finalize();
        CsrfKey(Hmac::new(&key))
    }

    fn mac(&self, session: SessionId, nonce: &str) -> Hmac<Sha256> {
        self.0
            .clone()
            .chain_update(session.to_string().as_bytes())
            .chain_update(b".")
            .chain_update(nonce.as_bytes())
    }

    /// A fresh token for `session`: a random nonce and its MAC.
    pub fn issue(&self, session: SessionId) -> String {
        let nonce = random_token();
        let mac = self.mac(session, &nonce).finalize().into_bytes();
        format!("{nonce}.{}", URL_SAFE_NO_PAD.encode(mac))
    }

    /// Whether `token` was issued for `session` with this key (constant-time).
    pub fn verify(&self, session: SessionId, token: &str) -> bool {
        let Some((nonce, mac)) = token.split_once('.') else {
            return false;
        };
        let Ok(mac) = URL_SAFE_NO_PAD.decode(mac) else {
            return false;
        };
        self.mac(session, nonce).verify_slice(&mac).is_ok()
    }
}

/// What a session needs to set its cookies.
pub struct SessionCookies<'a> {
    pub access: &'a str,
    pub refresh: &'a str,
    pub session: SessionId,
    pub refresh_ttl_secs: i64,
    pub secure: bool,
}

/// The cookies of a new or refreshed session; the CSRF token is bound to `session`.
pub fn session_cookies(jar: CookieJar, key: &CsrfKey, c: &SessionCookies<'_>) -> CookieJar {
    let SessionCookies {
        access,
        refresh,
        session,
        refresh_ttl_secs,
        secure,
    } = *c;
    let access_age = Duration::seconds(super::tokens::ACCESS_TTL_SECS);
    let refresh_age = Duration::seconds(refresh_ttl_secs);
    jar.add(cookie(
        ACCESS_COOKIE,
        access.to_owned(),
        "/",
        access_age,
        secure,
        true,
    ))
    .add(cookie(
        REFRESH_COOKIE,
        refresh.to_owned(),
        REFRESH_PATH,
        refresh_age,
        secure,
        true,
    ))
    .add(cookie(
        CSRF_COOKIE,
        key.issue(session),
        "/",
        refresh_age,
        secure,
        false,
    ))
}

/// Expires every session cookie.
pub fn cleared(jar: CookieJar) -> CookieJar {
    jar.remove(Cookie::build(ACCESS_COOKIE).path("/"))
        .remove(Cookie::build(REFRESH_COOKIE).path(REFRESH_PATH))
        .remove(Cookie::build(CSRF_COOKIE).path("/"))
}

/// A cookie session's unsafe request without the matching `X-CSRF-Token`.
#[derive(Debug, PartialEq, Eq)]
pub struct CsrfMismatch;

/// The credentials of a cookie session.
#[derive(Debug, PartialEq, Eq)]
pub struct CookieAccess {
    pub access: String,
    /// For an unsafe method, the CSRF token the request sent (cookie and header agree); the
    /// caller must still check it is bound to the access token's session ([`CsrfKey::verify`]).
    pub csrf: Option<String>,
}

/// The access token of a cookie session, if the request carries one and — for unsafe
/// methods — the same CSRF token in cookie and header.
pub fn access_from_cookies(
    method: &Method,
    headers: &HeaderMap,
) -> Result<Option<CookieAccess>, CsrfMismatch> {
    let jar = CookieJar::from_headers(headers);
    let Some(access) = jar.get(ACCESS_COOKIE).map(|c| c.value().to_owned()) else {
        return Ok(None);
    };
    let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if safe {
        return Ok(Some(CookieAccess { access, csrf: None }));
    }
    let expected = jar.get(CSRF_COOKIE).map(|c| c.value().to_owned());
    let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    match (expected, sent) {
        (Some(expected), Some(sent))
            if !expected.is_empty() && constant_time_eq(&expected, sent) =>
        {
            Ok(Some(CookieAccess {
                access,
                csrf: Some(expected),
            }))
        }
        _ => Err(CsrfMismatch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(cookie: &str, csrf: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("cookie", HeaderValue::from_str(cookie).unwrap());
        if let Some(csrf) = csrf {
            h.insert(CSRF_HEADER, HeaderValue::from_str(csrf).unwrap());
        }
        h
    }

    fn access(token: &str, csrf: Option<&str>) -> Result<Option<CookieAccess>, CsrfMismatch> {
        Ok(Some(CookieAccess {
            access: token.into(),
            csrf: csrf.map(Into::into),
        }))
    }

    #[test]
    fn unsafe_methods_need_the_matching_csrf_token() {
        let jar = "ringup_access=tok; csrf_token=abc";
        assert_eq!(
            access_from_cookies(&Method::GET, &headers(jar, None)),
            access("tok", None)
        );
        assert_eq!(
            access_from_cookies(&Method::POST, &headers(jar, None)),
            Err(CsrfMismatch)
        );
        assert_eq!(
            access_from_cookies(&Method::POST, &headers(jar, Some("abd"))),
            Err(CsrfMismatch)
        );
        assert_eq!(
            access_from_cookies(&Method::POST, &headers(jar, Some("abc"))),
            access("tok", Some("abc"))
        );
        assert_eq!(
            access_from_cookies(&Method::POST, &headers("other=1", None)),
            Ok(None)
        );
    }

    #[test]
    fn csrf_tokens_verify_only_for_their_session_and_key() {
        let key = CsrfKey::new(b"server secret");
        let session = SessionId::new();
        let token = key.issue(session);
        assert!(key.verify(session, &token));
        assert_ne!(token, key.issue(session), "each token has its own nonce");
        assert!(!key.verify(SessionId::new(), &token), "another session");
        assert!(!CsrfKey::new(b"other secret").verify(session, &token));
        let (nonce, _) = token.split_once('.').unwrap();
        for forged in [
            "attacker",
            "",
            ".",
            nonce,
            &format!("{nonce}."),
            &format!("{nonce}.AAAA"),
            &format!("x{token}"),
            &format!("{token}A"),
        ] {
            assert!(!key.verify(session, forged), "{forged:?}");
        }
    }
}
