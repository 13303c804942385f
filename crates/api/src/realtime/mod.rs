//! The live half of the service: one actor per WebSocket connection ([`session`]), the node's
//! map of rooms to sessions ([`hub`]), and the guard that refuses oversized frames before
//! they are buffered ([`frame_guard`]).

mod connection;
pub mod frame_guard;
pub mod hub;
pub mod session;
pub mod settings;
mod timeline;
mod writer;

pub use hub::Hub;
pub use settings::{AllowedOrigins, RealtimeSettings};
