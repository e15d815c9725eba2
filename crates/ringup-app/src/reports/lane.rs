//! The report lane: at most a set number of reports and exports at once, so reading the
//! numbers never takes the CPU and the read connections from the tills.
//!
//! Invariant: a [`LanePass`] is one place in the lane, given back when it is dropped (also
//! when a streamed export ends or its client goes away); a report that waits longer than the
//! lane's patience is refused with [`ReportError::Busy`] rather than queued without bound.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::ReportError;

/// The lane reports run in; cheap to clone.
#[derive(Clone, Debug)]
pub struct Lane {
    places: Arc<Semaphore>,
    size: usize,
    patience: Duration,
}

/// One place in the lane, held while a report is made and sent.
#[derive(Debug)]
pub struct LanePass(#[allow(dead_code, reason = "held for its drop")] OwnedSemaphorePermit);

impl Lane {
    /// A lane of `size` places (at least one); a report waits at most `patience` for one.
    pub fn new(size: usize, patience: Duration) -> Lane {
        let size = size.max(1);
        Lane {
            places: Arc::new(Semaphore::new(size)),
            size,
            patience,
        }
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// Reports running now.
    pub fn busy(&self) -> usize {
        self.size.saturating_sub(self.places.available_permits())
    }

    /// Waits for a place, at most the lane's patience.
    pub async fn enter(&self) -> Result<LanePass, ReportError> {
        match tokio::time::timeout(self.patience, Arc::clone(&self.places).acquire_owned()).await {
            Ok(Ok(permit)) => Ok(LanePass(permit)),
            // Timed out, or the semaphore was closed (it never is).
            _ => Err(ReportError::Busy),
        }
    }
}

impl Default for Lane {
    /// One place; a report waits up to ten seconds.
    fn default() -> Lane {
        Lane::new(1, Duration::from_secs(10))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn a_full_lane_refuses_after_its_patience_and_a_pass_frees_its_place() {
        let lane = Lane::new(1, Duration::from_millis(50));
        let first = lane.enter().await.unwrap();
        assert_eq!(lane.busy(), 1);
        assert!(matches!(lane.enter().await, Err(ReportError::Busy)));
        drop(first);
        assert_eq!(lane.busy(), 0);
        let _again = lane.enter().await.unwrap();
    }

    #[tokio::test]
    async fn a_waiting_report_gets_the_place_given_back() {
        let lane = Lane::new(1, Duration::from_secs(5));
        let first = lane.enter().await.unwrap();
        let waiting = tokio::spawn({
            let lane = lane.clone();
            async move { lane.enter().await.map(drop) }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(first);
        assert!(waiting.await.unwrap().is_ok());
    }
}
