//! `GET /audit`: the audit trail of what staff and the platform did (role `admin`).

use actix_web::{HttpResponse, get, web};
use room_chats_types::{AuditPage, AuditQuery, ErrorBody};

use crate::authenticate::Authenticated;
use crate::error::HttpError;
use crate::routes::CommonErrors;
use crate::state::AppState;

/// The recorded actions that changed or revealed data — closes, reopens, assignments,
/// deletions of someone's message, revision reads, webhook endpoint changes — newest first,
/// filtered and paged by `cursor` (docs/DATA-PROTECTION.md#the-audit-trail). Never the words of
/// a message.
#[utoipa::path(
    tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, body = AuditPage, description = "A page of entries, newest first"),
        (status = 403, body = ErrorBody, description = "Only admins read the audit trail (`forbidden`)"),
        (status = 422, body = ErrorBody, description = "A filter or `limit` out of range, or `from` not before `to` (`validation_failed`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[get("/audit")]
pub async fn audit_trail(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, HttpError> {
    let page = state.audit.list(&caller, query.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}
