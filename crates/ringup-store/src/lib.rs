//! ringup-store: persistence for ringup.
//!
//! Every query is written once, in the SQL dialect that SQLite and PostgreSQL both accept, and
//! runs through sqlx's `Any` driver (see `docs/ARCHITECTURE.md` for why). Where the engines must
//! differ — connection setup, how a write transaction starts, how migrations are found — the
//! difference lives in one small function of [`platform::db`], named after what it does.
//!
//! Conventions every table follows: ids are UUIDv7 strings, money and quantities are 64-bit
//! integers, timestamps are fixed-width RFC 3339 UTC text (see [`platform::time`]), and every
//! multi-statement write runs in one transaction from [`Db::begin_write`] (a hot write: from
//! [`Db::begin_direct`]). Rows are read by column name into `#[derive(sqlx::FromRow)]` structs;
//! `platform::row` converts what the `Any` driver cannot decode by itself (ids, flags, codes),
//! `platform::decode` does the same by hand for the rows a hot write reads through [`Sql`], and
//! [`platform::db::placeholders`] writes every numbered placeholder of the few lists built at
//! run time.

pub mod audit;
pub mod backup;
pub mod catalog;
pub mod checkout;
pub mod errors;
pub mod events;
pub mod mail;
pub mod platform;
pub mod reports;
pub mod stock;
pub mod users;
pub mod webhooks;

pub use platform::db::{
    DatabaseUrl, Db, DbOptions, Durability, Engine, PoolStats, ReadConn, WriteTx, commit,
};
pub use platform::error::StoreError;
pub use platform::sql::{Row, Sql, Stmt, Value, stmt};
pub use platform::tx::{DirectTx, Tx};
pub use platform::writer::{QueueStats, WriterOptions};

/// A connection or open transaction (`&mut *tx`), as the write functions take it.
pub type Conn = sqlx::AnyConnection;
