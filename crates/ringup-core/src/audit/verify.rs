//! Verifying audit chains. Invariant: a record is accepted only if it follows the last
//! accepted one exactly (next `seq`, same chain, `prev_hash` equal to its hash) and its own
//! `hash` is `chain_hash` of it; the first break is reported and nothing after it is trusted.

use super::{AuditRecord, GENESIS_HASH, chain_hash};

/// What is wrong at the record where a chain breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakReason {
    /// The stored hash is not the hash of the record: the record (or its hash) was edited.
    HashMismatch,
    /// `prev_hash` is not the previous record's hash (or genesis for the first): a record
    /// before it was edited, removed or inserted.
    BrokenLink,
    /// `seq` is not one more than the previous record's (or 1 for the first): a record is
    /// missing, duplicated or out of order.
    SeqGap,
    /// The record names another chain than the first record does.
    WrongChain,
}

impl BreakReason {
    pub fn message(self) -> &'static str {
        match self {
            BreakReason::HashMismatch => "stored hash does not match the record's contents",
            BreakReason::BrokenLink => "prev_hash does not match the previous record's hash",
            BreakReason::SeqGap => "seq does not follow the previous record's seq",
            BreakReason::WrongChain => "record belongs to a different chain",
        }
    }
}

impl std::fmt::Display for BreakReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

/// The first record at which a chain fails verification, as it is stored.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("audit chain broken at seq {seq} (event {id}): {reason}")]
pub struct ChainBreak {
    pub id: String,
    pub seq: i64,
    pub reason: BreakReason,
}

/// Verifies one chain record by record, so a caller can stream a long chain in pages
/// without holding it in memory. Feed records in `seq` order as read (never re-sorted:
/// sorting would hide a reordering).
///
/// After `push` returns an error the verifier still describes the last good record; the
/// caller should stop there, since everything after a break is suspect anyway.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainVerifier {
    last_seq: i64,
    last_hash: String,
    chain: Option<String>,
    checked: usize,
}

impl ChainVerifier {
    /// A verifier for a chain read from its first record.
    #[allow(
        clippy::new_without_default,
        reason = "starting at genesis should be explicit"
    )]
    pub fn new() -> Self {
        Self {
            last_seq: 0,
            last_hash: GENESIS_HASH.to_owned(),
            chain: None,
            checked: 0,
        }
    }

    /// A verifier that continues after `anchor`, a record the caller has already verified
    /// (it is not checked again, and an unverified one makes the result meaningless).
    pub fn after(anchor: &AuditRecord) -> Self {
        Self {
            last_seq: anchor.seq,
            last_hash: anchor.hash.clone(),
            chain: Some(anchor.chain.clone()),
            checked: 0,
        }
    }

    /// Checks that `record` follows the last accepted one (next `seq`, same chain,
    /// `prev_hash` equal to its hash) and that its own hash is right; on success it becomes
    /// the last accepted record.
    pub fn push(&mut self, record: &AuditRecord) -> Result<(), ChainBreak> {
        let fail = |reason| ChainBreak {
            id: record.id.clone(),
            seq: record.seq,
            reason,
        };
        if Some(record.seq) != self.last_seq.checked_add(1) {
            return Err(fail(BreakReason::SeqGap));
        }
        if self
            .chain
            .as_deref()
            .is_some_and(|chain| chain != record.chain)
        {
            return Err(fail(BreakReason::WrongChain));
        }
        if record.prev_hash != self.last_hash {
            return Err(fail(BreakReason::BrokenLink));
        }
        if chain_hash(record) != record.hash {
            return Err(fail(BreakReason::HashMismatch));
        }
        self.last_seq = record.seq;
        self.last_hash.clone_from(&record.hash);
        if self.chain.is_none() {
            self.chain = Some(record.chain.clone());
        }
        self.checked = self.checked.saturating_add(1);
        Ok(())
    }

    /// `seq` of the last accepted record (or of the anchor); 0 before the first record.
    pub fn last_seq(&self) -> i64 {
        self.last_seq
    }

    /// Hash of the last accepted record (or of the anchor); `GENESIS_HASH` before the first.
    /// Compare it with a head kept elsewhere to catch a cut-off tail.
    pub fn last_hash(&self) -> &str {
        &self.last_hash
    }

    /// How many records `push` has accepted.
    pub fn checked(&self) -> usize {
        self.checked
    }
}

/// Verifies one whole chain whose records are given in `seq` order (see `ChainVerifier`).
/// Returns how many records were checked, or the first break. An empty chain is valid. See
/// the module comment for what this cannot detect.
pub fn verify_chain<'a>(
    records: impl IntoIterator<Item = &'a AuditRecord>,
) -> Result<usize, ChainBreak> {
    let mut verifier = ChainVerifier::new();
    for record in records {
        verifier.push(record)?;
    }
    Ok(verifier.checked())
}

/// Verifies records that continue a chain already verified up to its first record, which is
/// only the anchor (see `ChainVerifier::after`). Returns how many records after the anchor
/// were checked; no records at all is `Ok(0)`.
pub fn verify_continuation<'a>(
    records: impl IntoIterator<Item = &'a AuditRecord>,
) -> Result<usize, ChainBreak> {
    let mut records = records.into_iter();
    let Some(anchor) = records.next() else {
        return Ok(0);
    };
    let mut verifier = ChainVerifier::after(anchor);
    for record in records {
        verifier.push(record)?;
    }
    Ok(verifier.checked())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::tests::{link, sample};
    use proptest::prelude::*;

    #[test]
    fn empty_chain_is_valid() {
        assert_eq!(verify_chain(&Vec::new()), Ok(0));
    }

    #[test]
    fn each_reason_is_reported() {
        let chain = link(vec![sample(), sample(), sample()]);
        assert_eq!(verify_chain(&chain), Ok(3));

        let mut bad = chain.clone();
        bad[1].action = "user.delete".to_owned();
        let err = verify_chain(&bad).unwrap_err();
        assert_eq!((err.seq, err.reason), (2, BreakReason::HashMismatch));

        let mut bad = chain.clone();
        bad[0].prev_hash = "f".repeat(64);
        bad[0].hash = chain_hash(&bad[0]);
        let err = verify_chain(&bad).unwrap_err();
        assert_eq!((err.seq, err.reason), (1, BreakReason::BrokenLink));

        let mut bad = chain.clone();
        bad.remove(0);
        let err = verify_chain(&bad).unwrap_err();
        assert_eq!((err.seq, err.reason), (2, BreakReason::SeqGap));

        let mut bad = chain.clone();
        bad[2].chain = "store:other".to_owned();
        let err = verify_chain(&bad).unwrap_err();
        assert_eq!((err.seq, err.reason), (3, BreakReason::WrongChain));
    }

    #[test]
    fn a_rehashed_edit_still_breaks_the_next_link() {
        let mut chain = link(vec![sample(), sample(), sample()]);
        chain[0].details = r#"{"role":"admin"}"#.to_owned();
        chain[0].hash = chain_hash(&chain[0]);
        let err = verify_chain(&chain).unwrap_err();
        assert_eq!((err.seq, err.reason), (2, BreakReason::BrokenLink));
    }

    #[test]
    fn cutting_the_tail_is_not_visible_to_the_chain_alone() {
        let mut chain = link(vec![sample(), sample(), sample()]);
        chain.pop();
        assert_eq!(verify_chain(&chain), Ok(2));
    }

    #[test]
    fn continuation_checks_pages_after_an_anchor() {
        let chain = link(vec![sample(), sample(), sample(), sample(), sample()]);
        assert_eq!(verify_continuation(&Vec::new()), Ok(0));
        assert_eq!(verify_continuation(&chain[..1]), Ok(0));
        // Pages of two, each led by the previous page's last record.
        assert_eq!(verify_chain(&chain[..2]), Ok(2));
        assert_eq!(verify_continuation(&chain[1..4]), Ok(2));
        assert_eq!(verify_continuation(&chain[3..]), Ok(1));

        // A gap right after the anchor is caught.
        let gap: Vec<&AuditRecord> = vec![&chain[1], &chain[3]];
        let err = verify_continuation(gap).unwrap_err();
        assert_eq!((err.seq, err.reason), (4, BreakReason::SeqGap));

        // An edit in the page is caught at that record.
        let mut bad = chain.clone();
        bad[3].action = "edited".to_owned();
        let err = verify_continuation(&bad[2..]).unwrap_err();
        assert_eq!((err.seq, err.reason), (4, BreakReason::HashMismatch));

        // A page from another chain does not continue this one.
        let mut other = chain.clone();
        other[2].chain = "store:other".to_owned();
        other[2].hash = chain_hash(&other[2]);
        let err = verify_continuation(&other[1..3]).unwrap_err();
        assert_eq!((err.seq, err.reason), (3, BreakReason::WrongChain));
    }

    #[test]
    fn verifier_streams_and_reports_its_head() {
        let chain = link(vec![sample(), sample(), sample()]);
        let mut verifier = ChainVerifier::new();
        assert_eq!(
            (verifier.last_seq(), verifier.last_hash()),
            (0, GENESIS_HASH)
        );
        for record in &chain {
            verifier.push(record).unwrap();
        }
        assert_eq!(verifier.checked(), 3);
        assert_eq!(verifier.last_seq(), 3);
        assert_eq!(verifier.last_hash(), chain[2].hash);

        // A rejected record leaves the verifier at the last good one.
        let mut verifier = ChainVerifier::new();
        verifier.push(&chain[0]).unwrap();
        let err = verifier.push(&chain[2]).unwrap_err();
        assert_eq!((err.seq, err.reason), (3, BreakReason::SeqGap));
        assert_eq!((verifier.last_seq(), verifier.checked()), (1, 1));
        verifier.push(&chain[1]).unwrap();

        let mut resumed = ChainVerifier::after(&chain[0]);
        resumed.push(&chain[1]).unwrap();
        resumed.push(&chain[2]).unwrap();
        assert_eq!(resumed.checked(), 2);
    }

    #[test]
    fn seq_at_the_limit_does_not_overflow() {
        let mut last = sample();
        last.seq = i64::MAX;
        last.hash = chain_hash(&last);
        let mut next = sample();
        next.seq = i64::MIN;
        next.prev_hash = last.hash.clone();
        let next = next.sealed();
        let err = ChainVerifier::after(&last).push(&next).unwrap_err();
        assert_eq!(err.reason, BreakReason::SeqGap);
    }

    #[test]
    fn break_message_names_the_record() {
        let err = ChainBreak {
            id: "evt".to_owned(),
            seq: 7,
            reason: BreakReason::SeqGap,
        };
        assert_eq!(
            err.to_string(),
            "audit chain broken at seq 7 (event evt): seq does not follow the previous \
             record's seq"
        );
    }

    fn text() -> impl Strategy<Value = String> {
        ".{0,12}"
    }

    fn record(index: usize) -> impl Strategy<Value = AuditRecord> {
        let opt = || proptest::option::of(text());
        (
            text(),
            opt(),
            text(),
            (opt(), opt(), opt()),
            (opt(), opt(), opt()),
            text(),
        )
            .prop_map(
                move |(
                    at,
                    actor_id,
                    action,
                    (target_type, target_id, store_id),
                    (ip, user_agent, request_id),
                    details,
                )| AuditRecord {
                    id: format!("evt-{index:04}"),
                    chain: "global".to_owned(),
                    seq: 0,
                    at,
                    actor_id,
                    action,
                    target_type,
                    target_id,
                    store_id,
                    ip,
                    user_agent,
                    request_id,
                    details,
                    prev_hash: String::new(),
                    hash: String::new(),
                },
            )
    }

    fn chain() -> impl Strategy<Value = Vec<AuditRecord>> {
        (1usize..10)
            .prop_flat_map(|len| (0..len).map(record).collect::<Vec<_>>())
            .prop_map(link)
    }

    /// Number of fields `tamper` can change: every field of `AuditRecord`.
    const FIELDS: usize = 15;

    fn change(s: &mut String) {
        s.push('x');
    }

    fn change_opt(s: &mut Option<String>) {
        *s = match s.take() {
            None => Some(String::new()),
            Some(_) => None,
        };
    }

    /// Changes field number `field` of `record` to a different value.
    fn tamper(record: &mut AuditRecord, field: usize) {
        match field {
            0 => change(&mut record.id),
            1 => change(&mut record.chain),
            2 => record.seq += 1,
            3 => change(&mut record.at),
            4 => change_opt(&mut record.actor_id),
            5 => change(&mut record.action),
            6 => change_opt(&mut record.target_type),
            7 => change_opt(&mut record.target_id),
            8 => change_opt(&mut record.store_id),
            9 => change_opt(&mut record.ip),
            10 => change_opt(&mut record.user_agent),
            11 => change_opt(&mut record.request_id),
            12 => change(&mut record.details),
            13 => change(&mut record.prev_hash),
            14 => change(&mut record.hash),
            _ => unreachable!("only {FIELDS} fields"),
        }
    }

    proptest! {
        #[test]
        fn a_linked_chain_verifies(chain in chain()) {
            prop_assert_eq!(verify_chain(&chain), Ok(chain.len()));
        }

        #[test]
        fn verifying_in_pages_agrees_with_the_whole(
            chain in chain(),
            pick in any::<prop::sample::Index>(),
            field in 0..FIELDS,
            page in 1usize..4,
        ) {
            let mut bad = chain.clone();
            tamper(&mut bad[pick.index(chain.len())], field);
            for records in [&chain, &bad] {
                let whole = verify_chain(records.iter());
                let mut paged = verify_chain(records.iter().take(page));
                let mut start = page;
                while paged.is_ok() && start < records.len() {
                    paged = verify_continuation(records.iter().skip(start - 1).take(page + 1));
                    start += page;
                }
                prop_assert_eq!(whole.map(|_| ()), paged.map(|_| ()));
            }
        }

        #[test]
        fn any_single_edit_breaks_at_that_record(
            chain in chain(),
            pick in any::<prop::sample::Index>(),
            field in 0..FIELDS,
        ) {
            let at = pick.index(chain.len());
            let mut bad = chain.clone();
            tamper(&mut bad[at], field);
            prop_assert_ne!(&bad[at], &chain[at]);
            let err = verify_chain(&bad).unwrap_err();
            prop_assert_eq!(&err.id, &bad[at].id);
            prop_assert_eq!(err.seq, bad[at].seq);
        }

        #[test]
        fn a_deletion_breaks_at_the_next_record(
            chain in chain(),
            pick in any::<prop::sample::Index>(),
        ) {
            prop_assume!(chain.len() >= 2);
            // Any record but the last (tail cuts are the documented blind spot).
            let at = pick.index(chain.len() - 1);
            let mut bad = chain.clone();
            bad.remove(at);
            let err = verify_chain(&bad).unwrap_err();
            prop_assert_eq!(&err.id, &chain[at + 1].id);
            prop_assert_eq!(err.reason, BreakReason::SeqGap);
        }

        #[test]
        fn swapping_two_records_breaks_at_the_first_moved(
            chain in chain(),
            pick in any::<prop::sample::Index>(),
        ) {
            prop_assume!(chain.len() >= 2);
            let at = pick.index(chain.len() - 1);
            let mut bad = chain.clone();
            bad.swap(at, at + 1);
            let err = verify_chain(&bad).unwrap_err();
            prop_assert_eq!(&err.id, &chain[at + 1].id);
        }
    }
}
