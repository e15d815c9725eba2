//! The span of one write transaction, from its begin (the wait for SQLite's writer included)
//! to its commit or rollback. It is a `tracing` span, so it is a child of whatever span is
//! current where the transaction begins (a request's), and is exported with it when traces
//! are on. On SQLite the writer enters it while it serves the write's turn, so what the writer
//! does and logs for that write belongs to the request too, although it runs on the writer's
//! task.
//!
//! Attributes (OpenTelemetry database conventions where they have a name): `db.system.name`
//! (`sqlite` or `postgresql`), `ringup.db.connection` (which connection ran it: `writer` and
//! `writer-own` are SQLite's writer connections, `pool` PostgreSQL's pool),
//! `ringup.db.outcome` (`committed`, `rolled back` or `failed`), and on SQLite
//! `ringup.db.batch_size`, the writes its group commit committed together. A failed commit
//! sets the span's status to error with `error.type`. No SQL text and no value is recorded.

use tracing::Span;

use crate::platform::db::Engine;
use crate::platform::error::{StoreError, StoreResult};

/// Which connection runs a transaction.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Connection {
    /// SQLite: the writer's pooled sqlx connection.
    Writer,
    /// SQLite: the writer's own rusqlite connection (the hot writes).
    WriterOwn,
    /// PostgreSQL: a connection of the write pool.
    Pool,
}

impl Connection {
    fn name(self) -> &'static str {
        match self {
            Connection::Writer => "writer",
            Connection::WriterOwn => "writer-own",
            Connection::Pool => "pool",
        }
    }
}

/// A transaction's span. Ended by [`TxSpan::finish`] with the commit's result; dropped without
/// it, the transaction was rolled back.
#[derive(Debug)]
pub(crate) struct TxSpan {
    span: Span,
    finished: bool,
}

impl TxSpan {
    /// Opens the span of a transaction about to begin, under the current span.
    pub(crate) fn begin(engine: Engine, connection: Connection) -> TxSpan {
        let system = match engine {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgresql",
        };
        let span = tracing::info_span!(
            "db.transaction",
            otel.kind = "client",
            otel.status_code = tracing::field::Empty,
            "db.system.name" = system,
            "ringup.db.connection" = connection.name(),
            "ringup.db.outcome" = tracing::field::Empty,
            "ringup.db.batch_size" = tracing::field::Empty,
            "error.type" = tracing::field::Empty,
        );
        TxSpan {
            span,
            finished: false,
        }
    }

    pub(crate) fn span(&self) -> &Span {
        &self.span
    }

    /// The span and what began, or the error (recorded) that kept the transaction from
    /// beginning: a full writer queue, an unreachable database.
    pub(crate) fn began<T>(mut self, begun: StoreResult<T>) -> StoreResult<(T, TxSpan)> {
        match begun {
            Ok(begun) => Ok((begun, self)),
            Err(err) => {
                self.failed(&err);
                Err(err)
            }
        }
    }

    /// Records how the commit went.
    pub(crate) fn finish(mut self, committed: &StoreResult<()>) {
        match committed {
            Ok(()) => {
                self.finished = true;
                self.span.record("ringup.db.outcome", "committed");
            }
            Err(err) => self.failed(err),
        }
    }

    fn failed(&mut self, err: &StoreError) {
        self.finished = true;
        record_failure(&self.span, err);
    }
}

impl Drop for TxSpan {
    fn drop(&mut self) {
        if !self.finished {
            self.span.record("ringup.db.outcome", "rolled back");
        }
    }
}

/// Records on a transaction's span that it failed with `err`: for a write SQLite's writer ran,
/// whose span may have ended as handed over (a full queue) or kept (a failed group commit).
pub(crate) fn record_failure(span: &Span, err: &StoreError) {
    span.record("ringup.db.outcome", "failed");
    span.record("otel.status_code", "ERROR");
    span.record("error.type", err.kind());
}

/// Records on the span of each write of a SQLite batch how many writes it committed with.
pub(crate) fn record_batch_size(span: &Span, writes: usize) {
    // As an i64: the OpenTelemetry layer would record an unsigned number as text.
    span.record(
        "ringup.db.batch_size",
        i64::try_from(writes).unwrap_or(i64::MAX),
    );
}
