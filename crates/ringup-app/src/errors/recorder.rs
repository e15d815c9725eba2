//! The in-memory side of error tracking: occurrences counted per fingerprint between flushes.
//!
//! Invariants: recording never waits on I/O and never fails — it normalises a bounded message,
//! hashes it and updates one map entry under a lock held for that update only. The map holds
//! at most `capacity` fingerprints; an occurrence of a new fingerprint beyond that is dropped
//! and counted (`ringup_errors_dropped_total`), while occurrences of fingerprints already held
//! still count, so a storm of one error costs one entry however long it lasts. A flush takes
//! the map; if writing fails, [`Recorder::restore`] puts the groups back in front of whatever
//! arrived meanwhile, still within `capacity`, so nothing counted is lost to a database outage.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use ringup_core::clock::Clock;
use ringup_core::errors::{Fingerprint, normalise};
use ringup_store::errors::NewOccurrences;

/// Characters of a method kept (methods are short; an extension method could be anything).
const METHOD_MAX: usize = 16;

/// One failed request, as the HTTP layer saw it.
#[derive(Clone, Copy, Debug)]
pub struct Occurrence<'a> {
    pub method: &'a str,
    /// The route template, never the raw path.
    pub route: &'a str,
    pub status: u16,
    /// `panic`, or the answer's problem type (`internal`, `unavailable`, …).
    pub kind: &'a str,
    /// The raw message: normalised and cut here, never kept as it came.
    pub message: &'a str,
    pub request_id: &'a str,
}

/// Whether an occurrence was counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    Counted,
    /// The buffer held `capacity` other fingerprints.
    Dropped,
}

/// Shared by the middleware that records and the worker that flushes. Cheap to clone.
#[derive(Clone)]
pub struct Recorder {
    inner: Arc<Inner>,
}

struct Inner {
    clock: Arc<dyn Clock>,
    capacity: usize,
    pending: Mutex<HashMap<String, NewOccurrences>>,
    dropped: AtomicU64,
}

impl Recorder {
    /// A recorder that holds at most `capacity` fingerprints between flushes, timing
    /// occurrences by `clock`.
    pub fn new(clock: Arc<dyn Clock>, capacity: usize) -> Recorder {
        Recorder {
            inner: Arc::new(Inner {
                clock,
                capacity,
                pending: Mutex::new(HashMap::new()),
                dropped: AtomicU64::new(0),
            }),
        }
    }

    /// Counts one occurrence under its fingerprint.
    pub fn record(&self, occurrence: Occurrence<'_>) -> Recorded {
        let message = normalise(occurrence.message);
        let method: String = occurrence.method.chars().take(METHOD_MAX).collect();
        let fingerprint = Fingerprint::of(&method, occurrence.route, occurrence.kind, &message);
        let at = self.inner.clock.now();
        let new = NewOccurrences {
            fingerprint: fingerprint.to_string(),
            method,
            route: occurrence.route.to_owned(),
            status: i64::from(occurrence.status),
            kind: occurrence.kind.to_owned(),
            message,
            count: 1,
            first_seen: at,
            last_seen: at,
            last_request_id: occurrence.request_id.to_owned(),
        };
        let recorded = add(&mut self.lock(), new, self.inner.capacity);
        match recorded {
            Recorded::Counted => metrics::counter!("ringup_errors_recorded_total").increment(1),
            Recorded::Dropped => {
                self.inner.dropped.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("ringup_errors_dropped_total").increment(1);
            }
        }
        recorded
    }

    /// Everything counted since the last take, oldest first seen first; the buffer is empty
    /// afterwards.
    pub fn take(&self) -> Vec<NewOccurrences> {
        let mut groups: Vec<NewOccurrences> = self.lock().drain().map(|(_, g)| g).collect();
        groups.sort_by(|a, b| (a.first_seen, &a.fingerprint).cmp(&(b.first_seen, &b.fingerprint)));
        groups
    }

    /// Puts back groups a flush could not write, merged with what was recorded since: the
    /// restored groups come first, so when the buffer is full it is newer fingerprints that
    /// are dropped (and counted), never counts already held.
    pub fn restore(&self, groups: Vec<NewOccurrences>) {
        let mut pending = self.lock();
        let newer = std::mem::take(&mut *pending);
        for group in groups {
            pending.insert(group.fingerprint.clone(), group);
        }
        let mut dropped = 0u64;
        for (_, group) in newer {
            let count = u64::try_from(group.count).unwrap_or(0);
            if add(&mut pending, group, self.inner.capacity) == Recorded::Dropped {
                dropped = dropped.saturating_add(count);
            }
        }
        drop(pending);
        if dropped > 0 {
            self.inner.dropped.fetch_add(dropped, Ordering::Relaxed);
            metrics::counter!("ringup_errors_dropped_total").increment(dropped);
        }
    }

    /// Occurrences dropped because the buffer was full, since start.
    pub fn dropped(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
    }

    /// Fingerprints waiting for a flush.
    pub fn pending(&self) -> usize {
        self.lock().len()
    }

    /// The map; a panic while it was held (none can: only map operations run under it) would
    /// leave whole entries, so a poisoned lock is still consistent.
    fn lock(&self) -> MutexGuard<'_, HashMap<String, NewOccurrences>> {
        self.inner
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Adds `newer` to its fingerprint's entry, or makes one when there is room.
fn add(
    pending: &mut HashMap<String, NewOccurrences>,
    newer: NewOccurrences,
    capacity: usize,
) -> Recorded {
    if let Some(held) = pending.get_mut(&newer.fingerprint) {
        merge(held, newer);
        return Recorded::Counted;
    }
    if pending.len() >= capacity {
        return Recorded::Dropped;
    }
    pending.insert(newer.fingerprint.clone(), newer);
    Recorded::Counted
}

/// Counts add up, the seen times widen, and the later occurrence's status, message and
/// request id win.
fn merge(held: &mut NewOccurrences, newer: NewOccurrences) {
    held.count = held.count.saturating_add(newer.count);
    held.first_seen = held.first_seen.min(newer.first_seen);
    if newer.last_seen >= held.last_seen {
        held.last_seen = newer.last_seen;
        held.status = newer.status;
        held.message = newer.message;
        held.last_request_id = newer.last_request_id;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, Utc};
    use ringup_core::clock::ManualClock;

    fn recorder(capacity: usize) -> (Recorder, ManualClock) {
        let clock = ManualClock::new(Utc::now());
        (Recorder::new(Arc::new(clock.clone()), capacity), clock)
    }

    fn occurrence<'a>(route: &'a str, message: &'a str, request_id: &'a str) -> Occurrence<'a> {
        Occurrence {
            method: "GET",
            route,
            status: 500,
            kind: "internal",
            message,
            request_id,
        }
    }

    #[test]
    fn one_bug_is_one_group_whatever_ids_it_carries() {
        let (recorder, clock) = recorder(8);
        let start = clock.now();
        recorder.record(occurrence("/a/{id}", "sale 1 failed", "r1"));
        clock.advance(Duration::seconds(5));
        recorder.record(occurrence("/a/{id}", "sale 2 failed", "r2"));
        recorder.record(occurrence("/b", "sale 2 failed", "r3"));
        let groups = recorder.take();
        assert_eq!(groups.len(), 2);
        let a = groups.iter().find(|g| g.route == "/a/{id}").unwrap();
        assert_eq!(a.count, 2);
        assert_eq!(a.message, "sale <n> failed");
        assert_eq!(a.last_request_id, "r2");
        assert_eq!(
            (a.first_seen, a.last_seen),
            (start, start + Duration::seconds(5))
        );
        assert_eq!(recorder.pending(), 0);
    }

    #[test]
    fn a_full_buffer_drops_new_fingerprints_but_keeps_counting_held_ones() {
        let (recorder, _) = recorder(2);
        recorder.record(occurrence("/a", "x", "r"));
        recorder.record(occurrence("/b", "x", "r"));
        assert_eq!(
            recorder.record(occurrence("/c", "x", "r")),
            Recorded::Dropped
        );
        for _ in 0..1000 {
            assert_eq!(
                recorder.record(occurrence("/a", "x", "r")),
                Recorded::Counted
            );
        }
        assert_eq!(recorder.dropped(), 1);
        let groups = recorder.take();
        assert_eq!(groups.iter().map(|g| g.count).sum::<i64>(), 1002);
    }

    #[test]
    fn restored_groups_keep_their_counts_and_go_first() {
        let (recorder, clock) = recorder(2);
        recorder.record(occurrence("/a", "x", "r1"));
        recorder.record(occurrence("/b", "x", "r1"));
        let failed_flush = recorder.take();
        clock.advance(Duration::seconds(1));
        recorder.record(occurrence("/a", "x", "r2"));
        recorder.record(occurrence("/c", "x", "r2"));
        recorder.restore(failed_flush);
        let groups = recorder.take();
        let routes: Vec<_> = groups.iter().map(|g| (g.route.as_str(), g.count)).collect();
        assert_eq!(routes.len(), 2, "{routes:?}");
        assert!(
            routes.contains(&("/a", 2)) && routes.contains(&("/b", 1)),
            "{routes:?}"
        );
        let a = groups.iter().find(|g| g.route == "/a").unwrap();
        assert_eq!(a.last_request_id, "r2");
        assert_eq!(recorder.dropped(), 1, "the /c occurrence found no room");
    }

    #[test]
    fn messages_are_bounded_and_methods_cut() {
        let (recorder, _) = recorder(2);
        let huge = "x".repeat(1 << 20);
        let long_method = "M".repeat(100);
        recorder.record(Occurrence {
            method: &long_method,
            ..occurrence("/a", &huge, "r")
        });
        let groups = recorder.take();
        assert_eq!(groups[0].message.chars().count(), 300);
        assert_eq!(groups[0].method.len(), METHOD_MAX);
    }
}
