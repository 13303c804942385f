//! A message search as a client asks for it (`MessageSearchQuery`), read once into what the
//! store runs, and the cursor format, known to this file alone.
//!
//! A cursor is a place in one search's order — the last message shown (and its rank, sorted by
//! relevance) — sealed with an HMAC of that place and of the search it came from, under a key
//! the database holds for every node: given with another query, other filters or another sort,
//! or altered, it is refused with a 422 rather than read as a place in a different order. It
//! carries no access: the next page is checked like the first.

use hmac::{Hmac, Mac};
use room_chats_store::search::{MessageSearch, NEWEST_SLICE, SearchPosition, SearchSettings};
use room_chats_types::rules::check_id;
use room_chats_types::search::{SEARCH_PAGE_DEFAULT, SEARCH_PAGE_MAX};
use room_chats_types::{AssignedFilter, MessageSearchQuery, RoomStatus, SearchSort};
use sha2::Sha256;

use super::query::SearchQuery;
use crate::error::ApiError;

/// A search read and checked, but not yet scoped to a caller.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    /// What to find.
    pub query: SearchQuery,
    room_id: Option<i64>,
    sender: Option<String>,
    since: Option<i64>,
    until: Option<i64>,
    status: Option<RoomStatus>,
    pub(crate) assigned: Option<AssignedFilter>,
    sort: SearchSort,
    cursor: Option<String>,
    limit: i64,
}

impl SearchRequest {
    /// Reads the query and its filters; every refusal is a 422 that says what to change.
    pub fn parse(asked: MessageSearchQuery) -> Result<Self, ApiError> {
        let text = asked
            .q
            .ok_or_else(|| ApiError::Validation("q is required: the words to find".to_owned()))?;
        let query =
            SearchQuery::parse(&text).map_err(|why| ApiError::Validation(format!("q: {why}")))?;
        let limit = asked.limit.unwrap_or(SEARCH_PAGE_DEFAULT);
        if !(1..=SEARCH_PAGE_MAX).contains(&limit) {
            return Err(ApiError::Validation(format!(
                "limit must be between 1 and {SEARCH_PAGE_MAX}"
            )));
        }
        if let Some(sender) = &asked.sender {
            check_id(sender).map_err(|why| ApiError::Validation(format!("sender {why}")))?;
        }
        if asked.room_id.is_some_and(|room_id| room_id < 1) {
            return Err(ApiError::Validation("room_id must be positive".to_owned()));
        }
        let since = asked.since.map(|time| time.timestamp_micros());
        let until = asked.until.map(|time| time.timestamp_micros());
        if let (Some(since), Some(until)) = (since, until)
            && until <= since
        {
            return Err(ApiError::Validation(
                "until must be later than since".to_owned(),
            ));
        }
        Ok(Self {
            query,
            room_id: asked.room_id,
            sender: asked.sender,
            since,
            until,
            status: asked.status,
            assigned: asked.assigned,
            sort: asked.sort.unwrap_or_default(),
            cursor: asked.cursor,
            limit,
        })
    }

    /// The store's search for this request, limited to one customer's rooms if given, with the
    /// cursor checked under the settings' key.
    pub(crate) fn for_store(
        &self,
        settings: &SearchSettings,
        only_customer: Option<String>,
        user_id: &str,
    ) -> Result<MessageSearch, ApiError> {
        let after = self
            .cursor
            .as_deref()
            .map(|cursor| self.read_cursor(&settings.cursor_key, cursor))
            .transpose()?;
        Ok(MessageSearch {
            language_oid: settings.language_oid,
            postgres_query: self.query.to_tsquery(),
            sqlite_query: self.query.to_fts5(),
            row_query: self.query.to_row_query(),
            only_customer,
            room_id: self.room_id,
            sender: self.sender.clone(),
            since: self.since,
            until: self.until,
            status: self.status,
            assigned: self.assigned.map(|filter| (filter, user_id.to_owned())),
            sort: self.sort,
            after,
            limit: self.limit,
            newest_slice: NEWEST_SLICE,
        })
    }

    /// Page size.
    pub(crate) fn limit(&self) -> i64 {
        self.limit
    }

    /// The cursor of the page that starts after `last`, sealed under `key`.
    pub(crate) fn cursor_after(&self, key: &str, last: SearchPosition) -> String {
        let place = match self.sort {
            SearchSort::Newest => format!("n.{}", last.message_id),
            SearchSort::Relevance => format!(
                "r.{:08x}.{}.{}",
                last.rank.to_bits(),
                last.window_top.unwrap_or(last.message_id),
                last.message_id
            ),
        };
        let seal = self.seal(key, &place);
        format!("{place}.{seal}")
    }

    /// The place a cursor of this search names, if the cursor is one this search issued.
    fn read_cursor(&self, key: &str, cursor: &str) -> Result<SearchPosition, ApiError> {
        let refused = || ApiError::Validation("cursor is not one this search issued".to_owned());
        let (place, seal) = cursor.rsplit_once('.').ok_or_else(refused)?;
        if !constant_time_eq(seal.as_bytes(), self.seal(key, place).as_bytes()) {
            return Err(refused());
        }
        // Sealed by this service, so well formed; read strictly all the same.
        let mut parts = place.split('.');
        let id = |part: Option<&str>| {
            part.and_then(|id| id.parse::<i64>().ok())
                .ok_or_else(refused)
        };
        let (rank, window_top) = match (parts.next(), self.sort) {
            (Some("n"), SearchSort::Newest) => (0.0, None),
            (Some("r"), SearchSort::Relevance) => {
                let rank = parts
                    .next()
                    .and_then(|bits| u32::from_str_radix(bits, 16).ok())
                    .map(f32::from_bits)
                    .filter(|rank| rank.is_finite())
                    .ok_or_else(refused)?;
                (rank, Some(id(parts.next())?))
            }
            _ => return Err(refused()),
        };
        let message_id = id(parts.next())?;
        if parts.next().is_some() {
            return Err(refused());
        }
        Ok(SearchPosition {
            rank,
            window_top,
            message_id,
        })
    }

    /// 16 hex digits of an HMAC-SHA256 of the place and of what makes two searches the same
    /// order: the query as parsed, the filters and the sort.
    fn seal(&self, key: &str, place: &str) -> String {
        let described = format!(
            "{place}|{}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{}",
            self.query.to_tsquery(),
            self.room_id,
            self.sender,
            self.since,
            self.until,
            self.status.map(RoomStatus::as_str),
            self.assigned,
            self.sort.as_str(),
        );
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key.as_bytes()) else {
            // HMAC takes keys of any length; this cannot happen.
            return String::new();
        };
        mac.update(described.as_bytes());
        mac.finalize().into_bytes()[..8]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }
}

/// Compares two seals in time that does not depend on where they differ.
fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len()
        && left
            .iter()
            .zip(right)
            .fold(0, |differ, (a, b)| differ | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "a key of the database";

    fn settings(key: &str) -> SearchSettings {
        SearchSettings {
            language_oid: None,
            cursor_key: key.to_owned(),
        }
    }

    fn request(q: &str, sort: Option<SearchSort>, cursor: Option<String>) -> SearchRequest {
        SearchRequest::parse(MessageSearchQuery {
            q: Some(q.to_owned()),
            sort,
            cursor,
            ..MessageSearchQuery::default()
        })
        .unwrap_or_else(|error| panic!("{error}"))
    }

    fn refused(q: &str, sort: Option<SearchSort>, cursor: &str) -> String {
        request(q, sort, Some(cursor.to_owned()))
            .for_store(&settings(KEY), None, "u1")
            .map_or_else(|error| error.to_string(), |_| "accepted".to_owned())
    }

    #[test]
    fn cursors_lead_on_in_the_search_that_issued_them() {
        let place = SearchPosition {
            rank: 0.25,
            window_top: Some(99),
            message_id: 42,
        };
        for sort in [SearchSort::Newest, SearchSort::Relevance] {
            let first = request("broken zip", Some(sort), None);
            let cursor = first.cursor_after(KEY, place);
            let next = request("broken zip", Some(sort), Some(cursor));
            let (expected_rank, expected_top) = if sort == SearchSort::Newest {
                (0.0, None)
            } else {
                (0.25, Some(99))
            };
            let search = next
                .for_store(&settings(KEY), None, "u1")
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                search.after,
                Some(SearchPosition {
                    rank: expected_rank,
                    window_top: expected_top,
                    message_id: 42
                })
            );
        }
    }

    #[test]
    fn cursors_of_another_search_or_altered_ones_are_refused() {
        let first = request("broken zip", None, None);
        let cursor = first.cursor_after(
            KEY,
            SearchPosition {
                rank: 0.0,
                window_top: None,
                message_id: 42,
            },
        );
        let why = "cursor is not one this search issued";
        assert!(refused("broken", None, &cursor).contains(why));
        assert!(refused("broken zip", Some(SearchSort::Relevance), &cursor).contains(why));
        let altered = cursor.replacen("42", "43", 1);
        assert!(refused("broken zip", None, &altered).contains(why));
        let other_key = request("broken zip", None, Some(cursor))
            .for_store(&settings("another key"), None, "u1")
            .map(|_| ());
        assert!(other_key.is_err());
        for garbage in [
            "",
            "n",
            "n.42",
            "n.-1.0000000000000000",
            "r.zzzzzzzz.1.0",
            "n.42.x.y",
        ] {
            assert!(
                refused("broken zip", None, garbage).contains(why),
                "{garbage:?}"
            );
        }
    }

    #[test]
    fn filters_are_checked_at_their_edges() {
        let parse = |query: MessageSearchQuery| SearchRequest::parse(query).map(|_| ());
        let q = || Some("zip".to_owned());
        assert!(parse(MessageSearchQuery::default()).is_err());
        for limit in [0, SEARCH_PAGE_MAX + 1] {
            let asked = MessageSearchQuery {
                q: q(),
                limit: Some(limit),
                ..MessageSearchQuery::default()
            };
            assert!(parse(asked).is_err(), "{limit}");
        }
        for limit in [1, SEARCH_PAGE_MAX] {
            let asked = MessageSearchQuery {
                q: q(),
                limit: Some(limit),
                ..MessageSearchQuery::default()
            };
            assert!(parse(asked).is_ok(), "{limit}");
        }
        let now = chrono::Utc::now();
        let backwards = MessageSearchQuery {
            q: q(),
            since: Some(now),
            until: Some(now),
            ..MessageSearchQuery::default()
        };
        assert!(parse(backwards).is_err());
        let empty_sender = MessageSearchQuery {
            q: q(),
            sender: Some(String::new()),
            ..MessageSearchQuery::default()
        };
        assert!(parse(empty_sender).is_err());
    }
}
