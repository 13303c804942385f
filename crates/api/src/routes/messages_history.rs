//! `GET /chat/{room_id}/messages`: pages of history by seq.

use actix_web::{HttpResponse, get, web};
use room_chats_store::messages::HistoryPage;
use room_chats_types::{ErrorBody, MessagePage, MessageQuery};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::routes::CommonErrors;
use crate::state::AppState;

/// Messages before or after a seq (or between two), oldest first. With neither bound: the
/// newest page.
#[utoipa::path(
    tag = "messages",
    params(("room_id" = i64, Path, description = "Room id"), MessageQuery),
    responses(
        (status = 200, body = MessagePage, description = "A page of messages, oldest first"),
        (status = 403, body = ErrorBody, description = "Service tokens cannot chat (`forbidden`)"),
        (status = 404, body = ErrorBody, description = "No such room, or not the caller's (`not_found`)"),
        (status = 422, body = ErrorBody, description = "A negative bound or a `limit` out of range (`validation_failed`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[get("/chat/{room_id}/messages")]
pub async fn history(
    state: web::Data<AppState>,
    caller: Caller,
    room_id: web::Path<i64>,
    query: web::Query<MessageQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let limit = query.limit.unwrap_or(state.limits.default_page);
    if !(1..=state.limits.max_page).contains(&limit) {
        return Err(ApiError::Validation(format!(
            "limit must be between 1 and {}",
            state.limits.max_page
        )));
    }
    if [query.before, query.after]
        .into_iter()
        .flatten()
        .any(|seq| seq < 0)
    {
        return Err(ApiError::Validation(
            "seq bounds must not be negative".to_owned(),
        ));
    }
    let page = match (query.before, query.after) {
        (Some(before), Some(after)) => HistoryPage::Between { after, before },
        (Some(seq), None) => HistoryPage::Before(seq),
        (None, Some(seq)) => HistoryPage::After(seq),
        (None, None) => HistoryPage::Before(i64::MAX),
    };
    let room = state
        .chat
        .visible_room(&caller, room_id.into_inner())
        .await?;
    let page = state.chat.history(&room, page, limit).await?;
    Ok(HttpResponse::Ok().json(page))
}
