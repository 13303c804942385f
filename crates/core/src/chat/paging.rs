//! Paging, parsed once: what a client asks of a room's history or of its room list is read
//! here into a request the use cases take, so every transport refuses the same things with
//! the same words, and the cursor format is known to this file alone.

use room_chats_store::messages::HistoryPage;
use room_chats_store::rooms::RoomListFilter;
use room_chats_types::rules::MAX_ROOM_SEARCH_CHARS;
use room_chats_types::{
    AssignedFilter, MessageQuery, RoomListQuery, RoomPage, RoomSort, RoomStatus, WaitingFilter,
};

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
        let sort = query.sort.unwrap_or_default();
        if sort == RoomSort::WaitingLongest
            && query
                .waiting
                .is_some_and(|waiting| waiting != WaitingFilter::Staff)
        {
            return Err(ApiError::Validation(
                "sort=waiting_longest lists rooms waiting for staff: waiting may only be staff"
                    .to_owned(),
            ));
        }
        let after = query
            .cursor
            .as_deref()
            .map(|cursor| parse_cursor(sort, cursor))
            .transpose()?;
        let text = query.q.as_deref().map(room_search_text).transpose()?;
        Ok(Self {
            filter: RoomListFilter {
                status: query.status,
                assigned: query.assigned,
                waiting: query.waiting,
                order_id: query.order_id,
                text,
                sort,
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
        let sort = request.filter.sort;
        let listing = self.list_rooms(caller, request.filter).await?;
        Ok(RoomPage {
            items: listing.items,
            next_cursor: listing
                .next_after
                .map(|position| format_cursor(sort, position)),
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

/// The mark of a `waiting_longest` cursor: a cursor pages only the order it was issued for.
const WAITING_CURSOR_MARK: char = 'w';

/// A room list position as its cursor: `last_activity_at` micros and room id, or for
/// `waiting_longest` `w`, `waiting_since` micros and room id.
fn format_cursor(sort: RoomSort, (key, id): (i64, i64)) -> String {
    match sort {
        RoomSort::Activity => format!("{key}_{id}"),
        RoomSort::WaitingLongest => format!("{WAITING_CURSOR_MARK}{key}_{id}"),
    }
}

fn parse_cursor(sort: RoomSort, cursor: &str) -> Result<(i64, i64), ApiError> {
    let waiting = cursor.strip_prefix(WAITING_CURSOR_MARK);
    if waiting.is_some() != (sort == RoomSort::WaitingLongest) {
        return Err(ApiError::BadRequest(
            "cursor pages another sort: pass the sort it was issued for".to_owned(),
        ));
    }
    waiting
        .unwrap_or(cursor)
        .split_once('_')
        .and_then(|(key, id)| Some((key.parse().ok()?, id.parse().ok()?)))
        .ok_or_else(|| ApiError::BadRequest("cursor is not one this service issued".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_refuses_garbage() {
        let position = (1_732_400_000_000_000, 42);
        for sort in [RoomSort::Activity, RoomSort::WaitingLongest] {
            let cursor = format_cursor(sort, position);
            assert_eq!(parse_cursor(sort, &cursor).ok(), Some(position));
            assert!(parse_cursor(sort, "42").is_err());
            assert!(parse_cursor(sort, "a_b").is_err());
        }
        let activity = format_cursor(RoomSort::Activity, position);
        let waiting = format_cursor(RoomSort::WaitingLongest, position);
        assert!(parse_cursor(RoomSort::WaitingLongest, &activity).is_err());
        assert!(parse_cursor(RoomSort::Activity, &waiting).is_err());
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
