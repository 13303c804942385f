//! The store's error type. Callers map it to HTTP once (`room-chats-api`); the variants say
//! what the caller can do about it, the inner text is for logs only.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// What went wrong in a store call.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached (pool timeout, lost connection). Retry later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The row the call is about does not exist.
    #[error("not found")]
    NotFound,
    /// The node's message writer is behind: its queue holds messages that have waited
    /// `waited`, longer than the configured budget. Nothing was stored; retry shortly.
    #[error("message writer overloaded: queued messages have waited {waited:?}")]
    Overloaded {
        /// How long the messages being written had waited.
        waited: std::time::Duration,
    },
    /// The room is closed and accepts no new messages.
    #[error("room is closed")]
    RoomClosed,
    /// The sender may no longer write to the room: a client whose order now belongs to
    /// another customer. Callers answer as if the room did not exist for it.
    #[error("the sender has no access to the room")]
    NoAccess,
    /// The caller sees the thing but may not do this to it (e.g. edit another's message).
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// The change contradicts existing data (e.g. assigning the customer as an admin).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// The request names something it may not use (an attachment of another room or user).
    #[error("invalid: {0}")]
    Invalid(&'static str),
    /// A setting names something the database does not have (start-up only); the text says
    /// which and what to do.
    #[error("{0}")]
    Setting(String),
    /// Migrations could not be applied.
    #[error("migration failed: {0}")]
    Migration(String),
    /// Any other database failure: a bug or a broken database, never the caller's fault.
    #[error("database error: {0}")]
    Query(DieselError),
    /// A stored value cannot be read back (a time out of range, JSON that does not parse):
    /// a bug or a hand-edited row. Reads fail loudly rather than show a default.
    #[error("unreadable stored value: {0}")]
    Unreadable(String),
    /// A blocking task died (panicked or was cancelled).
    #[error("database task failed: {0}")]
    Task(String),
}

impl StoreError {
    /// True when the same call may succeed later without any change by the caller.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

impl From<room_chats_types::spelling::UnknownSpelling> for StoreError {
    fn from(unknown: room_chats_types::spelling::UnknownSpelling) -> Self {
        Self::Unreadable(unknown.to_string())
    }
}

impl From<DieselError> for StoreError {
    fn from(error: DieselError) -> Self {
        match error {
            DieselError::NotFound => Self::NotFound,
            DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                info,
            ) => Self::Unavailable(info.message().to_owned()),
            DieselError::BrokenTransactionManager => {
                Self::Unavailable("transaction manager broken".to_owned())
            }
            other => Self::Query(other),
        }
    }
}

impl From<diesel::r2d2::PoolError> for StoreError {
    fn from(error: diesel::r2d2::PoolError) -> Self {
        Self::Unavailable(error.to_string())
    }
}

/// True when `error` is a unique-constraint violation, i.e. a concurrent writer won a race.
pub(crate) fn is_unique_violation(error: &DieselError) -> bool {
    matches!(
        error,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    )
}
