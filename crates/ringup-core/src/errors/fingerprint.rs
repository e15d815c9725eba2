//! Grouping failures: the normalised message and the fingerprint.
//!
//! Invariants:
//! - [`normalise`] replaces every volatile part of a message — quoted text, e-mail addresses
//!   and URLs with credentials, UUIDs, long tokens mixing letters and digits (keys, hashes,
//!   JWTs), numbers — with a fixed placeholder, so two occurrences of one bug read the same
//!   whatever ids, amounts or values they carried. The same replacements keep secrets a
//!   message may hold (a quoted password, a key) out of storage and mail.
//! - It reads at most [`INPUT_MAX`] bytes of a message and returns at most [`MESSAGE_MAX`]
//!   characters, so a panic with a huge payload costs little and stores little.
//! - `normalise` is idempotent: a normalised message normalises to itself.
//! - A [`Fingerprint`] is SHA-256 over a versioned encoding of the method, the route template,
//!   the error kind and the normalised message: stable across processes and releases (unlike
//!   std's randomly seeded hasher), so a group keeps its fingerprint across restarts.

use sha2::{Digest, Sha256};

/// Bytes of a raw message read; the rest is ignored (a panic payload may be anything).
pub const INPUT_MAX: usize = 4096;
/// Characters of a normalised message kept.
pub const MESSAGE_MAX: usize = 300;

/// Shortest run mixing letters and digits taken for a token (an API key, a hash, a JWT).
const TOKEN_MIN: usize = 16;

/// What replaces each kind of volatile part.
const QUOTED: &str = "<q>";
const NUMBER: &str = "<n>";
const UUID: &str = "<uuid>";
const ADDRESS: &str = "<email>";
const TOKEN: &str = "<token>";

/// Characters that make up one run (a word, a number, an id, an address, a path).
fn in_run(c: char) -> bool {
    c.is_alphanumeric() || "_-+/=.@%~".contains(c)
}

/// The message with its volatile parts replaced (see the module's invariants), whitespace and
/// control characters collapsed to single spaces, trimmed and cut to [`MESSAGE_MAX`]
/// characters.
pub fn normalise(message: &str) -> String {
    let input = prefix_within(message, INPUT_MAX);
    let mut out = String::with_capacity(input.len().min(MESSAGE_MAX * 2));
    let mut rest = input;
    while let Some(c) = rest.chars().next() {
        if opens_quote(c, &out) {
            out.push_str(QUOTED);
            rest = after_quote(rest, c);
        } else if in_run(c) {
            let end = rest.find(|c: char| !in_run(c)).unwrap_or(rest.len());
            let (run, after) = rest.split_at(end);
            // A sentence's full stop or a dash before a space is not part of the run.
            let word = run.trim_end_matches(['.', '-']);
            push_run(&mut out, word);
            out.push_str(run.get(word.len()..).unwrap_or_default());
            rest = after;
        } else {
            if c.is_whitespace() || c.is_control() {
                if !out.ends_with(' ') {
                    out.push(' ');
                }
            } else {
                out.push(c);
            }
            rest = rest.get(c.len_utf8()..).unwrap_or_default();
        }
    }
    let trimmed = out.trim();
    match trimmed.char_indices().nth(MESSAGE_MAX) {
        Some((cut, _)) => trimmed.get(..cut).unwrap_or_default().trim_end().to_owned(),
        None => trimmed.to_owned(),
    }
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
fn prefix_within(text: &str, max: usize) -> &str {
    text.get(..text.floor_char_boundary(max))
        .unwrap_or_default()
}

/// `"` and `` ` `` always open a quotation; `'` only where a word cannot be going on (so the
/// apostrophe of "can't" is text). Whether a word goes on is read from what was written so far,
/// a placeholder counting as a word, so normalising a normalised message decides alike.
fn opens_quote(c: char, written: &str) -> bool {
    match c {
        '"' | '`' => true,
        '\'' => {
            let placeholder = [QUOTED, NUMBER, UUID, ADDRESS, TOKEN]
                .iter()
                .any(|p| written.ends_with(p));
            let in_word = written.chars().last().is_some_and(char::is_alphanumeric);
            !(placeholder || in_word)
        }
        _ => false,
    }
}

/// What follows the quotation that opens `text` with `quote`: after its closing quote (a
/// backslash escapes the next character), or nothing when it is never closed — an unclosed
/// quotation may hold anything, so all of it is dropped.
fn after_quote(text: &str, quote: char) -> &str {
    let mut chars = text.char_indices().skip(1);
    while let Some((_, c)) = chars.next() {
        if c == '\\' {
            chars.next();
        } else if c == quote {
            let close = chars.next().map_or(text.len(), |(i, _)| i);
            return text.get(close..).unwrap_or_default();
        }
    }
    ""
}

/// Appends one run, replaced whole when it is an address, a UUID, a token or a number, and
/// otherwise with every digit sequence inside it replaced (`sale42` → `sale<n>`).
fn push_run(out: &mut String, run: &str) {
    let has_digit = run.chars().any(|c| c.is_ascii_digit());
    let has_letter = run.chars().any(char::is_alphabetic);
    if run.contains('@') {
        out.push_str(ADDRESS);
    } else if holds_uuid(run) {
        out.push_str(UUID);
    } else if has_digit && has_letter && run.chars().count() >= TOKEN_MIN {
        out.push_str(TOKEN);
    } else if starts_numeric(run) {
        out.push_str(NUMBER);
    } else {
        let mut in_digits = false;
        for c in run.chars() {
            if c.is_ascii_digit() {
                if !in_digits {
                    out.push_str(NUMBER);
                }
                in_digits = true;
            } else {
                out.push(c);
                in_digits = false;
            }
        }
    }
}

/// A number, with its sign, unit or fraction: `42`, `-7`, `+3.5`, `30s`, `0x1f`, `1e9`.
fn starts_numeric(run: &str) -> bool {
    let unsigned = run.strip_prefix(['-', '+']).unwrap_or(run);
    unsigned.starts_with(|c: char| c.is_ascii_digit())
}

/// Whether the run holds a UUID in its canonical 8-4-4-4-12 hex form anywhere.
fn holds_uuid(run: &str) -> bool {
    let bytes = run.as_bytes();
    bytes.len() >= 36 && bytes.windows(36).any(is_uuid)
}

fn is_uuid(window: &[u8]) -> bool {
    window.iter().enumerate().all(|(i, b)| match i {
        8 | 13 | 18 | 23 => *b == b'-',
        _ => b.is_ascii_hexdigit(),
    })
}

/// The stable name of a group of occurrences: 16 lower-case hex characters (64 bits of
/// SHA-256), short enough to read out and far from colliding among a server's error kinds.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// The fingerprint of a failure of `kind` on `method route` with the already normalised
    /// `message`. Each part is length-prefixed, so no two inputs encode alike.
    pub fn of(method: &str, route: &str, kind: &str, normalised: &str) -> Fingerprint {
        let mut hash = Sha256::new();
        hash.update(b"ringup-error-v1");
        for part in [method, route, kind, normalised] {
            hash.update(u64::try_from(part.len()).unwrap_or(u64::MAX).to_be_bytes());
            hash.update(part.as_bytes());
        }
        let digest = hash.finalize();
        Fingerprint(hex::encode(digest.get(..8).unwrap_or_default()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests;
