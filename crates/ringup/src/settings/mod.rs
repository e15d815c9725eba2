//! Settings: every one is a flag and an environment variable; a `.env` file in the working
//! directory is read too. A flag beats the environment, which beats `.env`, which beats the
//! default (clap reads the environment; `.env` only fills variables that are not set).
//!
//! Values are parsed into typed settings by [`Settings::from_cli`]; an invalid value stops the
//! program before it listens, with one line naming the variable and the flag.
//!
//! What is where: the command line and every setting as given (`cli`), how an invalid one is
//! reported (`error`), the values that must never be printed (`secret`), CORS origins
//! (`origins`), and the limits on what one client can take (`limits`); the validated
//! [`Settings`] and their validation are here.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::ValueEnum;
use ringup_store::{DatabaseUrl, Durability};
use url::Url;

pub use backup::{BackupSettings, RawBackup};
pub use cli::{
    AuditCommand, Cli, Command, DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_USERNAME, DEFAULT_BIND,
    DEFAULT_BODY_LIMIT, DEFAULT_DATA_DIR, DEFAULT_DB_MAX_CONNECTIONS, DEFAULT_HSTS,
    DEFAULT_LOCKOUT_FAILURES, DEFAULT_LOCKOUT_MINUTES, DEFAULT_LOG, DEFAULT_LOGIN_RATE,
    DEFAULT_MAIL_FROM, DEFAULT_REQUEST_TIMEOUT, DEFAULT_RESET_RATE, DEFAULT_SHUTDOWN_GRACE,
    DEFAULT_SMTP_TIMEOUT, RawSettings, RollupsCommand,
};
pub use error::SettingError;
use error::{invalid, parse_in_range};
pub use events::{EventSettings, RawEvents};
pub use limits::{Limits, RawLimits};
pub use origins::origin_text;
use origins::parse_origins;
pub use otlp::OtlpEndpoint;
use otlp::parse_otlp_endpoint;
pub use secret::{RedactedUrl, Secret};

mod backup;
mod cli;
mod error;
mod events;
mod limits;
mod origins;
mod otlp;
mod secret;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Validated settings.
#[derive(Clone, Debug)]
pub struct Settings {
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: DatabaseUrl,
    /// `None`: read or generate `<data dir>/secret` at start.
    pub secret: Option<Secret>,
    pub admin_username: String,
    pub admin_password: Option<Secret>,
    pub log: String,
    pub log_format: LogFormat,
    /// Where traces are exported (`None`: nowhere).
    pub otlp_endpoint: Option<OtlpEndpoint>,
    pub cors_origins: Vec<Url>,
    pub smtp_url: Option<RedactedUrl>,
    /// How long sending one mail may take (each SMTP exchange, and the whole send).
    pub smtp_timeout: Duration,
    pub mail_from: String,
    pub public_url: Url,
    pub redis_url: Option<RedactedUrl>,
    pub db_max_connections: u32,
    pub sqlite_synchronous: Durability,
    pub write_queue: usize,
    pub report_lane: usize,
    pub body_limit: usize,
    pub request_timeout: Duration,
    pub shutdown_grace: Duration,
    pub hsts: bool,
    pub admin_email: String,
    pub login_rate_per_minute: u32,
    pub password_reset_rate_per_hour: u32,
    pub lockout_failures: u32,
    pub lockout_minutes: u32,
    pub limits: Limits,
    pub backup: BackupSettings,
    pub events: EventSettings,
}

pub const MIN_SECRET_LEN: usize = 32;

impl Settings {
    /// Validates raw settings. `stdout_is_terminal` picks the default log format.
    pub fn from_cli(raw: &RawSettings, stdout_is_terminal: bool) -> Result<Settings, SettingError> {
        let bind: SocketAddr = raw.bind.parse().map_err(|_| {
            invalid(
                "RINGUP_BIND",
                "bind",
                format!("`{}` is not an address like 127.0.0.1:8080", raw.bind),
            )
        })?;
        let data_dir = raw.data_dir.clone();
        if data_dir.as_os_str().is_empty() {
            return Err(invalid("RINGUP_DATA_DIR", "data-dir", "must not be empty"));
        }
        let database_url = match &raw.database_url {
            Some(text) if !text.trim().is_empty() => DatabaseUrl::parse(text.trim())
                .map_err(|e| invalid("DATABASE_URL", "database-url", e.to_string()))?,
            _ => DatabaseUrl::sqlite_file(&data_dir.join("ringup.db"))
                .map_err(|e| invalid("RINGUP_DATA_DIR", "data-dir", e.to_string()))?,
        };
        let secret = match &raw.secret {
            Some(text) if text.chars().count() < MIN_SECRET_LEN => {
                return Err(invalid(
                    "RINGUP_SECRET",
                    "secret",
                    format!("must be at least {MIN_SECRET_LEN} characters"),
                ));
            }
            Some(text) => Some(Secret::new(text.clone())),
            None => None,
        };
        let admin_username = raw.admin_username.trim().to_owned();
        if admin_username.is_empty() {
            return Err(invalid(
                "RINGUP_ADMIN_USERNAME",
                "admin-username",
                "must not be empty",
            ));
        }
        let log_format = match raw.log_format.as_deref().map(str::trim) {
            None | Some("") => {
                if stdout_is_terminal {
                    LogFormat::Text
                } else {
                    LogFormat::Json
                }
            }
            Some(text) => LogFormat::from_str(text, true).map_err(|_| {
                invalid(
                    "RINGUP_LOG_FORMAT",
                    "log-format",
                    format!("`{text}` is not `text` or `json`"),
                )
            })?,
        };
        tracing_subscriber::EnvFilter::try_new(&raw.log)
            .map_err(|e| invalid("RINGUP_LOG", "log", e.to_string()))?;
        let otlp_endpoint = parse_otlp_endpoint(raw.otel_exporter_otlp_endpoint.as_deref())?;
        let cors_origins = parse_origins(raw.cors_origins.as_deref())?;
        let smtp_url = match raw.smtp_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => {
                let url = Url::parse(text).map_err(|e| {
                    invalid("RINGUP_SMTP_URL", "smtp-url", format!("not a URL: {e}"))
                })?;
                if !matches!(url.scheme(), "smtp" | "smtps") {
                    return Err(invalid(
                        "RINGUP_SMTP_URL",
                        "smtp-url",
                        format!("scheme `{}` is not smtp or smtps", url.scheme()),
                    ));
                }
                Some(RedactedUrl(url))
            }
        };
        let mail_from = raw.mail_from.trim().to_owned();
        if !mail_from.contains('@') {
            return Err(invalid(
                "RINGUP_MAIL_FROM",
                "mail-from",
                format!("`{mail_from}` is not an e-mail address"),
            ));
        }
        let public_url = match raw.public_url.as_deref().map(str::trim) {
            None | Some("") => Url::parse(&format!("http://{bind}"))
                .map_err(|e| invalid("RINGUP_PUBLIC_URL", "public-url", e.to_string()))?,
            Some(text) => {
                let url = Url::parse(text).map_err(|e| {
                    invalid("RINGUP_PUBLIC_URL", "public-url", format!("not a URL: {e}"))
                })?;
                if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
                    return Err(invalid(
                        "RINGUP_PUBLIC_URL",
                        "public-url",
                        "must be an http:// or https:// address",
                    ));
                }
                url
            }
        };
        let redis_url = match raw.redis_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => {
                let url = Url::parse(text)
                    .map_err(|e| invalid("REDIS_URL", "redis-url", format!("not a URL: {e}")))?;
                if !matches!(url.scheme(), "redis" | "rediss") {
                    return Err(invalid(
                        "REDIS_URL",
                        "redis-url",
                        format!("scheme `{}` is not redis or rediss", url.scheme()),
                    ));
                }
                Some(RedactedUrl(url))
            }
        };
        let db_max_connections = parse_in_range(
            &raw.db_max_connections,
            1..=1000,
            "RINGUP_DB_MAX_CONNECTIONS",
            "db-max-connections",
        )?;
        let sqlite_synchronous = raw
            .sqlite_synchronous
            .parse::<Durability>()
            .map_err(|e| invalid("RINGUP_SQLITE_SYNCHRONOUS", "sqlite-synchronous", e))?;
        let write_queue = parse_in_range(
            &raw.write_queue,
            1..=1_000_000,
            "RINGUP_WRITE_QUEUE",
            "write-queue",
        )?;
        let report_lane = parse_in_range(
            &raw.report_lane,
            1..=64,
            "RINGUP_REPORT_LANE",
            "report-lane",
        )?;
        let body_limit = parse_in_range(
            &raw.body_limit,
            1024..=(64 * 1024 * 1024),
            "RINGUP_BODY_LIMIT",
            "body-limit",
        )?;
        let request_timeout = Duration::from_secs(parse_in_range(
            &raw.request_timeout,
            1..=3600,
            "RINGUP_REQUEST_TIMEOUT",
            "request-timeout",
        )?);
        let smtp_timeout = Duration::from_secs(parse_in_range(
            &raw.smtp_timeout,
            // Below the mail queue's 2-minute claim lease, so no other node takes a mail
            // that is still being sent.
            1..=60,
            "RINGUP_SMTP_TIMEOUT",
            "smtp-timeout",
        )?);
        let shutdown_grace = Duration::from_secs(parse_in_range(
            &raw.shutdown_grace,
            0..=3600,
            "RINGUP_SHUTDOWN_GRACE",
            "shutdown-grace",
        )?);
        let hsts = match raw.hsts.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" | "" => false,
            other => {
                return Err(invalid(
                    "RINGUP_HSTS",
                    "hsts",
                    format!("`{other}` is not true or false"),
                ));
            }
        };
        let admin_email = raw.admin_email.trim().to_owned();
        if !admin_email.contains('@') {
            return Err(invalid(
                "RINGUP_ADMIN_EMAIL",
                "admin-email",
                format!("`{admin_email}` is not an e-mail address"),
            ));
        }
        let login_rate_per_minute = parse_in_range(
            &raw.login_rate_per_minute,
            1..=100_000,
            "RINGUP_LOGIN_RATE_PER_MINUTE",
            "login-rate-per-minute",
        )?;
        let password_reset_rate_per_hour = parse_in_range(
            &raw.password_reset_rate_per_hour,
            1..=100_000,
            "RINGUP_PASSWORD_RESET_RATE_PER_HOUR",
            "password-reset-rate-per-hour",
        )?;
        let lockout_failures = parse_in_range(
            &raw.lockout_failures,
            1..=1000,
            "RINGUP_LOCKOUT_FAILURES",
            "lockout-failures",
        )?;
        let lockout_minutes = parse_in_range(
            &raw.lockout_minutes,
            1..=1440,
            "RINGUP_LOCKOUT_MINUTES",
            "lockout-minutes",
        )?;
        let limits = Limits::from_raw(&raw.limits)?;
        let backup = BackupSettings::from_raw(&raw.backup, &data_dir)?;
        let events = EventSettings::from_raw(&raw.events)?;
        Ok(Settings {
            events,
            limits,
            backup,
            admin_email,
            login_rate_per_minute,
            password_reset_rate_per_hour,
            lockout_failures,
            lockout_minutes,
            bind,
            data_dir,
            database_url,
            secret,
            admin_username,
            admin_password: raw.admin_password.clone().map(Secret::new),
            log: raw.log.clone(),
            log_format,
            otlp_endpoint,
            cors_origins,
            smtp_url,
            smtp_timeout,
            mail_from,
            public_url,
            redis_url,
            db_max_connections,
            sqlite_synchronous,
            write_queue,
            report_lane,
            body_limit,
            request_timeout,
            shutdown_grace,
            hsts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawSettings {
        RawSettings::defaults()
    }

    fn error_of(raw: RawSettings) -> SettingError {
        Settings::from_cli(&raw, false).unwrap_err()
    }

    #[test]
    fn defaults_are_valid() {
        let s = Settings::from_cli(&raw(), false).unwrap();
        assert_eq!(s.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(s.report_lane, 1);
        assert_eq!(s.database_url.expose(), "sqlite://./data/ringup.db");
        assert_eq!(s.public_url.as_str(), "http://127.0.0.1:8080/");
        assert_eq!(s.log_format, LogFormat::Json);
        assert_eq!(s.body_limit, 1024 * 1024);
        assert!(s.cors_origins.is_empty());
    }

    #[test]
    fn each_invalid_setting_is_named() {
        let cases: Vec<(RawSettings, &str)> = vec![
            (
                RawSettings {
                    bind: "nope".into(),
                    ..raw()
                },
                "RINGUP_BIND",
            ),
            (
                RawSettings {
                    secret: Some("short".into()),
                    ..raw()
                },
                "RINGUP_SECRET",
            ),
            (
                RawSettings {
                    database_url: Some("mysql://x/y".into()),
                    ..raw()
                },
                "DATABASE_URL",
            ),
            (
                RawSettings {
                    cors_origins: Some("*".into()),
                    ..raw()
                },
                "RINGUP_CORS_ORIGINS",
            ),
            (
                RawSettings {
                    cors_origins: Some("https://a.example/path".into()),
                    ..raw()
                },
                "RINGUP_CORS_ORIGINS",
            ),
            (
                RawSettings {
                    log_format: Some("xml".into()),
                    ..raw()
                },
                "RINGUP_LOG_FORMAT",
            ),
            (
                RawSettings {
                    body_limit: "-1".into(),
                    ..raw()
                },
                "RINGUP_BODY_LIMIT",
            ),
            (
                RawSettings {
                    request_timeout: "0".into(),
                    ..raw()
                },
                "RINGUP_REQUEST_TIMEOUT",
            ),
            (
                RawSettings {
                    report_lane: "0".into(),
                    ..raw()
                },
                "RINGUP_REPORT_LANE",
            ),
            (
                RawSettings {
                    smtp_url: Some("http://mail".into()),
                    ..raw()
                },
                "RINGUP_SMTP_URL",
            ),
            (
                RawSettings {
                    smtp_timeout: "0".into(),
                    ..raw()
                },
                "RINGUP_SMTP_TIMEOUT",
            ),
            (
                RawSettings {
                    public_url: Some("ftp://x".into()),
                    ..raw()
                },
                "RINGUP_PUBLIC_URL",
            ),
            (
                RawSettings {
                    redis_url: Some("http://r".into()),
                    ..raw()
                },
                "REDIS_URL",
            ),
            (
                RawSettings {
                    hsts: "maybe".into(),
                    ..raw()
                },
                "RINGUP_HSTS",
            ),
            (
                RawSettings {
                    log: "[[[".into(),
                    ..raw()
                },
                "RINGUP_LOG",
            ),
        ];
        for (raw, variable) in cases {
            let err = error_of(raw);
            assert_eq!(err.variable, variable, "{err}");
            assert!(err.to_string().starts_with("invalid setting "), "{err}");
        }
    }

    #[test]
    fn debug_output_hides_secrets() {
        let settings = Settings::from_cli(
            &RawSettings {
                secret: Some("s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t".into()),
                admin_password: Some("Adm1n-Passw0rd!".into()),
                database_url: Some("postgres://ringup:dbpass123@db/ringup".into()),
                smtp_url: Some("smtp://mailer:smtppass456@mail:25".into()),
                redis_url: Some("redis://:redispass789@cache:6379".into()),
                ..raw()
            },
            false,
        )
        .unwrap();
        let shown = format!("{settings:?}");
        for secret in [
            "s3cr3t",
            "Adm1n-Passw0rd!",
            "dbpass123",
            "smtppass456",
            "redispass789",
        ] {
            assert!(!shown.contains(secret), "{secret} leaked: {shown}");
        }
    }
}
