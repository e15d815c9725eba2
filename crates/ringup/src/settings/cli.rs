//! The command line: the subcommands, and every setting as given (text, before validation) with
//! its flag, its environment variable and its default.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use super::{RawBackup, RawEvents, RawLimits};

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
    /// Check the stock ledger (every level equals the sum of its movements, no `available`
    /// negative where the store forbids it), the stored ranges and the report rollups (equal
    /// to a recomputation from the sales); exit 1 listing offenders.
    Check,
    /// Fill an empty database with a demo chain (3 stores, 500 products, users of every
    /// role, 30 days of sales) and print how to log in; exit 1 on a database that holds data.
    Demo,
    /// Report rollup tools.
    Rollups {
        #[command(subcommand)]
        command: RollupsCommand,
    },
    /// Write a consistent backup of the configured database (safe while ringup serves) to
    /// `ringup-<UTC time>.backup` and print its path.
    Backup {
        /// The directory to write it to (default: the backup directory,
        /// `<data dir>/backups`).
        #[arg(long, value_name = "DIR")]
        to: Option<PathBuf>,
    },
    /// Restore a backup into the configured database, then check the stock ledger, the
    /// stored ranges, the report rollups and the audit chains; exit 0 only if all pass.
    /// A database that holds data is refused unless `--force`.
    Restore {
        /// The backup file.
        file: PathBuf,
        /// Replace the data the database holds.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand, Clone, PartialEq, Eq)]
pub enum RollupsCommand {
    /// Recompute the report rollups from the sales and returns (safe while ringup serves:
    /// sales wait for it, none is lost or counted twice).
    Rebuild,
}

#[derive(Debug, Subcommand, Clone, PartialEq, Eq)]
pub enum AuditCommand {
    /// Re-compute every hash chain; exit 0 when intact, 1 naming the first broken event.
    Verify,
}

pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "./data";
pub const DEFAULT_ADMIN_USERNAME: &str = "admin";
pub const DEFAULT_LOG: &str = "info";
pub const DEFAULT_MAIL_FROM: &str = "ringup@localhost";
pub const DEFAULT_DB_MAX_CONNECTIONS: &str = "8";
pub const DEFAULT_BODY_LIMIT: &str = "1048576";
pub const DEFAULT_SQLITE_SYNCHRONOUS: &str = "full";
pub const DEFAULT_WRITE_QUEUE: &str = "1024";
pub const DEFAULT_REPORT_LANE: &str = "1";
pub const DEFAULT_REQUEST_TIMEOUT: &str = "30";
pub const DEFAULT_SMTP_TIMEOUT: &str = "10";
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
    /// Base URL of an OTLP/HTTP collector (e.g. http://127.0.0.1:4318): spans of requests and
    /// database transactions are sent to <url>/v1/traces. Unset: no traces.
    #[arg(
        long,
        env = "OTEL_EXPORTER_OTLP_ENDPOINT",
        global = true,
        hide_env_values = true
    )]
    pub otel_exporter_otlp_endpoint: Option<String>,
    /// Comma-separated origins allowed by CORS (none by default; never a wildcard).
    #[arg(long, env = "RINGUP_CORS_ORIGINS", global = true)]
    pub cors_origins: Option<String>,
    /// Outgoing mail server, `smtp://…` or `smtps://…` (default: write .eml files to
    /// <data dir>/mail).
    #[arg(long, env = "RINGUP_SMTP_URL", global = true, hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// Seconds one mail's sending may take (1–60) before the attempt fails and the mail is
    /// retried later. Mail is sent from a queue: a slow server never holds up a request.
    #[arg(long, env = "RINGUP_SMTP_TIMEOUT", global = true, default_value = DEFAULT_SMTP_TIMEOUT)]
    pub smtp_timeout: String,
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
    /// When an answered write is safe on SQLite: `full` syncs every group commit, so an
    /// answered sale survives a power cut; `normal` syncs only at checkpoints (faster, but a
    /// power cut or OS crash can lose the last answered writes; a crash of ringup cannot).
    #[arg(long, env = "RINGUP_SQLITE_SYNCHRONOUS", global = true, default_value = DEFAULT_SQLITE_SYNCHRONOUS)]
    pub sqlite_synchronous: String,
    /// Writes queued for SQLite's writer before new ones are refused with 503 + Retry-After.
    #[arg(long, env = "RINGUP_WRITE_QUEUE", global = true, default_value = DEFAULT_WRITE_QUEUE)]
    pub write_queue: String,
    /// Reports and exports made at once (the report lane); more wait up to 10 s, then get 503
    /// and Retry-After. Each takes a core while it renders: keep it below the cores the tills
    /// need.
    #[arg(long, env = "RINGUP_REPORT_LANE", global = true, default_value = DEFAULT_REPORT_LANE)]
    pub report_lane: String,
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
    #[command(flatten)]
    pub backup: RawBackup,
    #[command(flatten)]
    pub events: RawEvents,
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
            smtp_timeout: DEFAULT_SMTP_TIMEOUT.into(),
            db_max_connections: DEFAULT_DB_MAX_CONNECTIONS.into(),
            sqlite_synchronous: DEFAULT_SQLITE_SYNCHRONOUS.into(),
            write_queue: DEFAULT_WRITE_QUEUE.into(),
            report_lane: DEFAULT_REPORT_LANE.into(),
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
            backup: RawBackup::defaults(),
            events: RawEvents::defaults(),
            ..RawSettings::default()
        }
    }
}
