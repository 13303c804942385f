//! The actix adapters of room-chats: HTTP handlers (one endpoint per file under `routes`),
//! the WebSocket actors (`realtime`), the bearer-token extractor, the mapping of the core's
//! error table to HTTP answers, and the OpenAPI and AsyncAPI documents generated from the
//! handlers. The use cases they adapt live in the core crate.

mod app;
mod asyncapi;
pub mod authenticate;
pub mod error;
mod http_metrics;
mod method_table;
mod openapi;
pub mod panic_guard;
pub mod realtime;
pub mod request_body;
mod request_id;
mod routes;
pub mod state;
mod telemetry;

pub use app::app;
pub use asyncapi::asyncapi_json;
pub use error::HttpError;
pub use openapi::{openapi, openapi_json};
pub use routes::metrics::respond as metrics_response;
pub use state::AppState;
