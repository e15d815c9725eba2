//! Settings: every one is a flag and an environment variable; a `.env` file in the working
//! directory is read too. A flag beats the environment, which beats `.env`, which beats the
//! default (clap reads the environment; `.env` only fills variables that are not set).
//!
//! Values are parsed into typed settings by [`Settings::from_cli`]; an invalid value stops the
//! program before it listens, with one line naming the variable and the flag.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use ringup_store::DatabaseUrl;
use url::Url;

mod limits;
pub use limits::{Limits, RawLimits};

#[derive(Debug, Parser)]
#[command(
    name = "ringup",
    version,
    about = "ringup: a multi-store point-of-sale backend"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub settings: RawSettings,
}

#[derive(Debug, Subcommand, Clone, PartialEq, Eq)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Audit-log tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Check the stock ledger: every level equals the sum of its movements and no `available`
    /// is negative where the store does not allow it; exit 1 listing offenders.
    Check,
}

#[derive(Debug, Subcommand, Clone, PartialEq, Eq)]
pub enum AuditCommand {
    /// Re-compute every hash chain; exit 0 when intact, 1 naming the first broken event.
    Verify,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "./data";
pub const DEFAULT_ADMIN_USERNAME: &str = "admin";
pub const DEFAULT_LOG: &str = "info";
pub const DEFAULT_MAIL_FROM: &str = "ringup@localhost";
pub const DEFAULT_DB_MAX_CONNECTIONS: &str = "8";
pub const DEFAULT_BODY_LIMIT: &str = "1048576";
pub const DEFAULT_REQUEST_TIMEOUT: &str = "30";
pub const DEFAULT_SHUTDOWN_GRACE: &str = "20";
pub const DEFAULT_HSTS: &str = "false";
pub const DEFAULT_ADMIN_EMAIL: &str = "admin@ringup.invalid";
pub const DEFAULT_LOGIN_RATE: &str = "30";
pub const DEFAULT_RESET_RATE: &str = "3";
pub const DEFAULT_LOCKOUT_FAILURES: &str = "5";
pub const DEFAULT_LOCKOUT_MINUTES: &str = "5";

/// Settings as given, before validation. Every field is a flag and an environment variable.
#[derive(Debug, Args, Clone, Default)]
pub struct RawSettings {
    /// Listen address.
    #[arg(long, env = "RINGUP_BIND", global = true, default_value = DEFAULT_BIND)]
    pub bind: String,
    /// Data directory: SQLite file, generated secret, mail drop, backups.
    #[arg(long, env = "RINGUP_DATA_DIR", global = true, default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…` (default: sqlite://<data dir>/ringup.db).
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// Token signing secret, at least 32 characters (default: generated once, kept in the data
    /// directory).
    #[arg(long, env = "RINGUP_SECRET", global = true, hide_env_values = true)]
    pub secret: Option<String>,
    /// Username of the first admin, created only when there are no users.
    #[arg(long, env = "RINGUP_ADMIN_USERNAME", global = true, default_value = DEFAULT_ADMIN_USERNAME)]
    pub admin_username: String,
    /// Password of the first admin (default: random, printed once).
    #[arg(
        long,
        env = "RINGUP_ADMIN_PASSWORD",
        global = true,
        hide_env_values = true
    )]
    pub admin_password: Option<String>,
    /// Log filter (tracing `EnvFilter` syntax).
    #[arg(long, env = "RINGUP_LOG", global = true, default_value = DEFAULT_LOG)]
    pub log: String,
    /// Log format: text or json (default: text on a terminal, else json).
    #[arg(long, env = "RINGUP_LOG_FORMAT", global = true)]
    pub log_format: Option<String>,
    /// Comma-separated origins allowed by CORS (none by default; never a wildcard).
    #[arg(long, env = "RINGUP_CORS_ORIGINS", global = true)]
    pub cors_origins: Option<String>,
    /// Outgoing mail server, `smtp://…` or `smtps://…` (default: write .eml files to
    /// <data dir>/mail).
    #[arg(long, env = "RINGUP_SMTP_URL", global = true, hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// Sender address of outgoing mail.
    #[arg(long, env = "RINGUP_MAIL_FROM", global = true, default_value = DEFAULT_MAIL_FROM)]
    pub mail_from: String,
    /// The address people reach ringup at, for links in mail (default: http://<bind>).
    #[arg(long, env = "RINGUP_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// Redis URL (redis:// or rediss://), checked but not used yet: shared limits and
    /// revocations across nodes come later; until then each node keeps its own.
    #[arg(long, env = "REDIS_URL", global = true, hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Database connections (read connections on SQLite).
    #[arg(long, env = "RINGUP_DB_MAX_CONNECTIONS", global = true, default_value = DEFAULT_DB_MAX_CONNECTIONS)]
    pub db_max_connections: String,
    /// Largest request body in bytes.
    #[arg(long, env = "RINGUP_BODY_LIMIT", global = true, default_value = DEFAULT_BODY_LIMIT)]
    pub body_limit: String,
    /// Seconds a request may take before it is abandoned (408).
    #[arg(long, env = "RINGUP_REQUEST_TIMEOUT", global = true, default_value = DEFAULT_REQUEST_TIMEOUT)]
    pub request_timeout: String,
    /// Seconds requests in flight get to finish after SIGTERM / Ctrl-C.
    #[arg(long, env = "RINGUP_SHUTDOWN_GRACE", global = true, default_value = DEFAULT_SHUTDOWN_GRACE)]
    pub shutdown_grace: String,
    /// E-mail address of the first admin.
    #[arg(long, env = "RINGUP_ADMIN_EMAIL", global = true, default_value = DEFAULT_ADMIN_EMAIL)]
    pub admin_email: String,
    /// Login requests per client IP per minute.
    #[arg(long, env = "RINGUP_LOGIN_RATE_PER_MINUTE", global = true, default_value = DEFAULT_LOGIN_RATE)]
    pub login_rate_per_minute: String,
    /// Password-reset requests per hour, per client IP and per address.
    #[arg(long, env = "RINGUP_PASSWORD_RESET_RATE_PER_HOUR", global = true, default_value = DEFAULT_RESET_RATE)]
    pub password_reset_rate_per_hour: String,
    /// Failed logins of one username (within the lockout window) that lock it.
    #[arg(long, env = "RINGUP_LOCKOUT_FAILURES", global = true, default_value = DEFAULT_LOCKOUT_FAILURES)]
    pub lockout_failures: String,
    /// Minutes of the failure window and of the lockout.
    #[arg(long, env = "RINGUP_LOCKOUT_MINUTES", global = true, default_value = DEFAULT_LOCKOUT_MINUTES)]
    pub lockout_minutes: String,
    /// Send Strict-Transport-Security (set when ringup is served over TLS).
    #[arg(long, env = "RINGUP_HSTS", global = true, default_value = DEFAULT_HSTS)]
    pub hsts: String,
    #[command(flatten)]
    pub limits: RawLimits,
}

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
    pub cors_origins: Vec<Url>,
    pub smtp_url: Option<RedactedUrl>,
    pub mail_from: String,
    pub public_url: Url,
    pub redis_url: Option<RedactedUrl>,
    pub db_max_connections: u32,
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
}

/// A URL that may carry a password: shown with the password replaced by `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct RedactedUrl(Url);

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

/// One invalid setting: which one and why.
#[derive(Debug, PartialEq, Eq)]
pub struct SettingError {
    pub variable: &'static str,
    pub flag: &'static str,
    pub message: String,
}

impl fmt::Display for SettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid setting {} (--{}): {}",
            self.variable, self.flag, self.message
        )
    }
}

impl std::error::Error for SettingError {}

fn invalid(variable: &'static str, flag: &'static str, message: impl Into<String>) -> SettingError {
    SettingError {
        variable,
        flag,
        message: message.into(),
    }
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
        Ok(Settings {
            limits,
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
            cors_origins,
            smtp_url,
            mail_from,
            public_url,
            redis_url,
            db_max_connections,
            body_limit,
            request_timeout,
            shutdown_grace,
            hsts,
        })
    }
}

impl RawSettings {
    /// The defaults, as if no flag, variable or `.env` entry were given.
    pub fn defaults() -> RawSettings {
        RawSettings {
            bind: DEFAULT_BIND.into(),
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            admin_username: DEFAULT_ADMIN_USERNAME.into(),
            log: DEFAULT_LOG.into(),
            mail_from: DEFAULT_MAIL_FROM.into(),
            db_max_connections: DEFAULT_DB_MAX_CONNECTIONS.into(),
            body_limit: DEFAULT_BODY_LIMIT.into(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT.into(),
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE.into(),
            hsts: DEFAULT_HSTS.into(),
            admin_email: DEFAULT_ADMIN_EMAIL.into(),
            login_rate_per_minute: DEFAULT_LOGIN_RATE.into(),
            password_reset_rate_per_hour: DEFAULT_RESET_RATE.into(),
            lockout_failures: DEFAULT_LOCKOUT_FAILURES.into(),
            lockout_minutes: DEFAULT_LOCKOUT_MINUTES.into(),
            limits: RawLimits::defaults(),
            ..RawSettings::default()
        }
    }
}

fn parse_in_range<T>(
    text: &str,
    range: std::ops::RangeInclusive<T>,
    variable: &'static str,
    flag: &'static str,
) -> Result<T, SettingError>
where
    T: std::str::FromStr + PartialOrd + fmt::Display,
{
    match text.trim().parse::<T>() {
        Ok(value) if range.contains(&value) => Ok(value),
        _ => Err(invalid(
            variable,
            flag,
            format!(
                "`{text}` is not a whole number from {} to {}",
                range.start(),
                range.end()
            ),
        )),
    }
}

/// CORS origins: `scheme://host[:port]` each, no paths, never `*`.
fn parse_origins(text: Option<&str>) -> Result<Vec<Url>, SettingError> {
    let err = |m: String| invalid("RINGUP_CORS_ORIGINS", "cors-origins", m);
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|origin| {
            if origin == "*" {
                return Err(err("a wildcard is not allowed; list the origins".to_owned()));
            }
            let url = Url::parse(origin).map_err(|e| err(format!("`{origin}`: {e}")))?;
            let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
            if !matches!(url.scheme(), "http" | "https") || !url.has_host() || !bare {
                return Err(err(format!(
                    "`{origin}` is not an origin like https://shop.example.com"
                )));
            }
            Ok(url)
        })
        .collect()
}

/// The origin as browsers send it in `Origin`: no trailing slash.
pub fn origin_text(url: &Url) -> String {
    url.origin().ascii_serialization()
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
                    smtp_url: Some("http://mail".into()),
                    ..raw()
                },
                "RINGUP_SMTP_URL",
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

    #[test]
    fn origins_are_normalised_for_comparison() {
        let origins =
            parse_origins(Some("https://shop.example.com, http://localhost:3000")).unwrap();
        let texts: Vec<_> = origins.iter().map(origin_text).collect();
        assert_eq!(texts, ["https://shop.example.com", "http://localhost:3000"]);
    }
}
