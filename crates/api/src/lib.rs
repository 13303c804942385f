//! The HTTP API of room-chats: actix-web handlers (one endpoint per file under `routes`),
//! bearer-token authentication, the error type that maps every failure to a JSON answer once,
//! and the OpenAPI document generated from the handlers.

pub mod access;
mod app;
mod asyncapi;
pub mod attachments;
pub mod auth;
pub mod chat;
pub mod error;
mod method_table;
pub mod metrics;
pub mod notifications;
mod openapi;
pub mod panic_guard;
pub mod push;
pub mod realtime;
pub mod request_body;
mod request_id;
pub mod retry_after;
mod routes;
pub mod send_budget;
pub mod state;
mod telemetry;
pub mod webhooks;

pub use app::app;
pub use asyncapi::asyncapi_json;
pub use auth::{Caller, TokenVerifier, VerifierSettings};
pub use chat::Chat;
pub use error::ApiError;
pub use openapi::{openapi, openapi_json};
pub use state::{AppState, Limits};
