//! Per-layer filters that are asked at every span and event.
//!
//! tracing-subscriber carries each per-layer filter's verdict from `enabled` to the layer's
//! `on_new_span`/`on_event` in a thread-local map. When every filter answers a callsite
//! `Interest::always`, the `tracing` macros cache that and skip `enabled` for it, so the layer
//! reads whatever the last `enabled` on that thread left in the map. A call that no filter
//! wanted leaves "disabled" there: sqlx asks whether its query log is enabled after every
//! query, with metadata no filter takes. The next request span on that thread was then lost to
//! the trace exporter and to the logs' trace ids, at random (tokio-rs/tracing#2519; on
//! PostgreSQL most login spans were). [`Asked`] caps a filter's callsite interest at
//! `sometimes`, so `enabled` runs, and refreshes the map, before every span and event it takes.

use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, Filter};

/// `F`, asked at every span and event it may take rather than once per callsite.
pub(super) struct Asked<F>(pub(super) F);

impl<S, F: Filter<S>> Filter<S> for Asked<F> {
    fn enabled(&self, meta: &Metadata<'_>, cx: &Context<'_, S>) -> bool {
        self.0.enabled(meta, cx)
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        let interest = self.0.callsite_enabled(meta);
        if interest.is_always() {
            Interest::sometimes()
        } else {
            interest
        }
    }

    fn event_enabled(&self, event: &Event<'_>, cx: &Context<'_, S>) -> bool {
        self.0.event_enabled(event, cx)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        self.0.max_level_hint()
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        self.0.on_new_span(attrs, id, ctx);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        self.0.on_record(id, values, ctx);
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        self.0.on_enter(id, ctx);
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        self.0.on_exit(id, ctx);
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        self.0.on_close(id, ctx);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing::Subscriber;
    use tracing::callsite::Identifier;
    use tracing::field::FieldSet;
    use tracing::metadata::Kind;
    use tracing_subscriber::filter::filter_fn;
    use tracing_subscriber::registry::LookupSpan;
    use tracing_subscriber::{Layer, Registry, layer::SubscriberExt};

    use super::*;

    /// The names of the spans a layer was given.
    #[derive(Clone, Default)]
    struct Seen(Arc<Mutex<Vec<String>>>);

    impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Seen {
        fn on_new_span(&self, attrs: &Attributes<'_>, _: &Id, _: Context<'_, S>) {
            self.0
                .lock()
                .unwrap()
                .push(attrs.metadata().name().to_owned());
        }
    }

    /// What sqlx's query logger asks after a query: metadata made at run time, which no
    /// callsite caches, and which no filter here takes.
    struct QueryLog;
    impl tracing::Callsite for QueryLog {
        fn set_interest(&self, _: Interest) {}
        fn metadata(&self) -> &Metadata<'_> {
            &QUERY_LOG
        }
    }
    static QUERY_LOG_SITE: QueryLog = QueryLog;
    static QUERY_LOG: Metadata<'static> = Metadata::new(
        "log event",
        "sqlx::query",
        tracing::Level::DEBUG,
        None,
        None,
        None,
        FieldSet::new(&[], Identifier(&QUERY_LOG_SITE)),
        Kind::EVENT,
    );

    fn is_ours(meta: &Metadata<'_>) -> bool {
        meta.target().starts_with("ringup")
    }

    /// Two layers, each filtered to ringup's callsites by an [`Asked`] filter; a span made
    /// after a call no filter took, twice (the first registers the callsite, the second reuses
    /// its cached interest). Each layer must see both.
    #[test]
    fn a_span_after_a_call_no_filter_took_still_reaches_every_filtered_layer() {
        let (first, second) = (Seen::default(), Seen::default());
        let subscriber = Registry::default()
            .with(first.clone().with_filter(Asked(filter_fn(is_ours))))
            .with(second.clone().with_filter(Asked(filter_fn(is_ours))));
        tracing::subscriber::with_default(subscriber, || {
            for _ in 0..2 {
                tracing::dispatcher::get_default(|dispatch| dispatch.enabled(&QUERY_LOG));
                let _span = tracing::info_span!(target: "ringup::request", "request");
            }
        });
        assert_eq!(*first.0.lock().unwrap(), ["request", "request"]);
        assert_eq!(*second.0.lock().unwrap(), ["request", "request"]);
    }
}
