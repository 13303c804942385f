//! The HTTP endpoints, one per file, and the table that mounts them.

mod attachments;
mod attachments_direct;
mod audit_trail;
mod canned_replies;
mod erasures;
mod exports;
mod health;
mod json_body;
mod legal_holds;
mod message_change;
mod messages_history;
mod messages_send;
pub(crate) mod metrics;
mod order_events;
mod orders_upsert;
mod push_subscriptions;
mod read_marker;
mod room_admins;
mod room_create;
mod room_detail;
mod room_notifications;
mod room_rating;
mod room_retention;
mod room_status;
mod rooms_list;
mod search_messages;
mod support_report;
mod webhook_endpoints;
mod ws_chat;
mod ws_refusal;
mod ws_stream;

use room_chats_types::ErrorBody;
use utoipa_actix_web::service_config::ServiceConfig;

/// Mounts every endpoint. Paths are registered without a trailing slash; the
/// `normalize_path` middleware makes the slash optional for callers.
pub fn configure(config: &mut ServiceConfig) {
    config
        .service(health::healthz)
        .service(health::readyz)
        .service(metrics::metrics)
        .service(orders_upsert::upsert_order)
        .service(order_events::record_order_event)
        .service(rooms_list::list_rooms)
        .service(search_messages::search_messages)
        .service(room_create::create_or_get_room)
        .service(room_detail::room_detail)
        .service(room_rating::rate_room)
        .service(room_status::close_room)
        .service(room_status::reopen_room)
        .service(room_admins::assign_admin)
        .service(room_admins::unassign_admin)
        .service(room_notifications::room_notifications)
        .service(room_notifications::set_room_notifications)
        .service(messages_history::history)
        .service(messages_send::send_message)
        .service(message_change::edit_message)
        .service(message_change::delete_message)
        .service(message_change::message_revisions)
        .service(read_marker::mark_read)
        .service(attachments::upload)
        .service(attachments::download)
        .service(attachments::preview)
        .service(attachments_direct::start_direct_upload)
        .service(attachments_direct::complete_direct_upload)
        .service(push_subscriptions::vapid_public_key)
        .service(push_subscriptions::list_subscriptions)
        .service(push_subscriptions::subscribe)
        .service(push_subscriptions::unsubscribe)
        .service(canned_replies::create_reply)
        .service(canned_replies::list_replies)
        .service(canned_replies::get_reply)
        .service(canned_replies::replace_reply)
        .service(canned_replies::delete_reply)
        .service(support_report::support_report)
        .service(audit_trail::audit_trail)
        .service(room_retention::room_retention)
        .service(room_retention::set_room_retention)
        .service(legal_holds::user_legal_hold)
        .service(legal_holds::place_user_legal_hold)
        .service(legal_holds::lift_user_legal_hold)
        .service(erasures::request_erasure)
        .service(erasures::erasure_status)
        .service(exports::request_export)
        .service(exports::export_status)
        .service(exports::export_archive)
        .service(webhook_endpoints::create_endpoint)
        .service(webhook_endpoints::list_endpoints)
        .service(webhook_endpoints::get_endpoint)
        .service(webhook_endpoints::update_endpoint)
        .service(webhook_endpoints::delete_endpoint)
        .service(webhook_endpoints::dead_letters)
        .service(webhook_endpoints::replay_dead_letters)
        .service(ws_chat::connect)
        .service(ws_stream::connect_stream);
}

/// Error answers any authenticated endpoint can give.
#[derive(utoipa::IntoResponses)]
#[expect(
    dead_code,
    reason = "only describes responses for the OpenAPI document"
)]
pub(crate) enum CommonErrors {
    /// Not JSON at all, the wrong content type or an unparsable query string. (JSON of the
    /// wrong shape or with wrong types is 422 `validation_failed`.)
    #[response(
        status = 400,
        description = "The request could not be parsed: a body that is not JSON, a wrong `Content-Type`, or an unparsable query string (`bad_request`)"
    )]
    BadRequest(ErrorBody),
    /// Missing, malformed, expired or otherwise unacceptable token.
    #[response(
        status = 401,
        description = "Missing or invalid bearer token (`unauthorized`); carries `WWW-Authenticate: Bearer`"
    )]
    Unauthorized(ErrorBody),
    /// A request body that stopped arriving.
    #[response(
        status = 408,
        description = "The request body sent nothing for `REQUEST_BODY_TIMEOUT_SECS` (`request_timeout`); the connection is closed"
    )]
    RequestTimeout(ErrorBody),
    /// Database unavailable.
    #[response(
        status = 503,
        description = "A dependency is unavailable; retry later (`unavailable`)"
    )]
    Unavailable(ErrorBody),
}
