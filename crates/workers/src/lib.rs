//! The background workers of a node: what runs beside the requests, started once by the
//! server's wiring and never by a request.
//!
//! - [`webhook_dispatcher`] (its own thread and runtime) delivers the webhook outbox, signed
//!   ([`webhook_sender`]), with the [`push_sender`] beside it;
//! - [`notifier`] tells members who are away that they have unread messages;
//! - [`attachment_collector`] removes files nobody can reach any more;
//! - [`preview_maker`] makes the previews of uploaded images;
//! - [`search_indexer`] indexes for search the messages the write path did not;
//! - [`auto_closer`] closes rooms by the operator's policies (idle, order done);
//! - [`waiting_backfill`] works out whom rooms stored before the waiting state wait for;
//! - [`response_clock_sweeper`] marks missed response-time targets;
//! - [`retention_sweeper`] deletes what is older than the operator keeps it;
//! - [`eraser`] erases the people the platform asks it to;
//! - [`exporter`] writes the archives of people's data they or the platform ask for.
//!
//! Each adapts the core's use cases and rules (room-chats-core); none knows actix.

pub mod attachment_collector;
pub mod auto_closer;
pub mod eraser;
pub mod exporter;
pub mod notifier;
pub mod preview_maker;
pub mod push_sender;
pub mod response_clock_sweeper;
pub mod retention_sweeper;
pub mod search_indexer;
pub mod waiting_backfill;
pub mod webhook_dispatcher;
pub mod webhook_sender;

pub use auto_closer::AutoCloseSettings;
pub use notifier::NotificationSettings;
pub use response_clock_sweeper::ResponseClockSettings;
pub use retention_sweeper::RetentionSettings;
pub use webhook_dispatcher::WebhookDispatch;
