//! The HTTP load, driven by wrk in a process of its own: the bench writes the sale bodies to a
//! file and a Lua script for each run, runs wrk, and reads back the line the script's `done()`
//! prints.
//!
//! What the script does, and why:
//! - Every body is read once in `init()` and turned into the request's fixed head and tail, so
//!   `request()` only joins three strings: wrk shares the two cores with the server, and
//!   building a request with `wrk.format` every time would take CPU from it.
//! - wrk does not tell a script which connection a request goes out on, so a client cannot be
//!   pinned to a register as the in-process driver did. Instead thread `t` of `T` walks bodies
//!   `t, t + T, t + 2T, …`, and body `k` is made for register `k % registers` (the register
//!   client `k` had): with an even register count the threads never share a register, and the
//!   connections of one thread take the registers in turn.
//! - Each request gets a fresh `Idempotency-Key`: the run's tag, the thread, a per-thread
//!   counter (these three make it unique) and a random number.
//! - `response()` counts answers by status, `request()` counts requests written; `done()`
//!   sums the threads' counts and prints one `RINGUP-WRK key=value …` line with the latency
//!   percentiles of wrk's own histogram (the one `--latency` prints) in microseconds.
//!
//! A request written but not answered when wrk stops (it closes its connections at the end of
//! the duration) may still have been committed by the server: `sent − answered` bounds how many
//! sales the database may hold beyond the 201s wrk counted. (`sent` also counts the one request
//! wrk asks of thread 0 before the run to check the script, which it never sends: a bound
//! one too loose per run.)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::SALES_PATH;

/// The command that installs wrk on Debian and Ubuntu.
pub(super) const INSTALL: &str = "apt-get install -y wrk";

/// wrk's path, or an error saying how to install it.
pub(super) fn find() -> Result<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("wrk"))
            .find(|candidate| candidate.is_file())
    });
    found.with_context(|| {
        format!(
            "wrk is not installed (not on PATH): the checkout bench drives HTTP with it. Install \
             it with `sudo {INSTALL}` (Debian/Ubuntu), or run scripts/bench-checkout.sh, which \
             installs it when it can"
        )
    })
}

/// Where and as whom the requests go.
pub(super) struct Target<'a> {
    pub(super) wrk: &'a Path,
    pub(super) base: &'a str,
    /// `host:port` for the `Host` header.
    pub(super) authority: &'a str,
    pub(super) token: &'a str,
    /// One JSON body per line.
    pub(super) bodies: &'a Path,
    /// Where the scripts are written.
    pub(super) dir: &'a Path,
}

/// One wrk run.
pub(super) struct Run<'a> {
    /// Also the `Idempotency-Key` prefix: unique per run.
    pub(super) tag: &'a str,
    pub(super) threads: usize,
    pub(super) connections: usize,
    pub(super) duration: Duration,
}

/// What one run measured.
pub(super) struct Figures {
    pub(super) seconds: f64,
    /// Answers received (any status).
    pub(super) answered: u64,
    /// Requests written.
    pub(super) sent: u64,
    pub(super) p50_ms: f64,
    pub(super) p90_ms: f64,
    pub(super) p99_ms: f64,
    pub(super) max_ms: f64,
    pub(super) mean_ms: f64,
    pub(super) statuses: BTreeMap<u16, u64>,
    /// wrk's socket errors: connect, read, write, timeout.
    pub(super) socket: [u64; 4],
    /// wrk's own report, as it printed it.
    pub(super) report: String,
}

impl Figures {
    pub(super) fn created(&self) -> u64 {
        self.statuses.get(&201).copied().unwrap_or(0)
    }

    /// Sales per second of the run (201s only).
    pub(super) fn sales_per_second(&self) -> f64 {
        self.created() as f64 / self.seconds
    }

    /// Requests written that got no answer before wrk stopped.
    pub(super) fn unanswered(&self) -> u64 {
        self.sent.saturating_sub(self.answered)
    }

    /// Answers other than 201, and socket errors, as text; `None` when there were none.
    pub(super) fn errors(&self) -> Option<String> {
        let mut parts: Vec<String> = self
            .statuses
            .iter()
            .filter(|(status, _)| **status != 201)
            .map(|(status, n)| match status {
                503 => format!("{n} × 503 (back-pressure: the server shed load)"),
                _ => format!("{n} × {status}"),
            })
            .collect();
        let [connect, read, write, timeout] = self.socket;
        if connect + read + write + timeout > 0 {
            parts.push(format!(
                "socket errors: connect {connect}, read {read}, write {write}, timeout {timeout}"
            ));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    pub(super) fn statuses_text(&self) -> String {
        self.statuses
            .iter()
            .map(|(status, n)| format!("{status}: {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Writes the request bodies, one JSON document per line.
pub(super) fn write_bodies(path: &Path, bodies: &[String]) -> Result<()> {
    let mut text = String::with_capacity(bodies.iter().map(|b| b.len() + 1).sum());
    for body in bodies {
        text.push_str(body);
        text.push('\n');
    }
    std::fs::write(path, text).with_context(|| format!("write {}", path.display()))
}

/// Runs wrk once and reads what it measured. wrk exiting non-zero, or printing no result line,
/// is an error.
pub(super) async fn run(target: &Target<'_>, run: &Run<'_>) -> Result<Figures> {
    let script_path = target.dir.join(format!("checkout-{}.lua", run.tag));
    std::fs::write(&script_path, script(target, run))
        .with_context(|| format!("write {}", script_path.display()))?;
    let output = tokio::process::Command::new(target.wrk)
        .arg(format!("-t{}", run.threads))
        .arg(format!("-c{}", run.connections))
        .arg(format!("-d{}s", run.duration.as_secs().max(1)))
        // Far above any latency seen, so no slow answer is dropped from the histogram as a
        // "timeout" (wrk's default is 2 s).
        .args(["--timeout", "30s", "--latency", "-s"])
        .arg(&script_path)
        .arg(target.base)
        .kill_on_drop(true)
        .output()
        .await
        .context("run wrk")?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        bail!(
            "wrk failed ({}): {}{}",
            output.status,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    parse(&stdout).with_context(|| format!("wrk's output:\n{stdout}"))
}

fn parse(stdout: &str) -> Result<Figures> {
    let line = stdout
        .lines()
        .find_map(|line| line.strip_prefix("RINGUP-WRK "))
        .context("no RINGUP-WRK line from the script's done()")?;
    let fields: BTreeMap<&str, &str> = line
        .split_whitespace()
        .filter_map(|pair| pair.split_once('='))
        .collect();
    let number = |key: &str| -> Result<f64> {
        fields
            .get(key)
            .with_context(|| format!("no `{key}`"))?
            .parse::<f64>()
            .with_context(|| format!("`{key}` is not a number"))
    };
    let count = |key: &str| -> Result<u64> { Ok(number(key)?.max(0.0) as u64) };
    let mut statuses = BTreeMap::new();
    for pair in fields
        .get("statuses")
        .copied()
        .unwrap_or_default()
        .split(',')
        .filter(|p| !p.is_empty())
    {
        let (status, n) = pair.split_once(':').context("a status without a count")?;
        statuses.insert(status.parse()?, n.parse()?);
    }
    let ms = |key: &str| -> Result<f64> { Ok(number(key)? / 1_000.0) };
    let report = stdout
        .lines()
        .filter(|line| !line.starts_with("RINGUP-WRK "))
        .collect::<Vec<_>>()
        .join("\n");
    Ok(Figures {
        seconds: number("duration_us")? / 1e6,
        answered: count("requests")?,
        sent: count("sent")?,
        p50_ms: ms("p50_us")?,
        p90_ms: ms("p90_us")?,
        p99_ms: ms("p99_us")?,
        max_ms: ms("max_us")?,
        mean_ms: ms("mean_us")?,
        statuses,
        socket: [
            count("connect")?,
            count("read")?,
            count("write")?,
            count("timeout")?,
        ],
        report,
    })
}

/// A Lua string literal of `text`.
fn lua_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The run's Lua script (see the module comment).
fn script(target: &Target<'_>, run: &Run<'_>) -> String {
    let head = format!(
        "POST {SALES_PATH} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: \
         application/json\r\n",
        target.authority, target.token
    );
    format!(
        r#"-- Generated by ringup-bench checkout for the run `{tag}`.
local BODIES = {bodies}
local TAG = {tag_lua}
local THREADS = {threads}
local HEAD = {head}

local threads = {{}}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  heads, tails, count = {{}}, {{}}, 0
  for line in io.lines(BODIES) do
    if #line > 0 then
      count = count + 1
      heads[count] = HEAD .. "Content-Length: " .. #line .. "\r\nIdempotency-Key: "
      tails[count] = "\r\n\r\n" .. line
    end
  end
  if count == 0 then error("no bodies in " .. BODIES) end
  cursor, sent, statuses = id, 0, {{}}
  math.randomseed(os.time() + 7919 * id)
end

function request()
  local i = cursor % count + 1
  cursor = cursor + THREADS
  sent = sent + 1
  local key = string.format("%s-%d-%d-%08x", TAG, id, sent, math.random(0, 2147483646))
  return heads[i] .. key .. tails[i]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total_sent, codes = 0, {{}}
  for _, thread in ipairs(threads) do
    total_sent = total_sent + (thread:get("sent") or 0)
    for status, n in pairs(thread:get("statuses") or {{}}) do
      codes[status] = (codes[status] or 0) + n
    end
  end
  local parts = {{}}
  for status, n in pairs(codes) do
    table.insert(parts, string.format("%d:%d", status, n))
  end
  table.sort(parts)
  local e = summary.errors
  io.write(string.format(
    "RINGUP-WRK duration_us=%d requests=%d sent=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
    "mean_us=%.1f connect=%d read=%d write=%d timeout=%d statuses=%s\n",
    summary.duration, summary.requests, total_sent,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean, e.connect, e.read, e.write, e.timeout, table.concat(parts, ",")))
end
"#,
        tag = run.tag,
        bodies = lua_string(&target.bodies.to_string_lossy()),
        tag_lua = lua_string(run.tag),
        threads = run.threads,
        head = lua_string(&head),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_done_line_is_read() {
        let out = "Running 1s test @ http://127.0.0.1:1\n  Latency Distribution\n\
                   RINGUP-WRK duration_us=2000000 requests=10 sent=12 p50_us=1500 p90_us=2000 \
                   p99_us=3000 max_us=4000 mean_us=1600.5 connect=0 read=1 write=0 timeout=0 \
                   statuses=201:9,503:1\n";
        let figures = parse(out).unwrap();
        assert_eq!(figures.created(), 9);
        assert_eq!(figures.unanswered(), 2);
        assert!((figures.sales_per_second() - 4.5).abs() < 1e-9);
        assert!((figures.p50_ms - 1.5).abs() < 1e-9);
        let errors = figures.errors().unwrap();
        assert!(errors.contains("503 (back-pressure"), "{errors}");
        assert!(errors.contains("read 1"), "{errors}");
        assert!(!figures.report.contains("RINGUP-WRK"));
    }

    #[test]
    fn no_statuses_is_no_sales() {
        let out = "RINGUP-WRK duration_us=1000000 requests=0 sent=0 p50_us=0 p90_us=0 p99_us=0 \
                   max_us=0 mean_us=0.0 connect=0 read=0 write=0 timeout=0 statuses=\n";
        let figures = parse(out).unwrap();
        assert_eq!(figures.created(), 0);
        assert!(figures.errors().is_none());
    }

    #[test]
    fn lua_strings_are_escaped() {
        assert_eq!(lua_string("a\"b\\c\r\n"), r#""a\"b\\c\r\n""#);
    }
}
