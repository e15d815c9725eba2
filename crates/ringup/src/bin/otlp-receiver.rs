//! `otlp-receiver`: the smallest OTLP/HTTP trace receiver that is still the real protocol, for
//! ringup's tests and for looking at ringup's spans without running a collector.
//!
//! It listens (default `127.0.0.1:0`) and prints `otlp-receiver listening on http://ADDR` as its
//! first line on stdout. Every `POST /v1/traces` with a protobuf `ExportTraceServiceRequest`
//! (`Content-Type: application/x-protobuf`, uncompressed: ringup's exporter sends that) is
//! decoded and answered 200 with an empty `ExportTraceServiceResponse`, as the OTLP
//! specification says; each span is written as one JSON line to `--out FILE` (default stdout):
//! `trace_id`, `span_id`, `parent_span_id` (hex, empty for a root), `name`, `kind`,
//! `start_unix_nano`, `end_unix_nano`, `status`, `attributes`, `events` and the `resource`'s
//! attributes. A body that is not such a request is answered 400 and written nowhere.
//!
//! ```text
//! $ otlp-receiver --out spans.jsonl &
//! otlp-receiver listening on http://127.0.0.1:43117
//! $ OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:43117 ringup serve
//! ```

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use clap::Parser;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::{Map, Value, json};

#[derive(Debug, Parser)]
#[command(
    name = "otlp-receiver",
    about = "Receives OTLP/HTTP traces and writes each span as a JSON line"
)]
struct Args {
    /// Address to listen on (port 0: any free port; the first line printed names it).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// File the spans are appended to, one JSON line each (default: stdout).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Where span lines go; one request's spans are written together.
type Sink = Arc<Mutex<Box<dyn Write + Send>>>;

const PROTOBUF: &str = "application/x-protobuf";

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match serve(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("otlp-receiver: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args) -> std::io::Result<()> {
    let sink: Box<dyn Write + Send> = match &args.out {
        Some(path) => Box::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?,
        ),
        None => Box::new(std::io::stdout()),
    };
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let address = listener.local_addr()?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "otlp-receiver listening on http://{address}")?;
    stdout.flush()?;
    let app = Router::new()
        .route("/v1/traces", post(receive))
        .with_state(Arc::new(Mutex::new(sink)));
    axum::serve(listener, app).await
}

async fn receive(State(sink): State<Sink>, headers: HeaderMap, body: Bytes) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type != PROTOBUF {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "only application/x-protobuf",
        )
            .into_response();
    }
    let request = match ExportTraceServiceRequest::decode(body) {
        Ok(request) => request,
        Err(err) => return (StatusCode::BAD_REQUEST, err.to_string()).into_response(),
    };
    let mut lines = String::new();
    for resource_spans in &request.resource_spans {
        let resource = resource_spans
            .resource
            .as_ref()
            .map(|r| attributes(&r.attributes))
            .unwrap_or_default();
        for scope_spans in &resource_spans.scope_spans {
            for span in &scope_spans.spans {
                lines.push_str(&line(span, &resource).to_string());
                lines.push('\n');
            }
        }
    }
    let written = match sink.lock() {
        Ok(mut sink) => sink.write_all(lines.as_bytes()).and_then(|()| sink.flush()),
        Err(_) => Err(std::io::Error::other("the output lock is poisoned")),
    };
    if let Err(err) = written {
        return (StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).into_response();
    }
    let answer = ExportTraceServiceResponse::default().encode_to_vec();
    ([(header::CONTENT_TYPE, PROTOBUF)], answer).into_response()
}

/// One span as a JSON object.
fn line(span: &Span, resource: &Map<String, Value>) -> Value {
    let events: Vec<Value> = span
        .events
        .iter()
        .map(|event| json!({"name": event.name, "attributes": attributes(&event.attributes)}))
        .collect();
    let status = span
        .status
        .as_ref()
        .map(|s| json!({"code": s.code, "message": s.message}));
    json!({
        "trace_id": hex::encode(&span.trace_id),
        "span_id": hex::encode(&span.span_id),
        "parent_span_id": hex::encode(&span.parent_span_id),
        "name": span.name,
        "kind": span.kind,
        "start_unix_nano": span.start_time_unix_nano,
        "end_unix_nano": span.end_time_unix_nano,
        "status": status,
        "attributes": attributes(&span.attributes),
        "events": events,
        "resource": resource,
    })
}

fn attributes(pairs: &[KeyValue]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|pair| (pair.key.clone(), value(pair.value.as_ref())))
        .collect()
}

fn value(any: Option<&AnyValue>) -> Value {
    match any.and_then(|v| v.value.as_ref()) {
        None => Value::Null,
        Some(any_value::Value::StringValue(s)) => json!(s),
        Some(any_value::Value::BoolValue(b)) => json!(b),
        Some(any_value::Value::IntValue(i)) => json!(i),
        Some(any_value::Value::DoubleValue(d)) => json!(d),
        Some(any_value::Value::BytesValue(b)) => json!(hex::encode(b)),
        Some(any_value::Value::ArrayValue(a)) => {
            Value::Array(a.values.iter().map(|v| value(Some(v))).collect())
        }
        Some(any_value::Value::KvlistValue(kv)) => Value::Object(attributes(&kv.values)),
        // A string by index into a dictionary ringup's exporter never sends.
        Some(_) => Value::Null,
    }
}
