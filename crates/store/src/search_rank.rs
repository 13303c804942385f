//! How SQLite ranks a found message for `sort=relevance`: a function of the row alone,
//! registered on every SQLite connection (Postgres has `ts_rank`).

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

diesel::define_sql_function! {
    /// [`rank_words`], callable from SQLite.
    fn search_rank(words: Text, terms: Text) -> Float;
}

/// Makes `search_rank` callable on a new SQLite connection.
pub(crate) fn register_sqlite_functions(conn: &mut SqliteConnection) -> QueryResult<()> {
    search_rank_utils::register_impl(conn, |words: String, terms: String| {
        rank_words(&words, &terms)
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
}
