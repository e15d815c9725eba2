//! Browser sessions by cookie (API.md "Auth"): login sets them only when its body says
//! `"cookie": true`. The access and refresh tokens travel in `HttpOnly`, `SameSite=Strict`
//! cookies (`Secure` when ringup is reached over https); `csrf_token` is readable by the page,
//! which echoes it in `X-CSRF-Token` on every unsafe request (double-submit). A request with an
//! `Authorization` header is authenticated by it alone and ignores cookies.

use axum::http::{HeaderMap, Method};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use time::Duration;

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

/// The cookies of a new or refreshed session.
pub fn session_cookies(
    jar: CookieJar,
    access: &str,
    refresh: &str,
    refresh_ttl_secs: i64,
    secure: bool,
) -> CookieJar {
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
        random_token(),
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

/// The access token of a cookie session, if the request carries one and — for unsafe
/// methods — a matching CSRF token.
pub fn access_from_cookies(
    method: &Method,
    headers: &HeaderMap,
) -> Result<Option<String>, CsrfMismatch> {
    let jar = CookieJar::from_headers(headers);
    let Some(access) = jar.get(ACCESS_COOKIE).map(|c| c.value().to_owned()) else {
        return Ok(None);
    };
    let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let expected = jar.get(CSRF_COOKIE).map(|c| c.value().to_owned());
        let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        match (expected, sent) {
            (Some(expected), Some(sent))
                if !expected.is_empty() && constant_time_eq(&expected, sent) => {}
            _ => return Err(CsrfMismatch),
        }
    }
    Ok(Some(access))
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

    #[test]
    fn unsafe_methods_need_the_matching_csrf_token() {
        let jar = "ringup_access=tok; csrf_token=abc";
        assert_eq!(
            access_from_cookies(&Method::GET, &headers(jar, None)),
            Ok(Some("tok".into()))
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
            Ok(Some("tok".into()))
        );
        assert_eq!(
            access_from_cookies(&Method::POST, &headers("other=1", None)),
            Ok(None)
        );
    }
}
