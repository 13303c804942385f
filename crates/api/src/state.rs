//! What handlers share.

use std::sync::Arc;

use room_chats_core::Limits;

use room_chats_core::attachments::Attachments;
use room_chats_core::audit::AuditTrail;
use room_chats_core::canned_replies::CannedReplies;
use room_chats_core::chat::Chat;
use room_chats_core::erasure::Erasures;
use room_chats_core::exports::Exports;
use room_chats_core::metrics::{Exposition, Metrics};
use room_chats_core::push::WebPush;
use room_chats_core::retention::Retention;
use room_chats_core::support_report::SupportReports;
use room_chats_core::webhooks::Webhooks;

use crate::realtime::{Hub, Inbox, RealtimeSettings};

/// Application state, shared by every worker.
#[derive(Clone)]
pub struct AppState {
    /// The use cases, shared by REST handlers and WebSocket sessions.
    pub chat: Chat,
    /// Request limits.
    pub limits: Limits,
    /// This node's map of rooms to live sessions; REST changes are announced through it.
    pub hub: Arc<Hub>,
    /// This node's inbox: what every per-user stream hears.
    pub inbox: Arc<Inbox>,
    /// WebSocket limits and timings.
    pub realtime: Arc<RealtimeSettings>,
    /// Webhook endpoint use cases.
    pub webhooks: Webhooks,
    /// The admins' saved replies.
    pub canned: CannedReplies,
    /// The staff report.
    pub reports: SupportReports,
    /// The audit trail.
    pub audit: AuditTrail,
    /// Retention settings and legal holds.
    pub retention: Retention,
    /// Erasures of people.
    pub erasures: Erasures,
    /// Exports of people's data.
    pub exports: Exports,
    /// Web Push subscriptions.
    pub push: WebPush,
    /// Uploads and downloads of files.
    pub attachments: Attachments,
    /// The node's metrics.
    pub metrics: Arc<Metrics>,
    /// What `GET /metrics` renders; `None` when metrics are served on `METRICS_BIND`
    /// instead.
    pub exposition: Option<Arc<Exposition>>,
}
