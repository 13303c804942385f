//! The search functions registered on every SQLite connection: how a found message ranks for
//! `sort=relevance` (Postgres has `ts_rank`), and whether one message matches a query, for a
//! search that reads a customer's or a room's few messages rather than the FTS5 index
//! (Postgres has `@@`).

use diesel::QueryResult;
use diesel::SqliteConnection;
use diesel::sql_types::Text;

/// SQLite's rank of a message for `MessageSearch::rank_terms`: how many of its words are the
/// query's (a term ending in `*` counts words it begins), divided by 1 + the log of its length,
/// as Postgres' `ts_rank(…, 1)` does. Computed from the row alone — unlike FTS5's `bm25`,
/// which moves as other messages arrive — so a relevance cursor stays a place in a stable order.
pub(crate) fn rank_words(words: &str, terms: &str) -> f32 {
    let terms: Vec<(&str, bool)> = terms
        .split(' ')
        .filter(|term| !term.is_empty())
        .map(|term| match term.strip_suffix('*') {
            Some(prefix) => (prefix, true),
            None => (term, false),
        })
        .collect();
    let mut length = 0_u32;
    let mut hits = 0_u32;
    for word in words.split(' ').filter(|word| !word.is_empty()) {
        length += 1;
        let hit = terms.iter().any(|(term, prefix)| {
            if *prefix {
                word.starts_with(term)
            } else {
                word == *term
            }
        });
        hits += u32::from(hit);
    }
    (f64::from(hits) / (1.0 + f64::from(length.max(1)).ln())) as f32
}

/// Whether a message's words (as indexed: lower-case, separated by single spaces) match
/// `query` as `MessageSearch::row_query` writes it: one term a line, `+` required or `-`
/// excluded, then the phrase's words separated by spaces, the typed word ending in `*`. The
/// meaning of FTS5's `MATCH` over the same words: every required phrase occurs, no excluded
/// one does, a phrase's words side by side and in order.
pub(crate) fn row_matches(words: &str, query: &str) -> bool {
    let words: Vec<&str> = words.split(' ').filter(|word| !word.is_empty()).collect();
    query.lines().all(|term| {
        let (required, phrase) = match term.split_at_checked(1) {
            Some(("+", phrase)) => (true, phrase),
            Some(("-", phrase)) => (false, phrase),
            // Not a term this service writes: nothing matches it.
            _ => return false,
        };
        let (phrase, prefix) = match phrase.strip_suffix('*') {
            Some(phrase) => (phrase, true),
            None => (phrase, false),
        };
        let phrase: Vec<&str> = phrase.split(' ').filter(|word| !word.is_empty()).collect();
        occurs(&words, &phrase, prefix) == required
    })
}

/// Whether `phrase` occurs in `words`, its last word as a prefix when `prefix`.
fn occurs(words: &[&str], phrase: &[&str], prefix: bool) -> bool {
    if phrase.is_empty() {
        return false;
    }
    let last = phrase.len() - 1;
    words.windows(phrase.len()).any(|window| {
        window
            .iter()
            .zip(phrase)
            .enumerate()
            .all(|(at, (word, wanted))| {
                if prefix && at == last {
                    word.starts_with(wanted)
                } else {
                    word == wanted
                }
            })
    })
}

diesel::define_sql_function! {
    /// [`rank_words`], callable from SQLite.
    fn search_rank(words: Text, terms: Text) -> Float;
}

diesel::define_sql_function! {
    /// [`row_matches`], callable from SQLite.
    fn search_match(words: Text, query: Text) -> Bool;
}

/// Makes the search functions callable on a new SQLite connection.
pub(crate) fn register(conn: &mut SqliteConnection) -> QueryResult<()> {
    search_rank_utils::register_impl(conn, |words: String, terms: String| {
        rank_words(&words, &terms)
    })?;
    search_match_utils::register_impl(conn, |words: String, query: String| {
        row_matches(&words, &query)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_counts_matching_words_against_length() {
        let once = rank_words("a broken zipper", "zip*");
        let twice = rank_words("broken zip zip", "zip*");
        assert!(twice > once, "{twice} > {once}");
        assert_eq!(rank_words("broken", "zip*"), 0.0);
        assert!(rank_words("zip", "zip") > rank_words("zip and many more words", "zip"));
    }

    #[test]
    fn a_row_matches_words_phrases_prefixes_and_exclusions_as_fts5_does() {
        let words = "my parcel had a broken zipper";
        assert!(row_matches(words, "+broken\n+zip*"));
        assert!(
            !row_matches(words, "+broken\n+zip"),
            "a whole word unless typed"
        );
        assert!(
            row_matches(words, "+broken zip*"),
            "a phrase, its last word typed"
        );
        assert!(
            !row_matches(words, "+zipper broken"),
            "a phrase keeps its order"
        );
        assert!(
            !row_matches(words, "+parcel broken"),
            "a phrase's words side by side"
        );
        assert!(row_matches(words, "+parcel\n-refund"));
        assert!(
            !row_matches(words, "+parcel\n-broken zip*"),
            "an excluded phrase"
        );
        assert!(
            !row_matches(words, "+parcel\n?odd"),
            "a line this service never writes"
        );
        assert!(!row_matches("", "+parcel"));
        assert!(!row_matches(words, "+"), "an empty phrase is found nowhere");
    }
}
