//! The core of room-chats, without a transport: the use cases (`chat`) and the rules they
//! apply (access, limits, the per-user send budget), token verification, the error table both
//! transports answer with, attachment policy and storage, webhook scheduling and signing,
//! Web Push subscriptions and the metrics registry.
//!
//! Nothing here depends on actix, and nothing here runs in the background: the HTTP routes
//! and WebSocket actors (room-chats-api) and the background workers (room-chats-workers)
//! adapt these types. CI fails if this crate gains an actix dependency.

pub mod access;
pub mod attachments;
pub mod audit;
pub mod auth;
pub mod canned_replies;
pub mod chat;
pub mod erasure;
pub mod error;
pub mod exports;
pub mod limits;
pub mod metrics;
mod purge;
pub mod push;
pub mod retention;
pub mod retry_after;
pub mod search;
pub mod send_budget;
pub mod sla;
pub mod support_report;
pub mod visible_room;
pub mod webhooks;

pub use auth::{Caller, TokenVerifier, VerifierSettings};
pub use chat::Chat;
pub use error::ApiError;
pub use limits::Limits;
