//! Error tracking: what ringup keeps of a failed request (a 5xx answer or a caught panic), how
//! occurrences of one bug are grouped, and what the admins' mail says about them.
//!
//! Invariants: a message is kept only in its normalised form ([`normalise`]: ids, numbers,
//! quoted values, addresses and tokens replaced, at most 300 characters), never raw, and no
//! request body or header is ever part of it. Occurrences with the same [`Fingerprint`]
//! (method, route template, kind, normalised message) are one group; a group counts its
//! occurrences and keeps the first and last time it was seen and the last request's id.

pub mod digest;
pub mod fingerprint;

pub use digest::{Digest, digest};
pub use fingerprint::{Fingerprint, normalise};

/// The kind of a caught panic; an error answer's kind is its problem type (`internal`,
/// `unavailable`, …).
pub const PANIC_KIND: &str = "panic";

/// A group of occurrences: as stored, with its times as RFC 3339 UTC text (what the admin list
/// shows and the mail reports), or as counted in memory before a flush, with `At` an instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorGroup<At = String> {
    pub fingerprint: String,
    pub method: String,
    /// The route template (`/api/v1/sales/{id}`), never the raw path.
    pub route: String,
    /// The status of the last occurrence.
    pub status: i64,
    pub kind: String,
    /// The normalised message of the last occurrence.
    pub message: String,
    pub count: i64,
    pub first_seen: At,
    pub last_seen: At,
    pub last_request_id: String,
}
