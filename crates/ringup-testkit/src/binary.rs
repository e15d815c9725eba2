//! The real `ringup` binary serving a given database in a child process, for tests that need
//! the process itself (a kill, a restart, a restored database, the global logger).

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

/// A `ringup serve` child process; killed when dropped.
pub struct ServedBinary {
    pub child: Child,
    /// `http://127.0.0.1:<port>`
    pub address: String,
    pub client: reqwest::Client,
}

impl ServedBinary {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }
}

/// Starts `binary` serving `database_url` with `data_dir` (and the variables of `env`) on a
/// free loopback port, and waits until `/healthz` answers (30 s at most).
pub async fn serve_binary_at(
    binary: &Path,
    database_url: &str,
    data_dir: &Path,
    env: &[(&str, &str)],
) -> ServedBinary {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let address = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(binary)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RINGUP_BIND", format!("127.0.0.1:{port}"))
        .env("RINGUP_DATA_DIR", data_dir)
        .env("DATABASE_URL", database_url)
        .env("RINGUP_LOG", "warn")
        .envs(env.iter().copied())
        .arg("serve")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("ringup starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::get(format!("{address}/healthz")).await.is_err() {
        assert!(
            child.try_wait().expect("child status").is_none(),
            "ringup exited at start"
        );
        assert!(Instant::now() < deadline, "/healthz did not answer in 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    ServedBinary {
        child,
        address,
        client: reqwest::Client::new(),
    }
}
