//! Where a query's words matched in a text, for the SPA to highlight: ranges, not markup, so
//! there is nothing to escape. Computed here for the rows shown only, on the same words as the
//! query language, so both backends answer alike — rather than by Postgres' `ts_headline`
//! (which re-parses each document) or FTS5's `highlight()` (which returns markup).

use room_chats_types::search::is_word_char;

use super::query::{Phrase, SearchQuery};

pub use room_chats_types::TextRange as MatchRange;

/// A word of the searched text: lower-case, with where it stands.
struct Word {
    lower: String,
    start: usize,
    end: usize,
}

impl SearchQuery {
    /// Where the words and phrases this query requires appear in `text`, in order, overlapping
    /// ones merged. A prefix covers the whole word it begins; a phrase covers its words and
    /// what separates them. Excluded words are not marked (a found text has none).
    pub fn matches_in(&self, text: &str) -> Vec<MatchRange> {
        let words = words_with_places(text);
        let mut ranges: Vec<MatchRange> = self
            .required
            .iter()
            .flat_map(|phrase| places_of(phrase, &words))
            .collect();
        ranges.sort_by_key(|range| (range.start, range.end));
        let mut merged: Vec<MatchRange> = Vec::with_capacity(ranges.len());
        for range in ranges {
            match merged.last_mut() {
                Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
                _ => merged.push(range),
            }
        }
        merged
    }
}

/// Every place `phrase` appears among `words`.
fn places_of(phrase: &Phrase, words: &[Word]) -> Vec<MatchRange> {
    let Some(last) = phrase.words.len().checked_sub(1) else {
        return Vec::new();
    };
    words
        .windows(last + 1)
        .filter(|window| {
            window
                .iter()
                .zip(&phrase.words)
                .enumerate()
                .all(|(position, (word, wanted))| {
                    if phrase.prefix && position == last {
                        word.lower.starts_with(wanted.as_str())
                    } else {
                        word.lower == *wanted
                    }
                })
        })
        .map(|window| MatchRange {
            start: window[0].start,
            end: window[last].end,
        })
        .collect()
}

/// The runs of letters and digits of `text`, as the query language reads words, with their
/// places in UTF-16 code units.
fn words_with_places(text: &str) -> Vec<Word> {
    let mut words = Vec::new();
    // The word being read: where it starts, in UTF-16 units and in bytes.
    let mut current: Option<(usize, usize)> = None;
    let mut offset = 0;
    for (byte, character) in text.char_indices() {
        if is_word_char(character) {
            current.get_or_insert((offset, byte));
        } else if let Some((start, byte_start)) = current.take() {
            words.push(Word {
                lower: text[byte_start..byte].to_lowercase(),
                start,
                end: offset,
            });
        }
        offset += character.len_utf16();
    }
    if let Some((start, byte_start)) = current {
        words.push(Word {
            lower: text[byte_start..].to_lowercase(),
            start,
            end: offset,
        });
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(query: &str, text: &str) -> Vec<String> {
        let query = SearchQuery::parse(query).unwrap_or_else(|error| panic!("{error}"));
        let units: Vec<u16> = text.encode_utf16().collect();
        query
            .matches_in(text)
            .into_iter()
            .map(|range| String::from_utf16_lossy(&units[range.start..range.end]))
            .collect()
    }

    #[test]
    fn words_in_any_order_and_the_typed_prefix_are_marked_whole() {
        assert_eq!(
            marked("zip Broken", "My parcel had a broken zipper, broken ZIP"),
            ["broken", "broken", "ZIP"]
        );
        assert_eq!(
            marked("broken zip", "My parcel had a broken zipper"),
            ["broken", "zipper"]
        );
    }

    #[test]
    fn a_phrase_is_marked_only_where_its_words_follow_each_other() {
        assert_eq!(
            marked("\"broken zip\"", "broken zipper, zip broken, broken  zip"),
            ["broken  zip"]
        );
        assert_eq!(marked("e-mail", "send an e-mail"), ["e-mail"]);
    }

    #[test]
    fn overlapping_matches_are_one_range() {
        assert_eq!(
            marked("broken \"broken zip\"", "a broken zip"),
            ["broken zip"]
        );
    }

    #[test]
    fn places_count_utf16_units_as_javascript_does() {
        let query = SearchQuery::parse("zip").unwrap_or_else(|error| panic!("{error}"));
        // 🙂 is two UTF-16 units, é one.
        assert_eq!(
            query.matches_in("🙂 é zip"),
            [MatchRange { start: 5, end: 8 }]
        );
        assert_eq!(marked("грусть", "Моя ГРУСТЬ"), ["ГРУСТЬ"]);
    }

    #[test]
    fn excluded_and_absent_words_mark_nothing() {
        assert!(marked("zip -refund", "refund").is_empty());
        assert!(marked("parcel", "").is_empty());
        assert_eq!(marked("zip -refund", "zip, no refund"), ["zip"]);
    }
}
