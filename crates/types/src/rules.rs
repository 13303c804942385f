//! Input rules that do not need I/O. Handlers (REST now, WebSocket later) call these so that
//! the same input is accepted or refused the same way everywhere.

/// Default maximum message length, in characters (Unicode scalar values).
pub const DEFAULT_MAX_CONTENT_CHARS: usize = 4_000;
/// Longest accepted external id (user, order) and `client_id`, in bytes.
pub const MAX_ID_BYTES: usize = 128;

/// Why a piece of content or an id was refused. The `Display` text is safe to show to callers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleViolation {
    /// Empty or only whitespace.
    Empty,
    /// Longer than the limit (in characters for content, bytes for ids).
    TooLong { limit: usize },
    /// Holds a NUL or another control character that has no place in text.
    ControlCharacter,
}

impl std::fmt::Display for RuleViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Empty => f.write_str("must not be empty or only whitespace"),
            Self::TooLong { limit } => write!(f, "must be at most {limit} characters"),
            Self::ControlCharacter => {
                f.write_str("must not contain NUL or control characters other than tab and newline")
            }
        }
    }
}

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

/// Checks an external identifier (user id, order id, `client_id`): non-empty, at most
/// [`MAX_ID_BYTES`], no whitespace at either end and no control characters.
pub fn check_id(id: &str) -> Result<(), RuleViolation> {
    if id.trim().is_empty() || id.trim() != id {
        return Err(RuleViolation::Empty);
    }
    if id.len() > MAX_ID_BYTES {
        return Err(RuleViolation::TooLong {
            limit: MAX_ID_BYTES,
        });
    }
    if id.chars().any(char::is_control) {
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

    #[test]
    fn ids_must_be_tidy() {
        assert_eq!(check_id("order-42"), Ok(()));
        assert_eq!(check_id(""), Err(RuleViolation::Empty));
        assert_eq!(check_id(" 42"), Err(RuleViolation::Empty));
        assert_eq!(check_id("4\n2"), Err(RuleViolation::ControlCharacter));
        assert_eq!(
            check_id(&"x".repeat(MAX_ID_BYTES + 1)),
            Err(RuleViolation::TooLong {
                limit: MAX_ID_BYTES
            })
        );
    }
}
