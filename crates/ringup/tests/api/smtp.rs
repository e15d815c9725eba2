//! Real SMTP server processes for the mail tests: Python's `aiosmtpd` (installed with pip by
//! the test if missing) storing what it receives in a maildir, and a server that accepts
//! connections and never says a word (a hung SMTP server). Each process is killed when its
//! handle is dropped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tempfile::TempDir;
use tokio::process::{Child, Command};

use crate::auth::reset::{decode_message, files_in};

/// `aiosmtpd` listening on a loopback port, storing what it receives in a maildir.
pub struct SmtpServer {
    pub port: u16,
    pub maildir: PathBuf,
    _child: Child,
    _dir: TempDir,
}

pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

const AIOSMTPD_HINT: &str =
    "the SMTP tests need Python 3 with aiosmtpd: `python3 -m pip install aiosmtpd`";

/// Waits until something listens on `port`, or `child` exits (a panic naming `what`).
async fn wait_listening(child: &mut Child, port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("{what} exited ({status}) before listening on port {port}; {AIOSMTPD_HINT}");
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not listen on port {port} within 15 s; {AIOSMTPD_HINT}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `aiosmtpd` on a free loopback port.
pub async fn start_smtp_server() -> SmtpServer {
    start_smtp_server_on(free_port()).await
}

/// `aiosmtpd` on `port` (a server that comes up where ringup already points).
pub async fn start_smtp_server_on(port: u16) -> SmtpServer {
    crate::support::ensure_python_packages("aiosmtpd", &["aiosmtpd"]);
    let dir = TempDir::new().unwrap();
    let maildir = dir.path().join("maildir");
    let mut child = Command::new("python3")
        .args(["-m", "aiosmtpd", "-n", "-l"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(&maildir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start python3 ({e}); {AIOSMTPD_HINT}"));
    wait_listening(&mut child, port, "aiosmtpd").await;
    SmtpServer {
        port,
        maildir,
        _child: child,
        _dir: dir,
    }
}

/// A process that accepts SMTP connections on a free port and never answers: a client waits
/// for the greeting until its own timeout.
pub struct HungServer {
    pub port: u16,
    _child: Child,
}

pub async fn start_hung_server() -> HungServer {
    let port = free_port();
    let script = format!(
        "import socket, time\n\
         s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
         s.bind(('127.0.0.1', {port})); s.listen(64)\n\
         held = []\n\
         while True:\n    c, _ = s.accept(); held.append(c)\n"
    );
    let mut child = Command::new("python3")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    wait_listening(&mut child, port, "the hung SMTP server").await;
    HungServer {
        port,
        _child: child,
    }
}

/// A message a server received: its header block and decoded body (`\n` line ends).
#[derive(Clone, Debug)]
pub struct Received {
    pub headers: String,
    pub body: String,
}

impl Received {
    /// The value of header `name` (the first one), trimmed.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }

    /// Whether the SMTP envelope named `to` (aiosmtpd's `X-RcptTo`).
    pub fn is_to(&self, to: &str) -> bool {
        self.header("X-RcptTo")
            .is_some_and(|v| v.split(',').any(|r| r.trim() == to))
    }
}

/// Every message in `maildir`'s `new` folder.
pub fn received(maildir: &Path) -> Vec<Received> {
    files_in(&maildir.join("new"))
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .map(|raw| {
            let (headers, body) = decode_message(&raw);
            Received {
                headers,
                body: body.replace("\r\n", "\n"),
            }
        })
        .collect()
}

/// Waits (at most `patience`) until `maildir` holds a message that `wanted` picks.
pub async fn wait_for(
    maildir: &Path,
    patience: Duration,
    wanted: impl Fn(&Received) -> bool,
) -> Received {
    let deadline = Instant::now() + patience;
    loop {
        if let Some(found) = received(maildir).into_iter().find(|m| wanted(m)) {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "no such message within {patience:?}; received: {:#?}",
            received(maildir)
                .iter()
                .map(|m| m.header("Subject"))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
