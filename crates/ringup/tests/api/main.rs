//! ringup's HTTP integration suite: the real server, started per test, spoken to over HTTP.
//!
//! What it covers, by module family:
//!
//! - the server itself: error rendering (`errors`), error tracking and its mail
//!   (`errors_tracking`), request ids, security headers, CORS, compression, operations
//!   endpoints (`ops`; `/metrics` after mixed traffic: `metrics`), connection limits, request
//!   smuggling, graceful shutdown (`lifecycle`), the binary's command line and configuration
//!   (`config`), and its traces, exported to a real OTLP receiver process (`otlp`);
//! - mail notifications over a real SMTP server process (`mail`, servers in `smtp`): the
//!   durable queue and its retries, low-stock batching, daily summaries, opt-outs;
//! - hostile input and bounds: JSON, names, free text and query strings (`hostile_*`), amounts
//!   and quantities at and past their limits (`bounds`, `bounds_fuzz`);
//! - identity and access: login, tokens, sessions, cookies and CSRF, password reset (with a
//!   real SMTP server), lockouts, API keys and their rate limits, users and their scoping, the
//!   route × role authorization matrix (`authz_matrix`), the audit log and its verification;
//! - catalog and inventory: stores, tax classes, categories, products, stock levels and
//!   adjustments, the ledger check (`stock_check`), transfers, reservations, races on one level;
//! - checkout: shifts, sales and their rules, voids, returns, receipts, customers, idempotency,
//!   racing sales and returns, and a whole day in a store checked against an independent model;
//! - reports: access and scoping, validation and formats, figures by hand and against an
//!   independent model of the raw sales (property test), daylight-saving days, exports and
//!   their audit, rollups after racing writers (`reports`);
//! - the documentation: `docs/API.md` lists exactly the routes the server serves
//!   (`api_reference`).
//!
//! The larger families are folders, organised like `auth/`: the family's shared helpers in its
//! `mod.rs`, one module per concern — `authz_matrix` (the table; `world`, what its rows act on),
//! `customers` (`create`, `search`, `history`, `access`, `country`), `receipts` (`json`, `text`,
//! `pdf`, `mail`, `access`), `reservations` (making one in `mod.rs`; `over_time`, expiry,
//! release, access and races), `stock` (`adjustments`, `availability`, `list`, `movements`,
//! `events`) and `transfers` (`requests`, `access`, `stock`, `lifecycle`).
//!
//! Every test starts its own server with `ringup_testkit::spawn_app()` (or runs the real
//! binary), so they run in parallel and pass on SQLite (default) and on PostgreSQL when
//! `RINGUP_TEST_DATABASE_URL` is set.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod api_key_limits;
mod api_keys;
mod api_reference;
mod audit;
mod audit_verify;
mod auth;
mod authz_matrix;
mod backups;
mod bounds;
mod bounds_fuzz;
mod catalog_classes;
mod checkout_day;
mod checkout_model;
mod checkout_support;
mod compression;
mod config;
mod connections;
mod cors;
mod crash;
mod customers;
mod demo;
mod errors;
mod errors_tracking;
mod events;
mod group_commit;
mod headers;
mod hostile_json;
mod hostile_names;
mod hostile_texts;
mod idempotency;
mod lifecycle;
mod mail;
mod metrics;
mod nats;
mod openapi;
mod ops;
mod otlp;
mod products;
mod receipts;
mod reports;
mod request_id;
mod reservations;
mod returns;
mod sales;
mod sales_concurrency;
mod sales_rules;
mod sales_voids;
mod secrets_no_store;
mod shifts;
mod smtp;
mod smuggling;
mod stock;
mod stock_check;
mod stock_concurrency;
mod stores;
mod support;
mod transfers;
mod users;
mod users_scoping;
mod webhooks;
