//! Background tasks the server runs beside the requests.

pub mod errors;
pub mod events;
pub mod mail;
pub mod nats;
pub mod webhooks;
