//! The hash chain behind the tamper-evident audit log.
//!
//! Invariants: the log is split into chains (named by `AuditRecord::chain`); within one chain
//! records are numbered by `seq` from 1 with no gaps, the first record's `prev_hash` is
//! `GENESIS_HASH`, each later record's `prev_hash` is the previous record's `hash`, and every
//! `hash` is `chain_hash` of its own record. So editing, inserting, reordering or deleting any
//! record is caught by `verify_chain` (or `ChainVerifier`, record by record) at that record (a
//! deletion at the record after it) — except cutting records off the end, which the chain
//! alone cannot show: whoever verifies must also compare the head (last seq and hash) with one
//! kept elsewhere.
//!
//! `chain_hash`'s encoding is a storage format: stored hashes were computed with it, so it
//! must never change. A new format needs a new version tag and verification of both.

use sha2::{Digest, Sha256};

mod verify;

pub use verify::{BreakReason, ChainBreak, ChainVerifier, verify_chain, verify_continuation};

/// `prev_hash` of the first record of every chain: 64 zeros, the width of a SHA-256 hex digest.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Version tag hashed in front of every record; see `chain_hash`.
const FORMAT_TAG: &str = "ringup.audit.v1";

/// One audit event as stored. Fields are the stored text forms (ids as hyphenated UUIDs,
/// `at` as RFC 3339 UTC, `details` as JSON text) because the hash covers exactly these bytes;
/// re-rendering a parsed value could change them.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditRecord {
    pub id: String,
    pub chain: String,
    pub seq: i64,
    pub at: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub store_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    /// JSON text.
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditRecord {
    /// The record with `hash` set from its other fields (`seq` and `prev_hash` included, so
    /// set those first).
    pub fn sealed(mut self) -> Self {
        self.hash = chain_hash(&self);
        self
    }
}

/// Lower-case hex SHA-256 of the record's canonical encoding, which covers every field but
/// `hash` itself.
///
/// The encoding (version 1; never change it, see the module comment) is the concatenation of:
///
/// 1. the tag `ringup.audit.v1` as a *string*;
/// 2. the fields in this order: `id`, `chain`, `seq`, `at`, `actor_id`, `action`,
///    `target_type`, `target_id`, `store_id`, `ip`, `user_agent`, `request_id`, `details`,
///    `prev_hash`;
///
/// where a *string* is its UTF-8 byte length as a big-endian u64 followed by those bytes; an
/// optional string is the byte `0x00` when absent, or `0x01` followed by the string; and `seq`
/// is 8 bytes, big-endian two's complement. Every piece is length-prefixed or fixed-width, so
/// no two different records encode to the same bytes (`"ab","c"` differs from `"a","bc"`, and
/// `None` from `Some("")`).
pub fn chain_hash(record: &AuditRecord) -> String {
    let mut hasher = Sha256::new();
    put_str(&mut hasher, FORMAT_TAG);
    put_str(&mut hasher, &record.id);
    put_str(&mut hasher, &record.chain);
    hasher.update(record.seq.to_be_bytes());
    put_str(&mut hasher, &record.at);
    put_opt(&mut hasher, record.actor_id.as_deref());
    put_str(&mut hasher, &record.action);
    put_opt(&mut hasher, record.target_type.as_deref());
    put_opt(&mut hasher, record.target_id.as_deref());
    put_opt(&mut hasher, record.store_id.as_deref());
    put_opt(&mut hasher, record.ip.as_deref());
    put_opt(&mut hasher, record.user_agent.as_deref());
    put_opt(&mut hasher, record.request_id.as_deref());
    put_str(&mut hasher, &record.details);
    put_str(&mut hasher, &record.prev_hash);
    hex::encode(hasher.finalize())
}

fn put_str(hasher: &mut Sha256, s: &str) {
    // usize → u64 is lossless on every platform Rust supports.
    hasher.update((s.len() as u64).to_be_bytes());
    hasher.update(s.as_bytes());
}

fn put_opt(hasher: &mut Sha256, s: Option<&str>) {
    match s {
        None => hasher.update([0u8]),
        Some(s) => {
            hasher.update([1u8]);
            put_str(hasher, s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn sample() -> AuditRecord {
        AuditRecord {
            id: "0192d4e8-7a3b-7c41-9e2f-5a6b7c8d9e0f".to_owned(),
            chain: "global".to_owned(),
            seq: 1,
            at: "2026-01-02T03:04:05.678Z".to_owned(),
            actor_id: Some("0192d4e8-0000-7000-8000-000000000001".to_owned()),
            action: "user.create".to_owned(),
            target_type: Some("user".to_owned()),
            target_id: Some("0192d4e8-0000-7000-8000-000000000002".to_owned()),
            store_id: None,
            ip: Some("192.0.2.10".to_owned()),
            user_agent: Some("curl/8.5.0".to_owned()),
            request_id: Some("req-123".to_owned()),
            details: r#"{"role":"cashier"}"#.to_owned(),
            prev_hash: GENESIS_HASH.to_owned(),
            hash: String::new(),
        }
    }

    /// Links records into a valid chain: seq from 1, prev_hash and hash filled in.
    pub(super) fn link(mut records: Vec<AuditRecord>) -> Vec<AuditRecord> {
        let mut prev = GENESIS_HASH.to_owned();
        for (i, record) in records.iter_mut().enumerate() {
            record.seq = i as i64 + 1;
            record.prev_hash = prev;
            record.hash = chain_hash(record);
            prev = record.hash.clone();
        }
        records
    }

    #[test]
    fn genesis_is_64_zeros() {
        assert_eq!(GENESIS_HASH.len(), 64);
        assert!(GENESIS_HASH.chars().all(|c| c == '0'));
    }

    /// Pins format v1: if this fails, stored chains would no longer verify. The value was
    /// computed independently of this code (Python's hashlib over the encoding documented
    /// on `chain_hash`).
    #[test]
    fn hash_format_is_pinned() {
        assert_eq!(
            chain_hash(&sample()),
            "89660cf33bdb77ad11d1c7f3eff2850006b4c0c368ee60058c75ec557500469c"
        );
    }

    #[test]
    fn hash_is_lowercase_hex_and_ignores_the_hash_field() {
        let mut record = sample();
        let hash = chain_hash(&record);
        assert_eq!(hash.len(), 64);
        assert!(hash.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
        record.hash = "anything".to_owned();
        assert_eq!(chain_hash(&record), hash);
    }

    #[test]
    fn encoding_is_unambiguous() {
        let mut a = sample();
        a.id = "ab".to_owned();
        a.chain = "c".to_owned();
        let mut b = sample();
        b.id = "a".to_owned();
        b.chain = "bc".to_owned();
        assert_ne!(chain_hash(&a), chain_hash(&b));

        let mut none = sample();
        none.store_id = None;
        let mut empty = sample();
        empty.store_id = Some(String::new());
        assert_ne!(chain_hash(&none), chain_hash(&empty));

        // A value moved between two adjacent optional fields changes the hash.
        let mut left = sample();
        left.target_type = Some("user".to_owned());
        left.target_id = None;
        let mut right = sample();
        right.target_type = None;
        right.target_id = Some("user".to_owned());
        assert_ne!(chain_hash(&left), chain_hash(&right));
    }

    #[test]
    fn sealed_sets_the_hash() {
        let record = sample().sealed();
        assert_eq!(record.hash, chain_hash(&record));
        assert_eq!(verify_chain([&record]), Ok(1));
    }

    #[test]
    fn serde_round_trip() {
        let record = sample().sealed();
        let json = serde_json::to_string(&record).unwrap();
        assert_eq!(serde_json::from_str::<AuditRecord>(&json).unwrap(), record);
    }
}
