//! The search functions registered on every SQLite connection: how a found message ranks for
//! `sort=relevance` (Postgres has `ts_rank`), and whether one message matches a query, for a
//! search that reads a customer's or a room's few messages rather than the FTS5 index
//! (Postgres has `@@`).

use diesel::QueryResult;
use diesel::SqliteConnection;
use diesel::sql_types::Text;

/// One term of a query as `MessageSearch::row_query` writes it: a line, `+` required or `-`
/// excluded, then the phrase's words separated by spaces, the typed word ending in `*`.
struct Term<'a> {
    required: bool,
    phrase: Vec<&'a str>,
    /// The phrase's last word is a prefix.
    prefix: bool,
}

/// The terms of `query`, or `None` when a line is not one this service writes.
fn terms(query: &str) -> Option<Vec<Term<'_>>> {
    query
        .lines()
        .map(|line| {
            let (required, phrase) = match line.split_at_checked(1) {
                Some(("+", phrase)) => (true, phrase),
                Some(("-", phrase)) => (false, phrase),
                _ => return None,
            };
            let (phrase, prefix) = match phrase.strip_suffix('*') {
                Some(phrase) => (phrase, true),
                None => (phrase, false),
            };
            let phrase = phrase.split(' ').filter(|word| !word.is_empty()).collect();
            Some(Term {
                required,
                phrase,
                prefix,
            })
        })
        .collect()
}

/// Whether `word` is `wanted`, or begins with it when `prefix`.
fn word_matches(word: &str, wanted: &str, prefix: bool) -> bool {
    if prefix {
        word.starts_with(wanted)
    } else {
        word == wanted
    }
}

/// SQLite's rank of a message for a query (`MessageSearch::row_query`): how many of its words
/// are words of the query's required terms (a typed word counts words it begins), divided by
/// 1 + the log of its length, as Postgres' `ts_rank(…, 1)` does. Computed from the row alone —
/// unlike FTS5's `bm25`, which moves as other messages arrive — so a relevance cursor stays a
/// place in a stable order.
pub(crate) fn rank_words(words: &str, query: &str) -> f32 {
    let wanted: Vec<(&str, bool)> = terms(query)
        .unwrap_or_default()
        .into_iter()
        .filter(|term| term.required)
        .flat_map(|term| {
            let last = term.phrase.len().saturating_sub(1);
            term.phrase
                .into_iter()
                .enumerate()
                .map(move |(at, word)| (word, term.prefix && at == last))
        })
        .collect();
    let mut length = 0_u32;
    let mut hits = 0_u32;
    for word in words.split(' ').filter(|word| !word.is_empty()) {
        length += 1;
        let hit = wanted
            .iter()
            .any(|(term, prefix)| word_matches(word, term, *prefix));
        hits += u32::from(hit);
    }
    (f64::from(hits) / (1.0 + f64::from(length.max(1)).ln())) as f32
}

/// Whether a message's words (as indexed: lower-case, separated by single spaces) match
/// `query` (`MessageSearch::row_query`) as FTS5's `MATCH` would over the same words: every
/// required phrase occurs, no excluded one does, a phrase's words side by side and in order. A
/// line this service never writes matches nothing.
pub(crate) fn row_matches(words: &str, query: &str) -> bool {
    let words: Vec<&str> = words.split(' ').filter(|word| !word.is_empty()).collect();
    terms(query).is_some_and(|terms| {
        terms
            .iter()
            .all(|term| occurs(&words, &term.phrase, term.prefix) == term.required)
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
            .all(|(at, (word, wanted))| word_matches(word, wanted, prefix && at == last))
    })
}

diesel::define_sql_function! {
    /// [`rank_words`], callable from SQLite.
    fn search_rank(words: Text, query: Text) -> Float;
}

diesel::define_sql_function! {
    /// [`row_matches`], callable from SQLite.
    fn search_match(words: Text, query: Text) -> Bool;
}

/// Makes the search functions callable on a new SQLite connection.
pub(crate) fn register(conn: &mut SqliteConnection) -> QueryResult<()> {
    search_rank_utils::register_impl(conn, |words: String, query: String| {
        rank_words(&words, &query)
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
        let once = rank_words("a broken zipper", "+zip*");
        let twice = rank_words("broken zip zip", "+zip*");
        assert!(twice > once, "{twice} > {once}");
        assert_eq!(rank_words("broken", "+zip*"), 0.0);
        assert!(rank_words("zip", "+zip") > rank_words("zip and many more words", "+zip"));
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
