//! `GET /search/messages`.

use actix_web::{HttpResponse, get, web};
use room_chats_core::search::SearchRequest;
use room_chats_types::{ErrorBody, MessageSearchQuery, SearchPage};

use crate::authenticate::Authenticated;
use crate::error::HttpError;
use crate::routes::CommonErrors;
use crate::state::AppState;

/// Finds messages by their words and their files' names, in the rooms the caller may see now:
/// a client its own orders' rooms, an admin every room. Deleted messages are never found;
/// edited ones by their current words. Each result says where the words matched, as UTF-16
/// ranges for the client to highlight. Page with `cursor`; docs/API.md describes the query
/// language.
#[utoipa::path(
    tag = "search",
    params(MessageSearchQuery),
    responses(
        (status = 200, body = SearchPage, description = "A page of messages found"),
        (status = 403, body = ErrorBody, description = "Service tokens cannot chat (`forbidden`)"),
        (status = 422, body = ErrorBody, description = "`q` has no word to find, is too long or has too many terms; a filter or `limit` is out of range; or `cursor` is not one this search issued (`validation_failed`)"),
        CommonErrors,
    ),
    security(("bearer" = []))
)]
#[get("/search/messages")]
pub async fn search_messages(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    query: web::Query<MessageSearchQuery>,
) -> Result<HttpResponse, HttpError> {
    let request = SearchRequest::parse(query.into_inner())?;
    let page = state.chat.search_messages(&caller, request).await?;
    Ok(HttpResponse::Ok().json(page))
}
