//! The release `ringup` binary, run as a child process on loopback, so the throughput, latency
//! and memory measured are the server's own and not shared with the load generator or the
//! seeding.
//!
//! Invariants:
//! - The child gets its whole configuration from environment variables this module sets; any
//!   `RINGUP_*`, `DATABASE_URL` or `REDIS_URL` of the bench's own environment is removed, and it
//!   runs in the bench's temporary directory, so no `.env` file of the caller's working
//!   directory reaches it.
//! - A `ServerProcess` that is dropped without [`ServerProcess::stop`] (the bench failed half
//!   way) kills its child, by its own handle, so no server outlives the bench.

use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::common::ADMIN_PASSWORD;

/// How long the server gets to answer `/readyz` 200 after it is spawned.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// The server's shutdown grace: wrk has stopped when the server is stopped, so nothing is in
/// flight and this only bounds a misbehaving shutdown.
const SHUTDOWN_GRACE_SECS: u64 = 5;
/// How long to wait for the process to exit after SIGTERM before killing it.
const STOP_TIMEOUT: Duration = Duration::from_secs(SHUTDOWN_GRACE_SECS + 10);

/// The server binary the bench starts: `given`, else the `ringup` beside this executable (the
/// same cargo target directory and profile).
pub(super) fn ringup_binary(given: Option<&Path>) -> Result<PathBuf> {
    let path = match given {
        Some(path) => path.to_path_buf(),
        None => std::env::current_exe()
            .context("where this executable is")?
            .parent()
            .context("this executable has no directory")?
            .join("ringup"),
    };
    if !path.is_file() {
        bail!(
            "the server binary {} is missing: build both with `cargo build --release -p ringup \
             -p ringup-bench` (with the same CARGO_TARGET_DIR as this bench), or pass \
             --ringup-bin <path>",
            path.display()
        );
    }
    Ok(path)
}

/// What the child is started with.
pub(super) struct ServerConfig<'a> {
    pub(super) binary: &'a Path,
    /// The benchmark's database URL (the secret-bearing text, as the server needs it).
    pub(super) database_url: &'a str,
    /// The bench's temporary directory: the server's working directory, its data directory
    /// (`data/`) and its log (`server.log`) go there.
    pub(super) dir: &'a Path,
    pub(super) db_connections: u32,
    /// `RINGUP_SQLITE_SYNCHRONOUS` (`full`, the server's default, or `normal`).
    pub(super) sqlite_synchronous: &'a str,
}

/// The running server: its address, PID and log.
pub(super) struct ServerProcess {
    child: Option<Child>,
    pub(super) base: String,
    /// `host:port`, for the `Host` header of hand-built requests.
    pub(super) authority: String,
    pub(super) pid: u32,
    /// From spawning to the first `/readyz` 200 (a fresh database: migrations, the first
    /// admin's argon2 hash).
    pub(super) ready_after: Duration,
    log: PathBuf,
}

impl ServerProcess {
    /// Spawns the server on a free loopback port and waits until `/readyz` answers 200.
    pub(super) async fn start(config: &ServerConfig<'_>) -> Result<ServerProcess> {
        // A port free now; the server binds it a few milliseconds later. Should another process
        // take it in between, the server exits and the error below shows its log.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .context("find a free loopback port")?
            .port();
        let authority = format!("127.0.0.1:{port}");
        let log = config.dir.join("server.log");
        let out =
            std::fs::File::create(&log).with_context(|| format!("create {}", log.display()))?;
        let err = out.try_clone().context("server log")?;
        let mut command = std::process::Command::new(config.binary);
        for (key, _) in std::env::vars_os() {
            let name = key.to_string_lossy();
            if name.starts_with("RINGUP_") || name == "DATABASE_URL" || name == "REDIS_URL" {
                command.env_remove(&key);
            }
        }
        command
            .arg("serve")
            .current_dir(config.dir)
            .env("RINGUP_BIND", &authority)
            .env("RINGUP_DATA_DIR", config.dir.join("data"))
            .env("DATABASE_URL", config.database_url)
            .env(
                "RINGUP_ADMIN_USERNAME",
                ringup::settings::DEFAULT_ADMIN_USERNAME,
            )
            .env("RINGUP_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("RINGUP_SQLITE_SYNCHRONOUS", config.sqlite_synchronous)
            // The webhook phase's receiver listens on loopback.
            .env("RINGUP_WEBHOOKS_ALLOW_PRIVATE", "true")
            .env("RINGUP_LOG", "warn")
            .env("RINGUP_LOG_FORMAT", "text")
            // Every login of the setup comes from 127.0.0.1; the in-process server was given
            // the same.
            .env("RINGUP_LOGIN_RATE_PER_MINUTE", "100000")
            .env(
                "RINGUP_DB_MAX_CONNECTIONS",
                config.db_connections.to_string(),
            )
            .env("RINGUP_SHUTDOWN_GRACE", SHUTDOWN_GRACE_SECS.to_string())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let spawned = Instant::now();
        let child = command
            .spawn()
            .with_context(|| format!("start {}", config.binary.display()))?;
        let mut server = ServerProcess {
            pid: child.id(),
            child: Some(child),
            base: format!("http://{authority}"),
            authority,
            ready_after: Duration::ZERO,
            log,
        };
        server.wait_ready(spawned).await?;
        server.ready_after = spawned.elapsed();
        Ok(server)
    }

    async fn wait_ready(&mut self, spawned: Instant) -> Result<()> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(1))
            .build()?;
        let url = format!("{}/readyz", self.base);
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                self.child = None;
                bail!(
                    "the server exited ({status}) before it was ready; its log:\n{}",
                    self.log_tail()
                );
            }
            if let Ok(response) = client.get(&url).send().await
                && response.status() == reqwest::StatusCode::OK
            {
                return Ok(());
            }
            if spawned.elapsed() > READY_TIMEOUT {
                bail!(
                    "the server did not answer {url} with 200 within {} s; its log:\n{}",
                    READY_TIMEOUT.as_secs(),
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The last lines the server wrote (warnings and errors only: it logs at `warn`).
    pub(super) fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let from = lines.len().saturating_sub(20);
        lines
            .get(from..)
            .map(|tail| tail.join("\n"))
            .filter(|tail| !tail.is_empty())
            .unwrap_or_else(|| "(empty)".to_owned())
    }

    /// A size line of the server's `/proc/<pid>/status` (`VmHWM:`, `VmRSS:`) in MiB.
    pub(super) fn status_mib(&self, label: &str) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        let value = status.lines().find_map(|line| line.strip_prefix(label))?;
        let kib: f64 = value.trim().strip_suffix("kB")?.trim().parse().ok()?;
        Some(kib / 1024.0)
    }

    /// Resets the server's peak RSS (`VmHWM`) to its current RSS (`5` to its
    /// `/proc/<pid>/clear_refs`), so the peak read later is the load's and not the setup's
    /// argon2 hashes; `false` if the kernel refused.
    pub(super) fn reset_peak(&self) -> bool {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5").is_ok()
    }

    /// SIGTERM by PID (the `kill` command: no `unsafe`, no extra crate), then waits for the
    /// process to exit; kills it if it has not within the grace period plus a margin.
    pub(super) async fn stop(mut self) -> Result<ExitStatus> {
        let Some(mut child) = self.child.take() else {
            bail!("the server had already exited");
        };
        if let Some(status) = child.try_wait()? {
            bail!(
                "the server had exited ({status}) before it was stopped; its log:\n{}",
                self.log_tail()
            );
        }
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .context("run `kill -TERM`")?;
        if !sent.success() {
            let _ = child.kill();
            let _ = child.wait();
            bail!("`kill -TERM {}` failed ({sent})", self.pid);
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!(
                    "the server did not exit within {} s of SIGTERM and was killed; its log:\n{}",
                    STOP_TIMEOUT.as_secs(),
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
