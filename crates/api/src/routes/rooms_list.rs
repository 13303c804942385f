//! `GET /chat`: the rooms the caller may see.

use actix_web::{HttpResponse, get, web};
use room_chats_store::rooms::RoomListFilter;
use room_chats_types::{ErrorBody, RoomListQuery, RoomPage};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::routes::CommonErrors;
use crate::state::AppState;

const DEFAULT_LIMIT: i64 = 20;
const MAX_LIMIT: i64 = 100;

/// Lists rooms, newest activity first: a client's own, or every room for admins. Each
/// carries its last message and the caller's unread count. Page with `cursor`.
#[utoipa::path(
    tag = "rooms",
    params(RoomListQuery),
    responses(
        (status = 200, body = RoomPage, description = "A page of rooms, newest activity first"),
        (status = 403, body = ErrorBody, description = "Service tokens cannot chat (`forbidden`)"),
        (status = 422, body = ErrorBody, description = "A filter or `limit` is out of range (`validation_failed`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[get("/chat")]
pub async fn list_rooms(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<RoomListQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::Validation(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    let after = query.cursor.as_deref().map(parse_cursor).transpose()?;
    let filter = RoomListFilter {
        status: query.status,
        assigned: query.assigned,
        order_id: query.order_id,
        after,
        changed_since: None,
        limit,
    };
    let listing = state.chat.list_rooms(&caller, filter).await?;
    Ok(HttpResponse::Ok().json(RoomPage {
        items: listing.items,
        next_cursor: listing
            .next_after
            .map(|(activity, id)| format!("{activity}_{id}")),
    }))
}

fn parse_cursor(cursor: &str) -> Result<(i64, i64), ApiError> {
    cursor
        .split_once('_')
        .and_then(|(activity, id)| Some((activity.parse().ok()?, id.parse().ok()?)))
        .ok_or_else(|| ApiError::BadRequest("cursor is not one this service issued".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_refuses_garbage() {
        assert_eq!(
            parse_cursor("1732400000000000_42").ok(),
            Some((1_732_400_000_000_000, 42))
        );
        assert!(parse_cursor("42").is_err());
        assert!(parse_cursor("a_b").is_err());
    }
}
