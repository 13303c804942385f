//! Input rules that do not need I/O. Handlers (REST now, WebSocket later) call these so that
//! the same input is accepted or refused the same way everywhere.

/// Default maximum message length, in characters (Unicode scalar values).
pub const DEFAULT_MAX_CONTENT_CHARS: usize = 4_000;
/// Longest accepted external id (user, order, reference) and `client_id`, in characters.
pub const MAX_ID_CHARS: usize = 128;
/// [`check_id`] as an ECMA-262 pattern, for the OpenAPI document (with `maxLength`
/// [`MAX_ID_CHARS`]): no control character, no whitespace at either end, not empty.
pub const ID_PATTERN: &str =
    "^[^\\s\\x00-\\x1F\\x7F-\\x9F](?:[^\\x00-\\x1F\\x7F-\\x9F]*[^\\s\\x00-\\x1F\\x7F-\\x9F])?$";
/// [`check_content`] as an ECMA-262 pattern (with `minLength` 1 and `maxLength` the limit):
/// at least one character that is not whitespace, and no control character other than
/// tab, line feed and carriage return.
pub const CONTENT_PATTERN: &str = "^[^\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\\x7F-\\x9F]*[^\\s\\x00-\\x1F\\x7F-\\x9F][^\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\\x7F-\\x9F]*$";

/// A webhook receiver's URL as the OpenAPI document describes it (with `maxLength` 2,048): an
/// `http(s)://` URL on a public DNS name, without credentials or fragment. The service also
/// takes public IP addresses and refuses names that are internal by definition (`localhost`);
/// the pattern keeps to what every node accepts when it is saved.
pub const ENDPOINT_URL_PATTERN: &str = concat!(
    "^https?://",
    "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\\.[a-z]{2,24}",
    "(?::[1-9][0-9]{0,3})?",
    "(?:/[A-Za-z0-9._~!$&'()*+,;=:@/-]*)?",
    "(?:\\?[A-Za-z0-9._~!$&'()*+,;=:@/?-]*)?$"
);
/// A Web Push endpoint as the OpenAPI document describes it: [`ENDPOINT_URL_PATTERN`], `https`
/// only.
pub const PUSH_ENDPOINT_PATTERN: &str = concat!(
    "^https://",
    "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\\.[a-z]{2,24}",
    "(?::[1-9][0-9]{0,3})?",
    "(?:/[A-Za-z0-9._~!$&'()*+,;=:@/-]*)?",
    "(?:\\?[A-Za-z0-9._~!$&'()*+,;=:@/?-]*)?$"
);
/// Longest webhook or push endpoint URL, in characters.
pub const MAX_URL_CHARS: usize = 2_048;
/// Free text of one line or more without control characters (an endpoint's description).
pub const PLAIN_TEXT_PATTERN: &str = "^[^\\x00-\\x1F\\x7F-\\x9F]*$";
/// Longest webhook endpoint description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 200;
/// Longest canned reply title, in characters.
pub const MAX_CANNED_TITLE_CHARS: usize = 100;
/// [`check_canned_title`] as an ECMA-262 pattern (with `maxLength` [`MAX_CANNED_TITLE_CHARS`]):
/// the rules of an id — no control character, no whitespace at either end, not empty.
pub const CANNED_TITLE_PATTERN: &str = ID_PATTERN;
/// A canned reply's shortcut: a lower-case letter or digit, then up to 31 more of those, `-`
/// or `_` — what staff type after a `/` in the message box.
pub const CANNED_SHORTCUT_PATTERN: &str = "^[a-z0-9][a-z0-9_-]{0,31}$";
/// Longest canned reply shortcut, in characters.
pub const MAX_CANNED_SHORTCUT_CHARS: usize = 32;
/// A media type as a direct upload declares it (`type/subtype`, lowercase, no parameters).
pub const MEDIA_TYPE_PATTERN: &str = "^[a-z]+/[a-z0-9][a-z0-9.+-]*$";
/// Longest media type a direct upload may declare, in characters.
pub const MAX_MEDIA_TYPE_CHARS: usize = 255;
/// The types an upload may have unless the operator changes `ATTACHMENT_TYPES`.
pub const DEFAULT_UPLOAD_TYPES: &str =
    "image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain";
/// The largest upload unless the operator changes `ATTACHMENT_MAX_BYTES`, in bytes.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 25 * 1024 * 1024;

/// A room-list cursor as this service issues it: the newest activity (µs) and the room id, or
/// for `sort=waiting_longest` `w`, the time the room began waiting (µs) and the room id.
/// Digits are capped so that any match parses.
pub const ROOM_CURSOR_PATTERN: &str = "^w?[0-9]{1,18}_[0-9]{1,18}$";

/// A search cursor as this service issues it: the sort (`n` newest; `r` relevance with the
/// rank's bits and the newest message of the ranked window), the last message id, and a seal.
/// Digits are capped so that any match parses.
pub const SEARCH_CURSOR_PATTERN: &str =
    "^(n|r\\.[0-9a-f]{8}\\.[0-9]{1,18})\\.[0-9]{1,18}\\.[0-9a-f]{16}$";

/// Longest search query, in characters: a search box, not a document.
pub const MAX_SEARCH_QUERY_CHARS: usize = 200;

/// Longest room search (`q` of the room list), in characters: an order number or a name.
pub const MAX_ROOM_SEARCH_CHARS: usize = 100;

/// Most words and phrases one search query may hold, excluded ones included.
pub const MAX_SEARCH_TERMS: usize = 10;

/// Why a piece of content or an id was refused. The `Display` text is safe to show to callers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleViolation {
    /// Empty or only whitespace.
    Empty,
    /// Longer than the limit (in characters for content, bytes for ids).
    TooLong { limit: usize },
    /// Holds a NUL or another control character that has no place in text.
    ControlCharacter,
    /// Not an `http://` or `https://` URL with a host.
    NotHttpUrl,
}

impl std::fmt::Display for RuleViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Empty => f.write_str("must not be empty or only whitespace"),
            Self::TooLong { limit } => write!(f, "must be at most {limit} characters"),
            Self::ControlCharacter => {
                f.write_str("must not contain NUL or control characters other than tab and newline")
            }
            Self::NotHttpUrl => f.write_str(
                "must be an http:// or https:// URL with a host, without spaces or control characters",
            ),
        }
    }
}

/// Longest comment of a rating, in characters (the other rules are a message's).
pub const MAX_RATING_COMMENT_CHARS: usize = 1_000;

/// Longest line of an order event, in characters.
pub const MAX_ORDER_EVENT_TEXT_CHARS: usize = 500;
/// An order's tracking link: `http(s)://`, a host, then anything but whitespace and controls.
pub const TRACKING_URL_PATTERN: &str =
    "^https?://[^\\s/?#\\x00-\\x1F\\x7F-\\x9F]+[^\\s\\x00-\\x1F\\x7F-\\x9F]*$";

/// Most files one message may carry.
pub const MAX_ATTACHMENTS_PER_MESSAGE: usize = 10;

/// Checks message content. Content is stored exactly as sent (no trimming), so what the
/// sender sees acked is byte for byte what every reader gets.
pub fn check_content(content: &str, max_chars: usize) -> Result<(), RuleViolation> {
    if content.trim().is_empty() {
        return Err(RuleViolation::Empty);
    }
    // Counting stops one past the limit: a megabyte of text is not walked to the end.
    if content.chars().take(max_chars + 1).count() > max_chars {
        return Err(RuleViolation::TooLong { limit: max_chars });
    }
    // Postgres refuses NUL in TEXT, and other C0 controls only ever arrive by mistake or malice.
    if content
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(RuleViolation::ControlCharacter);
    }
    Ok(())
}

/// Checks a canned reply's title: not empty, at most [`MAX_CANNED_TITLE_CHARS`], no whitespace
/// at either end and no control characters.
pub fn check_canned_title(title: &str) -> Result<(), RuleViolation> {
    check_label(title, MAX_CANNED_TITLE_CHARS)
}

/// Checks a canned reply's shortcut against [`CANNED_SHORTCUT_PATTERN`].
pub fn check_canned_shortcut(shortcut: &str) -> bool {
    let mut chars = shortcut.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    first_ok
        && shortcut.len() <= MAX_CANNED_SHORTCUT_CHARS
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Checks the line of an order event: not empty, at most [`MAX_ORDER_EVENT_TEXT_CHARS`], no
/// whitespace at either end and no control characters.
pub fn check_order_event_text(text: &str) -> Result<(), RuleViolation> {
    check_label(text, MAX_ORDER_EVENT_TEXT_CHARS)
}

/// Longest reason of a legal hold, in characters.
pub const MAX_HOLD_REASON_CHARS: usize = 500;

/// Checks the reason of a legal hold: not empty, at most [`MAX_HOLD_REASON_CHARS`], no
/// whitespace at either end and no control characters.
pub fn check_hold_reason(reason: &str) -> Result<(), RuleViolation> {
    check_label(reason, MAX_HOLD_REASON_CHARS)
}

/// Checks an order's tracking link against [`TRACKING_URL_PATTERN`], at most
/// [`MAX_URL_CHARS`] characters.
pub fn check_tracking_url(url: &str) -> Result<(), RuleViolation> {
    if url.chars().nth(MAX_URL_CHARS).is_some() {
        return Err(RuleViolation::TooLong {
            limit: MAX_URL_CHARS,
        });
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or(RuleViolation::NotHttpUrl)?;
    let host_ends = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let clean = |c: char| !c.is_whitespace() && !c.is_control();
    if host_ends == 0 || !rest.chars().all(clean) {
        return Err(RuleViolation::NotHttpUrl);
    }
    Ok(())
}

/// Checks an external identifier (user id, order id, `client_id`): non-empty, at most
/// [`MAX_ID_CHARS`], no whitespace at either end and no control characters.
pub fn check_id(id: &str) -> Result<(), RuleViolation> {
    check_label(id, MAX_ID_CHARS)
}

/// Checks a short one-line text (an id, a title): non-empty, at most `max_chars`, no
/// whitespace at either end and no control characters.
fn check_label(text: &str, max_chars: usize) -> Result<(), RuleViolation> {
    if text.trim().is_empty() || text.trim() != text {
        return Err(RuleViolation::Empty);
    }
    if text.chars().nth(max_chars).is_some() {
        return Err(RuleViolation::TooLong { limit: max_chars });
    }
    if text.chars().any(char::is_control) {
        return Err(RuleViolation::ControlCharacter);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_accepts_text_with_newlines_and_markup() {
        assert_eq!(check_content("hi\nthere\t<b>'; DROP--", 4000), Ok(()));
    }

    #[test]
    fn content_refuses_empty_and_whitespace() {
        assert_eq!(check_content("", 10), Err(RuleViolation::Empty));
        assert_eq!(check_content(" \n\t ", 10), Err(RuleViolation::Empty));
    }

    #[test]
    fn content_limit_counts_characters_not_bytes() {
        assert_eq!(check_content("ééé", 3), Ok(()));
        assert_eq!(
            check_content("éééé", 3),
            Err(RuleViolation::TooLong { limit: 3 })
        );
    }

    #[test]
    fn content_refuses_nul_and_controls() {
        assert_eq!(
            check_content("a\0b", 10),
            Err(RuleViolation::ControlCharacter)
        );
        assert_eq!(
            check_content("a\u{1b}b", 10),
            Err(RuleViolation::ControlCharacter)
        );
    }

    /// The same samples are checked against the OpenAPI patterns by
    /// tests/typescript/patterns.test.mjs, so the document and the service agree on them.
    #[test]
    fn rules_agree_with_the_shared_samples() {
        let samples: serde_json::Value =
            serde_json::from_str(include_str!("../../../tests/fixtures/input-rules.json"))
                .unwrap_or_default();
        let strings = |kind: &str, validity: &str| -> Vec<String> {
            samples[kind][validity]
                .as_array()
                .map(|all| {
                    all.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        for id in strings("ids", "valid") {
            assert_eq!(check_id(&id), Ok(()), "{id:?}");
        }
        for id in strings("ids", "invalid") {
            assert!(check_id(&id).is_err(), "{id:?}");
        }
        for content in strings("contents", "valid") {
            assert_eq!(
                check_content(&content, DEFAULT_MAX_CONTENT_CHARS),
                Ok(()),
                "{content:?}"
            );
        }
        for content in strings("contents", "invalid") {
            assert!(
                check_content(&content, DEFAULT_MAX_CONTENT_CHARS).is_err(),
                "{content:?}"
            );
        }
        for url in strings("tracking_urls", "valid") {
            assert_eq!(check_tracking_url(&url), Ok(()), "{url:?}");
        }
        for url in strings("tracking_urls", "invalid") {
            assert!(check_tracking_url(&url).is_err(), "{url:?}");
        }
        assert!(strings("ids", "invalid").len() > 5 && strings("contents", "valid").len() > 3);
        assert!(strings("tracking_urls", "invalid").len() > 5);
    }

    #[test]
    fn ids_must_be_tidy() {
        assert_eq!(check_id("order-42"), Ok(()));
        assert_eq!(check_id(""), Err(RuleViolation::Empty));
        assert_eq!(check_id(" 42"), Err(RuleViolation::Empty));
        assert_eq!(check_id("4\n2"), Err(RuleViolation::ControlCharacter));
        assert_eq!(
            check_id(&"x".repeat(MAX_ID_CHARS + 1)),
            Err(RuleViolation::TooLong {
                limit: MAX_ID_CHARS
            })
        );
    }
}
