//! The vocabulary of room-chats shared by every layer: what goes over the wire (REST bodies,
//! error codes) and the small rules that decide whether an input is acceptable.
//!
//! This crate does no I/O and depends only on serde, utoipa and chrono, so the wire contract
//! can be read (and reused by clients) without pulling in the database or the web server.

pub mod attachment;
pub mod audit;
pub mod canned;
pub mod erasure;
pub mod error;
pub mod frames;
pub mod ids;
pub mod message;
pub mod order;
pub mod order_event;
pub mod push;
pub mod report;
pub mod retention;
pub mod role;
pub mod room;
pub mod rules;
pub mod schema;
pub mod search;
pub mod spelling;
pub mod stream;
pub mod webhook;
pub mod whole;

pub use attachment::{AttachmentDto, DirectUploadBody, DirectUploadDto};
pub use audit::{AuditAction, AuditEntryDto, AuditPage, AuditQuery};
pub use canned::{CannedReplyBody, CannedReplyDto};
pub use erasure::{ERASED_NAME, ErasureDto, ErasureStatus, ExportDto, ExportStatus};
pub use error::{ErrorBody, ErrorCode, ErrorDetail};
pub use ids::{OrderId, RoomId, Seq, UserId};
pub use message::{
    EditMessageBody, MessageDto, MessagePage, MessageQuery, ReadMarkerBody, ReadMarkerDto,
    RevisionDto, RevisionReason, SendMessageBody,
};
pub use order::{OrderDto, UpsertOrderBody};
pub use order_event::{OrderEventBody, OrderEventDto, OrderStatus};
pub use push::{
    PushSubscriptionBody, PushSubscriptionDto, PushSubscriptionKeys, VapidPublicKeyDto,
};
pub use report::{
    AdminFiguresDto, ResponseTimeFigures, SatisfactionFigures, SupportFiguresDto, SupportReportDto,
    SupportReportQuery,
};
pub use retention::{
    MAX_RETENTION_DAYS, RoomRetentionBody, RoomRetentionDto, UserLegalHoldBody, UserLegalHoldDto,
};
pub use role::Role;
pub use room::{
    AssignedFilter, ClosePolicy, MemberDto, RatingBody, RatingDto, ResponseClock, RoomDetailDto,
    RoomDto, RoomListQuery, RoomNotificationsBody, RoomNotificationsDto, RoomPage, RoomSort,
    RoomStatus, RoomSummaryDto, SlaClock, Waiting, WaitingFilter, WaitingFor,
};
pub use search::{
    FilenameMatch, MessageSearchQuery, SearchHitDto, SearchPage, SearchSort, TextRange,
    search_words,
};
pub use webhook::{
    CreateWebhookEndpointBody, DeadLetterDto, DeadLetterPage, DeadLetterQuery, ReplayBody,
    ReplayDto, UpdateWebhookEndpointBody, WebhookEndpointDto, WebhookEvent, WebhookEventData,
    WebhookEventType,
};
