//! Identity over HTTP: login, tokens, sessions and cookies with CSRF, password reset (by file
//! and through a real SMTP server), and what each of them writes to the logs.

mod cookies;
pub mod flows;
mod logs;
pub mod reset;
mod reset_smtp;
mod sessions;
mod tokens;
