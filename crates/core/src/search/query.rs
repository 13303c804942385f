//! The search box's language, parsed once (issue 27): words in any order, `"quoted phrases"`,
//! `-excluded` words or phrases, and the last word as a prefix, so search-as-you-type finds
//! `zipper` while the user has typed `zip`. Postgres' `websearch_to_tsquery` has the same
//! shape but no prefix, and SQLite's FTS5 has another syntax: the query is parsed here into
//! [`SearchQuery`] and rendered for each backend ([`SearchQuery::to_tsquery`],
//! [`SearchQuery::to_fts5`]), so both give it one meaning and neither ever sees the user's
//! text as syntax.
//!
//! A word is a run of letters and digits (any script); everything else separates words. A bare
//! token with several runs (`e-mail`, `ORD-1042`) is a phrase of them. The indexes must see the
//! stored text the same way: FTS5's `unicode61` tokenizer does, but Postgres' default parser
//! reads `ORD-1042` as `ord` and the number `-1042`, so its index is to be built from the text
//! with every other character made a space (checked by hand: `to_tsvector('simple',
//! 'ORD-1042')` is `'-1042':2 'ord':1`).

use std::fmt::Write;

use room_chats_types::search::{is_word_char, search_words};

pub use room_chats_types::rules::{
    MAX_SEARCH_QUERY_CHARS as MAX_QUERY_CHARS, MAX_SEARCH_TERMS as MAX_TERMS,
};

/// A query that is not one: every way the parse refuses, each a 422 for the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// Nothing searchable: empty, blank, or only punctuation and symbols.
    #[error("the query has no word to search for")]
    Empty,
    /// Longer than [`MAX_QUERY_CHARS`].
    #[error("the query is longer than {MAX_QUERY_CHARS} characters")]
    TooLong,
    /// More than [`MAX_TERMS`] words and phrases.
    #[error("the query has more than {MAX_TERMS} words and phrases")]
    TooManyTerms,
    /// Only excluded words: there is nothing to find that is not everything.
    #[error("the query excludes words but names none to find")]
    OnlyExclusions,
}

/// Words that must appear next to each other, in order; one word is a phrase of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Phrase {
    /// Lower-case words, each a run of letters and digits.
    pub(super) words: Vec<String>,
    /// Whether the last word is a prefix (the word being typed).
    pub(super) prefix: bool,
}

/// A parsed search: what must match and what must not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    pub(super) required: Vec<Phrase>,
    excluded: Vec<Phrase>,
}

impl SearchQuery {
    /// Parses the search box's text; see the module docs for the language.
    pub fn parse(text: &str) -> Result<Self, QueryError> {
        if text.chars().count() > MAX_QUERY_CHARS {
            return Err(QueryError::TooLong);
        }
        let mut required = Vec::new();
        let mut excluded = Vec::new();
        let mut rest = text;
        loop {
            rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '\0');
            if rest.is_empty() {
                break;
            }
            let negated = rest.starts_with('-')
                && rest[1..].starts_with(|c: char| is_word_char(c) || c == '"');
            if negated {
                rest = &rest[1..];
            }
            let (token, quoted, after) = match rest.strip_prefix('"') {
                // An unterminated quote runs to the end, as `websearch_to_tsquery` reads it.
                Some(inside) => match inside.split_once('"') {
                    Some((phrase, after)) => (phrase, true, after),
                    None => (inside, true, ""),
                },
                None => {
                    let end = rest
                        .find(|c: char| c.is_whitespace() || c == '"' || c == '\0')
                        .unwrap_or(rest.len());
                    (&rest[..end], false, &rest[end..])
                }
            };
            rest = after;
            let words: Vec<String> = search_words(token).collect();
            if words.is_empty() {
                continue;
            }
            let phrase = Phrase {
                words,
                // A word still being typed: bare and last, never inside quotes or excluded.
                prefix: !quoted && !negated && rest.trim().is_empty(),
            };
            if negated {
                excluded.push(phrase);
            } else {
                required.push(phrase);
            }
            if required.len() + excluded.len() > MAX_TERMS {
                return Err(QueryError::TooManyTerms);
            }
        }
        match (required.is_empty(), excluded.is_empty()) {
            (true, true) => Err(QueryError::Empty),
            (true, false) => Err(QueryError::OnlyExclusions),
            _ => Ok(Self { required, excluded }),
        }
    }

    /// The query as `to_tsquery` text for Postgres: every word quoted, phrases joined by
    /// `<->`, the typed word as a prefix (`:*`), exclusions with `!`, all joined by `&`.
    /// Pass it as a bound parameter to `to_tsquery(<config>, $1)` with the configuration the
    /// index was built with.
    pub fn to_tsquery(&self) -> String {
        let mut rendered = String::new();
        let terms = self
            .required
            .iter()
            .map(|phrase| (phrase, false))
            .chain(self.excluded.iter().map(|phrase| (phrase, true)));
        for (index, (phrase, negated)) in terms.enumerate() {
            if index > 0 {
                rendered.push_str(" & ");
            }
            if negated {
                rendered.push('!');
            }
            rendered.push('(');
            for (position, word) in phrase.words.iter().enumerate() {
                if position > 0 {
                    rendered.push_str(" <-> ");
                }
                // Words hold letters and digits only: no quote to escape.
                let _ = write!(rendered, "'{word}'");
                if phrase.prefix && position + 1 == phrase.words.len() {
                    rendered.push_str(":*");
                }
            }
            rendered.push(')');
        }
        rendered
    }

    /// The query as an FTS5 `MATCH` expression for SQLite: every word a string, phrases in one
    /// string, the typed word as a prefix (`*`), required terms joined by `AND`, each exclusion
    /// after a `NOT` (FTS5's `NOT` needs something on its left, hence
    /// [`QueryError::OnlyExclusions`]).
    pub fn to_fts5(&self) -> String {
        let phrase = |phrase: &Phrase| {
            // Words hold letters and digits only: no `"` to double.
            let mut rendered = format!("\"{}\"", phrase.words.join(" "));
            if phrase.prefix {
                rendered.push('*');
            }
            rendered
        };
        let required: Vec<String> = self.required.iter().map(phrase).collect();
        let mut rendered = format!("({})", required.join(" AND "));
        for excluded in &self.excluded {
            let _ = write!(rendered, " NOT {}", phrase(excluded));
        }
        rendered
    }

    /// The query as the SQLite store checks and ranks it on one message
    /// (`MessageSearch::row_query`): one term a line, `+` required or `-` excluded, then the
    /// phrase's words separated by spaces, the typed word ending in `*` — the meaning of
    /// [`Self::to_fts5`].
    pub fn to_row_query(&self) -> String {
        let term = |sign: char, phrase: &Phrase| {
            let star = if phrase.prefix { "*" } else { "" };
            format!("{sign}{}{star}", phrase.words.join(" "))
        };
        self.required
            .iter()
            .map(|phrase| term('+', phrase))
            .chain(self.excluded.iter().map(|phrase| term('-', phrase)))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> SearchQuery {
        SearchQuery::parse(text).unwrap_or_else(|error| panic!("{text:?}: {error}"))
    }

    #[test]
    fn words_in_any_order_with_the_last_one_typed_as_a_prefix() {
        let query = parsed("Broken  ZIP");
        assert_eq!(query.to_tsquery(), "('broken') & ('zip':*)");
        assert_eq!(query.to_fts5(), "(\"broken\" AND \"zip\"*)");
        assert_eq!(query.to_row_query(), "+broken\n+zip*");
        assert_eq!(
            parsed("\"broken zip\" -refund -\"not arrived\"").to_row_query(),
            "+broken zip\n-refund\n-not arrived"
        );
    }

    #[test]
    fn quoted_phrases_keep_their_order_and_are_never_prefixes() {
        let query = parsed("\"broken zip\" parcel");
        assert_eq!(query.to_tsquery(), "('broken' <-> 'zip') & ('parcel':*)");
        assert_eq!(query.to_fts5(), "(\"broken zip\" AND \"parcel\"*)");
        let typed_in_quotes = parsed("\"broken zip");
        assert_eq!(typed_in_quotes.to_tsquery(), "('broken' <-> 'zip')");
    }

    #[test]
    fn excluded_words_and_phrases_follow_a_minus() {
        let query = parsed("zip -refund -\"not arrived\"");
        assert_eq!(
            query.to_tsquery(),
            "('zip') & !('refund') & !('not' <-> 'arrived')"
        );
        assert_eq!(
            query.to_fts5(),
            "(\"zip\") NOT \"refund\" NOT \"not arrived\""
        );
        // A minus inside a word or alone is a separator, not an exclusion.
        assert_eq!(parsed("e-mail").to_tsquery(), "('e' <-> 'mail':*)");
        assert_eq!(
            parsed("zip - refund").to_tsquery(),
            "('zip') & ('refund':*)"
        );
    }

    #[test]
    fn order_references_are_found_as_they_were_written() {
        assert_eq!(parsed("ORD-1042").to_fts5(), "(\"ord 1042\"*)");
    }

    #[test]
    fn nothing_to_search_for_is_refused_not_a_full_scan() {
        for empty in ["", " ", "\t\n", "\0", "\"\"", "&|!:*()'\\", "🙂🙂", "-"] {
            assert_eq!(
                SearchQuery::parse(empty),
                Err(QueryError::Empty),
                "{empty:?}"
            );
        }
        assert_eq!(
            SearchQuery::parse("-refund"),
            Err(QueryError::OnlyExclusions)
        );
    }

    #[test]
    fn operators_and_quotes_of_either_backend_are_only_separators() {
        let hostile = "a&b|c!d:*e(f)g'h\\i\"j";
        let query = parsed(hostile);
        let tsquery = query.to_tsquery();
        let fts5 = query.to_fts5();
        for syntax in ["|", "&b", "!d", "(f", "\\"] {
            assert!(!tsquery.contains(syntax), "{tsquery}");
            assert!(!fts5.contains(syntax), "{fts5}");
        }
        assert_eq!(fts5, "(\"a b c d e f g h i\" AND \"j\")");
        let nul = parsed("zip\0code");
        assert_eq!(nul.to_tsquery(), "('zip') & ('code':*)");
    }

    #[test]
    fn any_script_is_a_word_and_case_does_not_matter() {
        assert_eq!(parsed("Ünïcode").to_tsquery(), "('ünïcode':*)");
        assert_eq!(parsed("مرحبا بك").to_fts5(), "(\"مرحبا\" AND \"بك\"*)");
        assert_eq!(parsed("ZIP🙂code").to_tsquery(), "('zip' <-> 'code':*)");
    }

    #[test]
    fn limits_hold_at_their_edges() {
        let longest = "a".repeat(MAX_QUERY_CHARS);
        assert!(SearchQuery::parse(&longest).is_ok());
        let over = "a".repeat(MAX_QUERY_CHARS + 1);
        assert_eq!(SearchQuery::parse(&over), Err(QueryError::TooLong));
        let most = ["w"; MAX_TERMS].join(" ");
        assert!(SearchQuery::parse(&most).is_ok());
        let too_many = ["w"; MAX_TERMS + 1].join(" ");
        assert_eq!(SearchQuery::parse(&too_many), Err(QueryError::TooManyTerms));
        // Characters, not bytes: 200 two-byte letters are within the limit.
        assert!(SearchQuery::parse(&"ü".repeat(MAX_QUERY_CHARS)).is_ok());
    }
}
