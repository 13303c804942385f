//! Paging, parsed once: what a client asks of a room's history or of its room list is read
//! here into a request the use cases take, so every transport refuses the same things with
//! the same words, and the cursor format is known to this file alone.

use room_chats_store::messages::HistoryPage;
use room_chats_store::rooms::RoomListFilter;
use room_chats_types::rules::MAX_ROOM_SEARCH_CHARS;
use room_chats_types::{AssignedFilter, MessageQuery, RoomListQuery, RoomPage, RoomStatus};

use super::Chat;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::limits::Limits;

/// Rooms per page of the room list when the client does not say (the schema says so too).
const ROOM_PAGE_DEFAULT: i64 = 20;
/// Most rooms per page of the room list (the schema says so too).
const ROOM_PAGE_MAX: i64 = 100;

/// A page of a room's history: which messages, and how many at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryRequest {
    pub(super) page: HistoryPage,
    pub(super) limit: i64,
}

impl HistoryRequest {
    /// Reads `before`/`after`/`limit`: bounds not negative, `limit` from 1 to
    /// `HISTORY_PAGE_MAX` (default `HISTORY_PAGE_DEFAULT`).
    pub fn parse(query: &MessageQuery, limits: &Limits) -> Result<Self, ApiError> {
        let limit = query.limit.unwrap_or(limits.default_page);
        if !(1..=limits.max_page).contains(&limit) {
            return Err(ApiError::Validation(format!(
                "limit must be between 1 and {}",
                limits.max_page
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
        Ok(Self { page, limit })
    }
}

/// A page of the room list: its filters, where it starts and how many rooms at most.
#[derive(Debug, Clone)]
pub struct RoomListRequest {
    filter: RoomListFilter,
}

impl RoomListRequest {
    /// Reads the filters, `limit` (1 to 100, default 20) and `cursor` (a `next_cursor` this
    /// service issued).
    pub fn parse(query: RoomListQuery) -> Result<Self, ApiError> {
        let limit = query.limit.unwrap_or(ROOM_PAGE_DEFAULT);
        if !(1..=ROOM_PAGE_MAX).contains(&limit) {
            return Err(ApiError::Validation(format!(
                "limit must be between 1 and {ROOM_PAGE_MAX}"
            )));
        }
        let after = query.cursor.as_deref().map(parse_cursor).transpose()?;
        let text = query.q.as_deref().map(room_search_text).transpose()?;
        Ok(Self {
            filter: RoomListFilter {
                status: query.status,
                assigned: query.assigned,
                waiting: query.waiting,
                order_id: query.order_id,
                text,
                after,
                changed_since: None,
                limit,
            },
        })
    }
}

impl RoomListRequest {
    /// The rooms the caller may see that changed after `since` (micros), at most `limit`, of
    /// `status` and `assigned` when given: a per-user stream's catch-up.
    pub fn changed_since(
        since: i64,
        status: Option<RoomStatus>,
        assigned: Option<AssignedFilter>,
        limit: i64,
    ) -> Self {
        Self {
            filter: RoomListFilter {
                status,
                assigned,
                changed_since: Some(since),
                limit,
                ..RoomListFilter::default()
            },
        }
    }
}

impl Chat {
    /// A page of the rooms the caller may see, with the cursor of the next one.
    pub async fn room_page(
        &self,
        caller: &Caller,
        request: RoomListRequest,
    ) -> Result<RoomPage, ApiError> {
        let listing = self.list_rooms(caller, request.filter).await?;
        Ok(RoomPage {
            items: listing.items,
            next_cursor: listing.next_after.map(format_cursor),
        })
    }
}

/// The room list's `q`, trimmed and lower-cased: 1 to `MAX_ROOM_SEARCH_CHARS` characters.
fn room_search_text(q: &str) -> Result<String, ApiError> {
    let text = q.trim();
    if text.is_empty() {
        return Err(ApiError::Validation(
            "q must hold something to find".to_owned(),
        ));
    }
    if text.chars().count() > MAX_ROOM_SEARCH_CHARS || text.contains(char::is_control) {
        return Err(ApiError::Validation(format!(
            "q must be at most {MAX_ROOM_SEARCH_CHARS} characters, without control characters"
        )));
    }
    Ok(text.to_lowercase())
}

/// A room list position (`last_activity_at` micros, room id) as its cursor.
fn format_cursor((activity, id): (i64, i64)) -> String {
    format!("{activity}_{id}")
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
        let position = (1_732_400_000_000_000, 42);
        assert_eq!(parse_cursor(&format_cursor(position)).ok(), Some(position));
        assert!(parse_cursor("42").is_err());
        assert!(parse_cursor("a_b").is_err());
    }

    #[test]
    fn history_requests_are_read_at_their_edges() {
        let limits = Limits::default();
        let query = |before, after, limit| MessageQuery {
            before,
            after,
            limit,
        };
        let parsed = HistoryRequest::parse(&query(None, None, None), &limits);
        assert_eq!(
            parsed.ok(),
            Some(HistoryRequest {
                page: HistoryPage::Before(i64::MAX),
                limit: limits.default_page
            })
        );
        let parsed = HistoryRequest::parse(&query(Some(9), Some(0), Some(1)), &limits);
        assert_eq!(
            parsed.ok(),
            Some(HistoryRequest {
                page: HistoryPage::Between {
                    after: 0,
                    before: 9
                },
                limit: 1
            })
        );
        for (query, why) in [
            (
                query(None, None, Some(0)),
                "limit must be between 1 and 200",
            ),
            (
                query(None, None, Some(201)),
                "limit must be between 1 and 200",
            ),
            (
                query(Some(-1), None, None),
                "seq bounds must not be negative",
            ),
            (
                query(None, Some(-1), None),
                "seq bounds must not be negative",
            ),
        ] {
            let refused = HistoryRequest::parse(&query, &limits).map_err(|e| e.to_string());
            assert_eq!(refused, Err(why.to_owned()));
        }
    }
}
