//! The trace id in log lines. The request's span records `trace_id` (see
//! `ringup_api::http::trace_context`: the span's own trace when traces are exported, else the
//! caller's `traceparent`, else none); [`layer`] keeps it with the span, and the JSON format
//! ([`JsonWithTraceId`]) writes it as a top-level `trace_id` of every line logged inside that
//! span or any span under it — a write transaction's, on SQLite's writer task too. Text logs
//! show it among the request span's fields.
//!
//! With traces off and no `traceparent`, a line has no `trace_id`: no trace exists that it
//! could point to, and the request id already ties the request's lines together.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{Filtered, filter_fn};
use tracing_subscriber::fmt::format::{Format, Json, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// The name of the span field that carries a trace id.
const FIELD: &str = "trace_id";

/// A span's trace id, kept in the span's extensions: 32 lowercase hex digits.
#[derive(Clone, Debug, PartialEq, Eq)]
struct TraceId(String);

/// Keeps the `trace_id` a span records (at creation or later) with the span. Filtered to the
/// spans that have the field, so it costs nothing elsewhere.
pub(super) fn layer<S>() -> Filtered<TraceIds, impl tracing_subscriber::layer::Filter<S>, S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    TraceIds.with_filter(super::Asked(filter_fn(|meta| {
        meta.is_span() && meta.fields().field(FIELD).is_some()
    })))
}

pub(super) struct TraceIds;

impl<S> Layer<S> for TraceIds
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut found = Found(None);
        attrs.record(&mut found);
        keep(found, id, &ctx);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let mut found = Found(None);
        values.record(&mut found);
        keep(found, id, &ctx);
    }
}

fn keep<S>(found: Found, id: &Id, ctx: &Context<'_, S>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    if let (Found(Some(trace_id)), Some(span)) = (found, ctx.span(id)) {
        span.extensions_mut().replace(trace_id);
    }
}

/// The `trace_id` field among a span's values, if it is a well-formed trace id (so it can be
/// written into a JSON line as it is).
struct Found(Option<TraceId>);

impl Visit for Found {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == FIELD
            && value.len() == 32
            && value
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            self.0 = Some(TraceId(value.to_owned()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == FIELD {
            self.record_str(field, &format!("{value:?}"));
        }
    }
}

/// The JSON line format ringup always used (the event's fields flattened, the current span's
/// fields under `span`), with the trace id of the event's span, if any, as `trace_id` first.
pub struct JsonWithTraceId(Format<Json>);

impl JsonWithTraceId {
    pub fn new() -> JsonWithTraceId {
        JsonWithTraceId(
            tracing_subscriber::fmt::format()
                .json()
                .with_current_span(true)
                .with_span_list(false)
                .flatten_event(true),
        )
    }
}

impl Default for JsonWithTraceId {
    fn default() -> Self {
        JsonWithTraceId::new()
    }
}

impl<S, N> FormatEvent<S, N> for JsonWithTraceId
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let trace_id = ctx.event_scope().and_then(|scope| {
            scope
                .into_iter()
                .find_map(|span| span.extensions().get::<TraceId>().cloned())
        });
        let Some(TraceId(trace_id)) = trace_id else {
            return self.0.format_event(ctx, writer, event);
        };
        let mut line = String::new();
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        match line.strip_prefix('{') {
            Some(rest) => write!(writer, "{{\"{FIELD}\":\"{trace_id}\",{rest}"),
            None => writer.write_str(&line),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    /// Log lines written to memory.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Lines {
        type Writer = Lines;
        fn make_writer(&'a self) -> Lines {
            self.clone()
        }
    }

    fn logged(run: impl FnOnce()) -> Vec<serde_json::Value> {
        let lines = Lines::default();
        let subscriber = tracing_subscriber::registry().with(layer()).with(
            tracing_subscriber::fmt::layer()
                .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
                .event_format(JsonWithTraceId::new())
                .with_writer(lines.clone()),
        );
        tracing::subscriber::with_default(subscriber, run);
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

    #[test]
    fn lines_inside_a_traced_span_and_below_it_carry_the_trace_id() {
        let lines = logged(|| {
            let request = tracing::info_span!("request", trace_id = tracing::field::Empty);
            request.record("trace_id", TRACE);
            request.in_scope(|| {
                tracing::info!("in the request");
                tracing::info_span!("db.transaction").in_scope(|| tracing::warn!("in its write"));
            });
            tracing::info!("outside");
        });
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(lines[0]["trace_id"], TRACE);
        assert_eq!(lines[0]["message"], "in the request");
        assert_eq!(lines[1]["trace_id"], TRACE);
        assert_eq!(lines[1]["span"]["name"], "db.transaction");
        assert!(lines[2].get("trace_id").is_none(), "{}", lines[2]);
    }

    #[test]
    fn a_span_without_a_trace_id_or_with_a_malformed_one_adds_nothing() {
        let lines = logged(|| {
            tracing::info_span!("request", trace_id = tracing::field::Empty)
                .in_scope(|| tracing::info!("no trace"));
            tracing::info_span!("request", trace_id = "\",\"forged\":\"1")
                .in_scope(|| tracing::info!("forged"));
        });
        assert!(lines.iter().all(|line| line.get("trace_id").is_none()));
        assert!(lines.iter().all(|line| line.get("forged").is_none()));
    }
}
