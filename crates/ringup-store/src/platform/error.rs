//! Store errors: what the layers above may match on. Database error text never leaves this
//! crate in a form meant for a user; it is kept as the `source` for the log.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    /// The database could not be reached, or the pool is closed or exhausted.
    #[error("database unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// A unique constraint was violated; `constraint` names it when the engine reports it.
    #[error("unique constraint violated: {constraint:?}")]
    UniqueViolation {
        constraint: Option<String>,
        #[source]
        source: sqlx::Error,
    },
    /// The database refused a value outside its column's range (migration 0008; see
    /// [`crate::platform::bounds`]): a total that the checks above it should have refused. The write
    /// is rolled back like any failed statement; `what` names the table or constraint.
    #[error("value out of range: {what}")]
    OutOfRange {
        what: String,
        #[source]
        source: sqlx::Error,
    },
    /// SQLite's writer has as many writes queued as it accepts: answered at once (503 with
    /// `Retry-After`) rather than after an ever longer wait.
    #[error("too many writes queued")]
    Overloaded,
    /// The group commit of the batch this write was in failed: nothing of the batch was
    /// written, so the request may be retried (with its idempotency key).
    #[error("the write's batch could not be committed")]
    BatchFailed(#[source] std::sync::Arc<sqlx::Error>),
    /// A row the caller asked for does not exist.
    #[error("not found")]
    NotFound,
    /// Applying migrations failed.
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value that this version of ringup cannot read (a corrupt or foreign row).
    #[error("unreadable stored value in {what}: {detail}")]
    Corrupt { what: &'static str, detail: String },
    /// Any other database error: a bug or a broken database, answered as a 500.
    #[error("database error")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if let Some(what) = err.as_database_error().and_then(bound_refused) {
            return StoreError::OutOfRange { what, source: err };
        }
        match &err {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_) => StoreError::Unavailable(err),
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::UniqueViolation {
                constraint: db.constraint().map(str::to_owned),
                source: err,
            },
            sqlx::Error::Database(db) if is_unavailable_code(db.code().as_deref()) => {
                StoreError::Unavailable(err)
            }
            _ => StoreError::Database(err),
        }
    }
}

/// What a range guard of migration 0008 refused, if this error is one: on SQLite the trigger's
/// message (`ringup-bounds: <table>`), on PostgreSQL a check violation (23514) of a constraint
/// named `<table>_<column>_range`.
fn bound_refused(db: &dyn sqlx::error::DatabaseError) -> Option<String> {
    if let Some(table) = db.message().strip_prefix("ringup-bounds: ") {
        return Some(table.to_owned());
    }
    let constraint = db.constraint()?;
    (db.code().as_deref() == Some("23514") && constraint.ends_with("_range"))
        .then(|| constraint.to_owned())
}

/// PostgreSQL SQLSTATEs that mean "the database is not there right now" rather than "the query
/// is wrong": the database was dropped or is shutting down, or the connection was lost.
fn is_unavailable_code(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("3D000" | "57P01" | "57P02" | "57P03" | "08000" | "08003" | "08006")
    )
}

impl StoreError {
    pub fn corrupt(what: &'static str, err: impl std::fmt::Display) -> Self {
        StoreError::Corrupt {
            what,
            detail: err.to_string(),
        }
    }

    /// The request field a unique violation is about, when it is one of [`UNIQUE_FIELDS`]:
    /// the one place a database constraint becomes "this field is already taken".
    pub fn taken_field(&self) -> Option<&'static str> {
        UNIQUE_FIELDS
            .iter()
            .find(|key| self.is_unique_on(key))
            .map(|key| key.field)
    }

    /// True when this is a unique violation of `key`, by the name each engine reports.
    fn is_unique_on(&self, key: &UniqueKey) -> bool {
        let StoreError::UniqueViolation { constraint, source } = self else {
            return false;
        };
        constraint.as_deref() == Some(key.postgres)
            || match source {
                sqlx::Error::Database(db) => db
                    .message()
                    .strip_prefix("UNIQUE constraint failed: ")
                    .is_some_and(|columns| columns == key.sqlite),
                _ => false,
            }
    }

    /// A short, stable name of the error's kind, for a span's `error.type`.
    pub fn kind(&self) -> &'static str {
        match self {
            StoreError::Unavailable(_) => "unavailable",
            StoreError::UniqueViolation { .. } => "unique_violation",
            StoreError::OutOfRange { .. } => "out_of_range",
            StoreError::Overloaded => "overloaded",
            StoreError::BatchFailed(_) => "batch_failed",
            StoreError::NotFound => "not_found",
            StoreError::Migrate(_) => "migrate",
            StoreError::Corrupt { .. } => "corrupt",
            StoreError::Database(_) => "database",
        }
    }

    /// True when retrying later could succeed: the caller should answer 503, not 500.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }

    /// True when the database gave this transaction up and nothing of it was kept, so running
    /// the whole write again may succeed: a PostgreSQL serialization failure (40001) or
    /// deadlock victim (40P01), SQLite busy or locked (another process held the file past the
    /// busy timeout), or a failed group commit.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::BatchFailed(_) => true,
            StoreError::Database(sqlx::Error::Database(db)) => matches!(
                db.code().as_deref(),
                Some("40001" | "40P01" | "5" | "6" | "261" | "262" | "517")
            ),
            _ => false,
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A unique key a client can run into, by the name each engine reports, and the field of the
/// request it is about.
#[derive(Clone, Copy, Debug)]
pub struct UniqueKey {
    /// The constraint or index name (`<table>_<column>_key` for a column's `unique`).
    pub postgres: &'static str,
    /// The columns of SQLite's `UNIQUE constraint failed: <table>.<column>, …` message.
    pub sqlite: &'static str,
    pub field: &'static str,
}

const fn key(postgres: &'static str, sqlite: &'static str, field: &'static str) -> UniqueKey {
    UniqueKey {
        postgres,
        sqlite,
        field,
    }
}

/// Every unique key a write can hit with a value the client chose; a violation of any other
/// is a bug (ids are fresh UUIDv7s) and stays a 500.
pub const UNIQUE_FIELDS: [UniqueKey; 8] = [
    key("stores_code_key", "stores.code", "code"),
    key(
        "registers_store_id_name_key",
        "registers.store_id, registers.name",
        "name",
    ),
    key("tax_classes_name_key", "tax_classes.name", "name"),
    key("products_sku_key_key", "products.sku_key", "sku"),
    key("products_barcode_key", "products.barcode", "barcode"),
    key("users_username_key_key", "users.username_key", "username"),
    key("users_email_key_key", "users.email_key", "email"),
    key("customers_phone", "customers.phone", "phone"),
];
