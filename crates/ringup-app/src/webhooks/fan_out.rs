//! The relay's fan-out: every event the relay positions gets, in the same transaction, a
//! pending first attempt for each enabled endpoint whose filter selects it. So an event is
//! never positioned without its deliveries, nor delivered without being positioned.
//!
//! An endpoint's filter: its type patterns (none: every type) and its stores (none: every
//! store). An event of no store (`product.*`) goes only to endpoints without a store filter:
//! an endpoint that asked for some stores' events asked for those only.

use chrono::{DateTime, Utc};
use ringup_core::events::{Pattern, selects};
use ringup_core::ids::WebhookDeliveryId;
use ringup_store::events::StreamEvent;
use ringup_store::webhooks::{self as store, WebhookRow, deliveries};
use ringup_store::{Sql, StoreError};

/// An endpoint's filter, parsed once per batch.
pub struct Filter {
    patterns: Vec<Pattern>,
    stores: Vec<String>,
}

impl Filter {
    /// The filter of a stored endpoint. A pattern that no longer parses selects nothing
    /// (every stored pattern was checked when saved).
    pub fn of(row: &WebhookRow) -> Filter {
        let patterns = row
            .events
            .iter()
            .map(|p| Pattern::parse(p).unwrap_or_else(|_| Pattern::Exact(String::new())))
            .collect();
        Filter {
            patterns,
            stores: row.store_ids.clone(),
        }
    }

    /// Whether the endpoint wants an event of `event_type` in `store` (`None`: no store).
    pub fn selects(&self, event_type: &str, store: Option<&str>) -> bool {
        if !selects(&self.patterns, event_type) {
            return false;
        }
        match store {
            None => self.stores.is_empty(),
            Some(store) => self.stores.is_empty() || self.stores.iter().any(|s| s == store),
        }
    }
}

/// The lane of an event: its store, `''` for events of no store.
pub fn lane_of(event: &StreamEvent) -> String {
    event.store_id.clone().unwrap_or_default()
}

/// Adds the pending deliveries of `events` (just positioned, in `tx`) at `at`; answers how
/// many.
pub async fn fan_out(
    tx: &mut impl Sql,
    events: &[StreamEvent],
    at: DateTime<Utc>,
) -> Result<usize, StoreError> {
    if events.is_empty() {
        return Ok(0);
    }
    let endpoints = store::enabled(tx).await?;
    if endpoints.is_empty() {
        return Ok(0);
    }
    let filters: Vec<(String, Filter)> = endpoints
        .iter()
        .map(|row| (row.id.clone(), Filter::of(row)))
        .collect();
    let mut new = Vec::new();
    for event in events {
        for (webhook_id, filter) in &filters {
            if !filter.selects(&event.event_type, event.store_id.as_deref()) {
                continue;
            }
            new.push(deliveries::NewDelivery {
                id: WebhookDeliveryId::new().to_string(),
                webhook_id: webhook_id.clone(),
                event_id: event.id.clone(),
                event_type: event.event_type.clone(),
                lane: lane_of(event),
                position: event.position,
                // Sent as the event's envelope, built when claimed: a copy per endpoint
                // would cost the writer its 1.5 KB twice (inserted, then marked sent).
                body: None,
            });
        }
    }
    deliveries::insert_first(tx, &new, at).await?;
    Ok(new.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(patterns: &[&str], stores: &[&str]) -> Filter {
        Filter {
            patterns: patterns
                .iter()
                .map(|p| Pattern::parse(p).unwrap_or(Pattern::Any))
                .collect(),
            stores: stores.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn store_less_events_go_only_to_endpoints_without_a_store_filter() {
        let all = filter(&[], &[]);
        let some = filter(&["product.*", "sale.*"], &["s1"]);
        assert!(all.selects("product.created", None));
        assert!(!some.selects("product.created", None));
        assert!(some.selects("sale.completed", Some("s1")));
        assert!(!some.selects("sale.completed", Some("s2")));
        assert!(!some.selects("stock.low", Some("s1")));
        assert!(all.selects("stock.low", Some("s9")));
    }
}
