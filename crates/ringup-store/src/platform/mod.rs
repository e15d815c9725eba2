//! What every domain's storage stands on: the engine-aware pool and transactions ([`db`]),
//! SQLite's group-committing writer ([`writer`]) and its own connection ([`direct`]), the one
//! statement interface of the hot writes ([`sql`]),
//! the error type, timestamps, pagination and filters, numeric bounds, and the two
//! cross-cutting tables every write may touch (idempotency keys and the outbox).

pub mod bounds;
pub mod contents;
pub mod db;
pub(crate) mod decode;
pub(crate) mod direct;
pub mod error;
pub(crate) mod filter;
pub mod idempotency;
pub mod meta;
pub mod outbox;
pub mod page;
pub(crate) mod row;
pub mod sql;
pub mod time;
pub(crate) mod trace;
pub mod tx;
pub mod writer;
