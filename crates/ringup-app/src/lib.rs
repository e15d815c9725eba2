//! ringup-app: the use cases. One function per business operation, between the HTTP layer
//! (`ringup-api`) and storage (`ringup-store`), with no HTTP in it.
//!
//! Every operation takes the database, a [`write::WriteRequest`] (who acts, when, with which
//! idempotency key, from where) and a typed command, and returns a typed outcome or its
//! domain's error enum. How the transaction runs — which connection, the idempotency claim,
//! the outbox and audit events, the response kept for replays, the commit — is this crate's
//! business ([`write::Write`]), not the caller's: the API handlers, the checkout bench and
//! every later caller (rollups, webhooks, offline upload) call the same functions.

pub mod authz;
pub mod backup;
pub mod catalog;
pub mod checkout;
pub mod errors;
pub mod events;
pub mod mail;
pub mod meters;
pub mod problem;
pub mod reports;
pub mod stock;
pub mod users;
pub mod webhooks;
pub mod write;

pub use authz::{Actor, ActorKind, Capability};
pub use problem::FieldError;
pub use write::{Origin, Reply, View, WriteError, WriteRequest, Written};
