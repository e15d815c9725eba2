//! ringup's domain types and rules.
//!
//! Invariants for the whole crate: no I/O (no files, sockets, databases or environment), no
//! HTTP or SQL types, and no `unwrap`/`expect`/`panic!`/slice indexing outside tests. Values
//! that cross a boundary are newtypes with private fields, built only through `parse` /
//! `TryFrom` and deserialised with `serde(try_from)`, so a value that exists is a valid one.

pub mod audit;
pub mod catalog;
pub mod checkout;
pub mod clock;
pub mod errors;
pub mod events;
pub mod ids;
pub mod mail;
pub mod rate;
pub mod reports;
pub mod stock;
pub mod text;
pub mod tokens;
pub mod users;
pub mod webhooks;
