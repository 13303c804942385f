//! The live half of the service: one actor per WebSocket connection (a room's [`session`], a
//! user's [`stream`]), the node's map of rooms to sessions ([`hub`]), the per-user inbox
//! ([`inbox`]), and the guard that refuses oversized frames before they are buffered
//! ([`frame_guard`]).

pub(crate) mod conn_id;
mod connection;
pub mod frame_guard;
pub mod hub;
pub mod inbox;
mod ordering;
pub mod session;
pub mod settings;
pub(crate) mod stream;
pub mod sweep;
mod timeline;
mod writer;

pub use hub::Hub;
pub use inbox::Inbox;
pub use settings::{AllowedOrigins, RealtimeSettings};
