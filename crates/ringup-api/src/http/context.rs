//! What the audit log records about a request: client address, user agent, request id.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;

use crate::http::middleware::RequestId;

#[derive(Clone, Debug, Default)]
pub struct RequestMeta {
    /// The client's address, for per-address rate limits.
    pub ip: Option<IpAddr>,
    /// Address, user agent and request id, as the use cases record them.
    pub origin: ringup_app::Origin,
}

impl<S: Send + Sync> FromRequestParts<S> for RequestMeta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(256).collect());
        let request_id = parts.extensions.get::<RequestId>().map(|r| r.0.clone());
        let origin = ringup_app::Origin {
            ip: ip.map(|ip| ip.to_string()),
            user_agent,
            request_id,
        };
        Ok(RequestMeta { ip, origin })
    }
}
