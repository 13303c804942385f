//! The room-chats service: configuration, command line and wiring of the crates below it.
//! The binary (`main.rs`) parses the command line; tests start nodes through [`start`].

pub mod config;
mod config_error;
mod dev_secret;
pub mod healthcheck;
pub mod logging;
pub mod service;
pub mod token;

pub use service::{RunningService, ServiceConfig, ServiceControl, StartError, start};
