//! Message search (issue 27): what a word is, the query of `GET /search/messages` and its page.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::room::{AssignedFilter, RoomStatus};
use crate::schema::{ExternalId, SearchCursor, SearchText};
use crate::{MessageDto, RoomId};

/// Most results per page of a search.
pub const SEARCH_PAGE_MAX: i64 = 50;

/// Results per page when the client does not say.
pub const SEARCH_PAGE_DEFAULT: i64 = 20;

/// The words of `text` as search reads them, lower-case: runs of letters and digits in any
/// script, everything else a separator. The index stores these and the query language is
/// parsed into them, so both agree on what a word is whatever the database's locale.
pub fn search_words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !is_word_char(c))
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
}

/// Whether `c` belongs to a word (a letter or digit of any script); every other character
/// separates words.
pub fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// How results are ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SearchSort {
    /// Newest message first (the order messages were stored in).
    #[default]
    Newest,
    /// Best match first: how often and how close together the words appear, then newest.
    Relevance,
}

impl SearchSort {
    /// The spelling in a cursor.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Newest => "newest",
            Self::Relevance => "relevance",
        }
    }
}

/// Query of `GET /search/messages`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessageSearchQuery {
    /// What to find: words in any order, `"a phrase"`, `-excluded` words, and the last word
    /// as a prefix (search as you type). 1 to 200 characters, at most 10 words and phrases.
    #[param(value_type = SearchText)]
    pub q: Option<String>,
    /// Only messages of this room.
    // `value_type`: the alias alone becomes a `$ref`, which drops the minimum.
    #[param(value_type = Option<i64>, minimum = 1)]
    pub room_id: Option<RoomId>,
    /// Only messages of this sender (user id).
    #[param(value_type = Option<ExternalId>)]
    pub sender: Option<String>,
    /// Only messages stored at or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Only messages stored before this time (RFC 3339).
    pub until: Option<DateTime<Utc>>,
    /// Admins only: only rooms with this status.
    pub status: Option<RoomStatus>,
    /// Admins only: `me` for rooms assigned to the caller, `none` for unassigned rooms.
    pub assigned: Option<AssignedFilter>,
    /// `newest` (default): every match, newest first. `relevance`: best match first among
    /// the newest matches — at most 1,000, so that order ends sooner (docs/API.md).
    pub sort: Option<SearchSort>,
    /// Page size, 1 to 50; default 20.
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page, with the same query and filters.
    #[param(value_type = Option<SearchCursor>)]
    pub cursor: Option<String>,
}

/// A stretch of text that matched: `start..end` in UTF-16 code units, as JavaScript strings
/// index them (`text.slice(start, end)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TextRange {
    /// Where the stretch starts.
    #[schema(minimum = 0)]
    pub start: usize,
    /// Where it ends (exclusive).
    #[schema(minimum = 1)]
    pub end: usize,
}

/// Where the words matched in one attachment's file name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FilenameMatch {
    /// The attachment (one of the message's `attachments`).
    pub attachment_id: i64,
    /// The matched stretches of its `filename`.
    pub ranges: Vec<TextRange>,
}

/// One message found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "message": {
        "id": 9120, "room_id": 42, "seq": 7, "sender_id": "customer-17",
        "sender_role": "client", "content": "The zipper of my bag arrived broken",
        "client_id": null, "created_at": "2026-12-01T10:15:00Z"
    },
    "order_id": "order-1042",
    "order_reference": "ORD-1042",
    "content_matches": [{ "start": 4, "end": 10 }, { "start": 29, "end": 35 }],
    "filename_matches": []
}))]
pub struct SearchHitDto {
    /// The message, as history shows it.
    pub message: MessageDto,
    /// The order of the message's room.
    pub order_id: String,
    /// The order's human-readable reference, if it has one.
    pub order_reference: Option<String>,
    /// Where the words matched in `message.content`, in order; for the SPA to highlight.
    pub content_matches: Vec<TextRange>,
    /// Where the words matched in file names of `message.attachments`.
    pub filename_matches: Vec<FilenameMatch>,
}

/// A page of search results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SearchPage {
    /// The messages found, in the order asked for.
    pub items: Vec<SearchHitDto>,
    /// Pass as `cursor` (with the same query and filters) for the next page; absent on the
    /// last page.
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_runs_of_letters_and_digits_in_any_script() {
        let words: Vec<String> =
            search_words("E-mail me: ORD-1042, Grüße! مرحبا_بك 🙂ok").collect();
        assert_eq!(
            words,
            [
                "e",
                "mail",
                "me",
                "ord",
                "1042",
                "grüße",
                "مرحبا",
                "بك",
                "ok"
            ]
        );
        assert_eq!(search_words(" \t-- ").count(), 0);
    }
}
