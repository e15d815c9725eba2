//! Settings that bound what one client can take: how long a connection may spend sending a
//! request head, how many connections are served at once, and how many requests an API key
//! makes per minute by tier. Each is a flag and an environment variable like every setting;
//! an invalid value stops the program before it listens, naming the setting.

use std::time::Duration;

use clap::Args;
use ringup_api::auth::api_key_rate::TierQuotas;

use super::{SettingError, parse_in_range};

pub const DEFAULT_HEADER_READ_TIMEOUT: &str = "10";
pub const DEFAULT_MAX_CONNECTIONS: &str = "1024";
pub const DEFAULT_API_KEY_RATE_FREE: &str = "60";
pub const DEFAULT_API_KEY_RATE_BASIC: &str = "600";
pub const DEFAULT_API_KEY_RATE_PRO: &str = "6000";
pub const DEFAULT_API_KEY_RATE_ENTERPRISE: &str = "60000";

/// The most requests per minute a tier may be given: a hundred times `enterprise`. A larger
/// quota is no limit at all, and is more likely a typo.
const MAX_RATE_PER_MINUTE: u32 = 6_000_000;

/// Client limits as given, before validation.
#[derive(Debug, Args, Clone, Default)]
pub struct RawLimits {
    /// Seconds a connection gets to send a whole request head, and to stay idle between
    /// requests on a kept-alive connection; then it is closed.
    #[arg(long, env = "RINGUP_HEADER_READ_TIMEOUT", global = true, default_value = DEFAULT_HEADER_READ_TIMEOUT)]
    pub header_read_timeout: String,
    /// Connections served at once; further ones wait in the listen backlog until one closes.
    #[arg(long, env = "RINGUP_MAX_CONNECTIONS", global = true, default_value = DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: String,
    /// Requests per minute of a `free` API key (burst: a tenth, at least 10).
    #[arg(long, env = "RINGUP_API_KEY_RATE_FREE", global = true, default_value = DEFAULT_API_KEY_RATE_FREE)]
    pub api_key_rate_free: String,
    /// Requests per minute of a `basic` API key.
    #[arg(long, env = "RINGUP_API_KEY_RATE_BASIC", global = true, default_value = DEFAULT_API_KEY_RATE_BASIC)]
    pub api_key_rate_basic: String,
    /// Requests per minute of a `pro` API key.
    #[arg(long, env = "RINGUP_API_KEY_RATE_PRO", global = true, default_value = DEFAULT_API_KEY_RATE_PRO)]
    pub api_key_rate_pro: String,
    /// Requests per minute of an `enterprise` API key.
    #[arg(long, env = "RINGUP_API_KEY_RATE_ENTERPRISE", global = true, default_value = DEFAULT_API_KEY_RATE_ENTERPRISE)]
    pub api_key_rate_enterprise: String,
}

/// Validated client limits.
#[derive(Clone, Debug)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub max_connections: usize,
    pub api_key_rates: TierQuotas,
}

impl RawLimits {
    pub fn defaults() -> RawLimits {
        RawLimits {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT.into(),
            max_connections: DEFAULT_MAX_CONNECTIONS.into(),
            api_key_rate_free: DEFAULT_API_KEY_RATE_FREE.into(),
            api_key_rate_basic: DEFAULT_API_KEY_RATE_BASIC.into(),
            api_key_rate_pro: DEFAULT_API_KEY_RATE_PRO.into(),
            api_key_rate_enterprise: DEFAULT_API_KEY_RATE_ENTERPRISE.into(),
        }
    }
}

impl Limits {
    pub fn from_raw(raw: &RawLimits) -> Result<Limits, SettingError> {
        let header_read_timeout = Duration::from_secs(parse_in_range(
            &raw.header_read_timeout,
            1..=3600,
            "RINGUP_HEADER_READ_TIMEOUT",
            "header-read-timeout",
        )?);
        let max_connections = parse_in_range(
            &raw.max_connections,
            1..=1_000_000,
            "RINGUP_MAX_CONNECTIONS",
            "max-connections",
        )?;
        let rate = |text: &str, variable, flag| {
            parse_in_range(text, 1..=MAX_RATE_PER_MINUTE, variable, flag)
        };
        let api_key_rates = TierQuotas {
            free: rate(
                &raw.api_key_rate_free,
                "RINGUP_API_KEY_RATE_FREE",
                "api-key-rate-free",
            )?,
            basic: rate(
                &raw.api_key_rate_basic,
                "RINGUP_API_KEY_RATE_BASIC",
                "api-key-rate-basic",
            )?,
            pro: rate(
                &raw.api_key_rate_pro,
                "RINGUP_API_KEY_RATE_PRO",
                "api-key-rate-pro",
            )?,
            enterprise: rate(
                &raw.api_key_rate_enterprise,
                "RINGUP_API_KEY_RATE_ENTERPRISE",
                "api-key-rate-enterprise",
            )?,
        };
        Ok(Limits {
            header_read_timeout,
            max_connections,
            api_key_rates,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let limits = Limits::from_raw(&RawLimits::defaults()).unwrap();
        assert_eq!(limits.header_read_timeout, Duration::from_secs(10));
        assert_eq!(limits.max_connections, 1024);
        assert_eq!(limits.api_key_rates, TierQuotas::default());
        assert_eq!(
            (
                limits.api_key_rates.free,
                limits.api_key_rates.basic,
                limits.api_key_rates.pro,
                limits.api_key_rates.enterprise
            ),
            (60, 600, 6_000, 60_000)
        );
    }

    #[test]
    fn each_invalid_limit_is_named() {
        let raw = RawLimits::defaults;
        let cases = [
            (
                RawLimits {
                    header_read_timeout: "0".into(),
                    ..raw()
                },
                "RINGUP_HEADER_READ_TIMEOUT",
            ),
            (
                RawLimits {
                    header_read_timeout: "1.5s".into(),
                    ..raw()
                },
                "RINGUP_HEADER_READ_TIMEOUT",
            ),
            (
                RawLimits {
                    max_connections: "0".into(),
                    ..raw()
                },
                "RINGUP_MAX_CONNECTIONS",
            ),
            (
                RawLimits {
                    api_key_rate_free: "-1".into(),
                    ..raw()
                },
                "RINGUP_API_KEY_RATE_FREE",
            ),
            (
                RawLimits {
                    api_key_rate_basic: "ten".into(),
                    ..raw()
                },
                "RINGUP_API_KEY_RATE_BASIC",
            ),
            (
                RawLimits {
                    api_key_rate_pro: "".into(),
                    ..raw()
                },
                "RINGUP_API_KEY_RATE_PRO",
            ),
            (
                RawLimits {
                    api_key_rate_enterprise: "6000001".into(),
                    ..raw()
                },
                "RINGUP_API_KEY_RATE_ENTERPRISE",
            ),
        ];
        for (raw, variable) in cases {
            let err = Limits::from_raw(&raw).unwrap_err();
            assert_eq!(err.variable, variable, "{err}");
            assert!(err.to_string().starts_with("invalid setting "), "{err}");
        }
    }
}
