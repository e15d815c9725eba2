//! The ringup binary's library half: settings, startup and telemetry, so the test kit can start
//! the same server the binary does.

pub mod backup;
pub mod bootstrap;
pub mod check;
pub mod demo;
pub mod serve;
pub mod settings;
pub mod startup;
pub mod telemetry;
pub mod workers;

pub use settings::{Cli, Command, RawSettings, Settings};
pub use startup::{AppOptions, Application, StartupError};
