//! Persistence of room-chats. This is the only crate that knows Diesel: it owns the schema, the
//! migrations of both backends and every query. Functions take a `&mut DbConnection` (a pooled
//! connection or one inside a transaction) and return wire types; [`Database::run`] calls them
//! off the async executor.

#[macro_use]
mod raw_sql;

pub mod attachments;
mod audience;
pub mod audit;
pub mod auto_close;
pub mod batch;
pub mod canned_replies;
mod connection;
pub mod edits;
pub mod erasure;
mod error;
pub mod exports;
pub mod members;
pub mod messages;
pub mod notifications;
pub mod order_events;
pub mod orders;
mod outbox;
pub mod persons;
pub mod push;
mod read_through;
pub mod response_clocks;
pub mod retention;
mod room_lookup;
pub mod rooms;
mod rows;
mod schema;
pub mod search;
pub mod storage_deletions;
pub mod support_report;
mod time;
pub mod timeline;
pub mod waiting_backfill;
pub mod webhooks;

pub use audience::Audience;
pub use connection::{Database, DatabaseUrl, DbConnection, PoolSettings, PoolStats};
pub use error::StoreError;
