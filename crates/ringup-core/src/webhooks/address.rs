//! Which URLs an endpoint may have and which addresses ringup may send to.
//!
//! A URL is `http://` or `https://`, with a host, no user or password, at most 2,000
//! characters. Unless private addresses are allowed (`RINGUP_WEBHOOKS_ALLOW_PRIVATE`), the
//! address it is sent to must be public: [`is_public`] refuses loopback, private (RFC 1918),
//! link-local, unspecified, multicast, broadcast, CGNAT (100.64/10), documentation and
//! benchmarking ranges, IPv6 unique-local (fc00::/7) and link-local (fe80::/10), and IPv4
//! addresses inside IPv6 (mapped `::ffff:a.b.c.d`, compatible, NAT64 `64:ff9b::/96`), which are
//! judged as the IPv4 address they carry. The check is made when the URL is saved (on its
//! literal address or on what its name resolves to) and again on every connection (the
//! worker's resolver), so a name that later resolves elsewhere (DNS rebinding) gains nothing.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// The longest URL accepted.
pub const MAX_URL_LEN: usize = 2000;

/// Why a URL was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("is longer than 2000 characters")]
    TooLong,
    #[error("is not a URL")]
    Malformed,
    #[error("must start with https:// or http://")]
    Scheme,
    #[error("must not carry a user name or password")]
    Credentials,
    #[error("is a private, loopback or link-local address")]
    Private,
}

/// A URL that passed [`parse_url`]: its text, and its host if it is a literal address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointUrl {
    pub url: Url,
}

impl EndpointUrl {
    /// The host name to resolve, `None` when the host is a literal address.
    pub fn domain(&self) -> Option<&str> {
        self.url.domain()
    }

    /// The port to connect to (the scheme's when none is written).
    pub fn port(&self) -> u16 {
        self.url.port_or_known_default().unwrap_or(443)
    }
}

/// Checks `text` as an endpoint URL: shape always, and a literal address's range unless
/// `allow_private`. A name is resolved (and judged by [`is_public`]) by the caller.
pub fn parse_url(text: &str, allow_private: bool) -> Result<EndpointUrl, UrlError> {
    if text.len() > MAX_URL_LEN {
        return Err(UrlError::TooLong);
    }
    let url = Url::parse(text.trim()).map_err(|_| UrlError::Malformed)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UrlError::Scheme);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlError::Credentials);
    }
    let literal = match url.host() {
        None => return Err(UrlError::Malformed),
        Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        Some(Host::Domain(name)) => {
            if !allow_private && is_local_name(name) {
                return Err(UrlError::Private);
            }
            None
        }
    };
    if let Some(ip) = literal
        && !allow_private
        && !is_public(ip)
    {
        return Err(UrlError::Private);
    }
    Ok(EndpointUrl { url })
}

/// Names that always mean this machine or its network (`localhost`, `*.localhost`, `*.local`,
/// `*.internal`), refused without asking DNS.
fn is_local_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name.ends_with(".local")
        || name.ends_with(".internal")
}

/// Whether `ip` is an address on the public internet (see the module's list).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        // CGNAT, 100.64.0.0/10
        || (a == 100 && (64..128).contains(&b))
        // IETF protocol assignments, 192.0.0.0/24
        || (a == 192 && b == 0 && c == 0)
        // benchmarking, 198.18.0.0/15
        || (a == 198 && (b == 18 || b == 19))
        // reserved, 240.0.0.0/4
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = embedded_v4(ip) {
        return is_public_v4(v4);
    }
    let first = ip.segments().first().copied().unwrap_or(0);
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        // unique local, fc00::/7
        || (first & 0xfe00) == 0xfc00
        // link-local, fe80::/10
        || (first & 0xffc0) == 0xfe80
        // site-local (deprecated), fec0::/10
        || (first & 0xffc0) == 0xfec0
        // documentation, 2001:db8::/32
        || (first == 0x2001 && ip.segments().get(1).copied() == Some(0xdb8)))
}

/// The IPv4 address an IPv6 address carries: mapped (`::ffff:a.b.c.d`), compatible
/// (`::a.b.c.d`, except `::` and `::1`) or NAT64 (`64:ff9b::a.b.c.d`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    let tail = |s: &[u16; 8]| {
        let hi = s.get(6).copied().unwrap_or(0);
        let lo = s.get(7).copied().unwrap_or(0);
        Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo))
    };
    let head_zero = s.iter().take(6).all(|&x| x == 0);
    if head_zero && !ip.is_loopback() && !ip.is_unspecified() {
        return Some(tail(&s));
    }
    let nat64 = s.first().copied() == Some(0x64)
        && s.get(1).copied() == Some(0xff9b)
        && s.iter().skip(2).take(4).all(|&x| x == 0);
    nat64.then(|| tail(&s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
    }

    #[test]
    fn private_and_special_ranges_are_refused() {
        for text in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "100.64.0.1",
            "100.127.255.255",
            "198.18.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(!is_public(ip(text)), "{text}");
        }
        for text in [
            "8.8.8.8",
            "1.1.1.1",
            "100.128.0.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(ip(text)), "{text}");
        }
    }

    #[test]
    fn urls_are_checked_for_scheme_credentials_length_and_literal_address() {
        assert!(parse_url("https://hooks.example.com/x", false).is_ok());
        assert!(parse_url("http://8.8.8.8:8080/x", false).is_ok());
        assert_eq!(
            parse_url("ftp://example.com", false).err(),
            Some(UrlError::Scheme)
        );
        assert_eq!(
            parse_url("https://u:p@example.com", false).err(),
            Some(UrlError::Credentials)
        );
        assert_eq!(
            parse_url("not a url", false).err(),
            Some(UrlError::Malformed)
        );
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert_eq!(parse_url(&long, false).err(), Some(UrlError::TooLong));
        for private in [
            "http://127.0.0.1:9/x",
            "http://[::1]/",
            "http://[::ffff:192.168.0.1]/",
            "http://localhost/",
            "http://LOCALHOST./",
            "http://metadata.google.internal/",
            "http://0x7f.1/",
            "http://2130706433/",
        ] {
            assert_eq!(
                parse_url(private, false).err(),
                Some(UrlError::Private),
                "{private}"
            );
            assert!(parse_url(private, true).is_ok(), "{private}");
        }
    }

    proptest! {
        #[test]
        fn every_loopback_and_rfc1918_v4_address_is_refused_also_when_mapped(
            b in 0u8..=255, c in 0u8..=255, d in 0u8..=255
        ) {
            for v4 in [
                Ipv4Addr::new(127, b, c, d),
                Ipv4Addr::new(10, b, c, d),
                Ipv4Addr::new(192, 168, c, d),
                Ipv4Addr::new(172, 16 + (b % 16), c, d),
                Ipv4Addr::new(169, 254, c, d),
            ] {
                prop_assert!(!is_public(IpAddr::V4(v4)));
                prop_assert!(!is_public(IpAddr::V6(v4.to_ipv6_mapped())));
            }
        }
    }
}
