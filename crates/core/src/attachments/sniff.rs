//! A file's type, read from its first bytes: the client's `Content-Type` and file extension
//! are claims, and a renamed executable must not pass as a photo.

/// How many leading bytes are read before deciding.
pub const SNIFF_BYTES: usize = 8 * 1024;

/// What a file is, by its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// Its media type.
    pub content_type: &'static str,
    /// The extension a file of this type is saved with (no dot).
    pub extension: &'static str,
}

/// The kind of a file starting with `head` (at most [`SNIFF_BYTES`] of it; all of it when
/// shorter): a known binary signature, else `text/plain` for UTF-8 text without control
/// characters, else `application/octet-stream`.
pub fn kind(head: &[u8]) -> Kind {
    if let Some(kind) = infer::get(head) {
        return Kind {
            content_type: kind.mime_type(),
            extension: kind.extension(),
        };
    }
    if looks_like_text(head) {
        return Kind {
            content_type: "text/plain",
            extension: "txt",
        };
    }
    Kind {
        content_type: "application/octet-stream",
        extension: "bin",
    }
}

/// UTF-8 (a character cut at the end of `head` is fine) with no control characters but
/// tab, line feed, carriage return and form feed.
fn looks_like_text(head: &[u8]) -> bool {
    let valid = match std::str::from_utf8(head) {
        Ok(text) => text,
        // A multi-byte character cut by the end of the sample.
        Err(error) if error.error_len().is_none() => {
            // `valid_up_to` bytes are valid UTF-8 by the error's contract.
            std::str::from_utf8(&head[..error.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return false,
    };
    !valid.is_empty()
        && valid
            .chars()
            .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r' | '\u{c}'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content_type(head: &[u8]) -> &'static str {
        kind(head).content_type
    }

    #[test]
    fn binary_signatures_win_over_names() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(content_type(png), "image/png");
        assert_eq!(content_type(b"%PDF-1.7\n"), "application/pdf");
        // A Windows executable, whatever it is called.
        assert_eq!(
            content_type(b"MZ\x90\0\x03\0\0\0"),
            "application/vnd.microsoft.portable-executable"
        );
    }

    #[test]
    fn each_kind_has_the_extension_files_of_it_are_saved_with() {
        let extension = |head: &[u8]| kind(head).extension;
        assert_eq!(extension(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), "png");
        assert_eq!(extension(b"\xff\xd8\xff\xe0\0\x10JFIF\0"), "jpg");
        assert_eq!(extension(b"%PDF-1.7\n"), "pdf");
        assert_eq!(extension(b"<html><body>hi</body></html>"), "html");
        assert_eq!(extension(b"plain words"), "txt");
        assert_eq!(extension(b"\0\x01\x02"), "bin");
    }

    #[test]
    fn text_is_utf8_without_controls() {
        assert_eq!(
            content_type("Bestellung 42\r\nDanke, Grüße\n".as_bytes()),
            "text/plain"
        );
        // A character cut at the end of the sample.
        assert_eq!(
            content_type(&"ü".as_bytes()[..1]),
            "application/octet-stream"
        );
        assert_eq!(content_type("aü".as_bytes().split_at(2).0), "text/plain");
        assert_eq!(content_type(b"abc\0def"), "application/octet-stream");
        assert_eq!(content_type(b"\xff\xfe\xfd"), "application/octet-stream");
        assert_eq!(content_type(b""), "application/octet-stream");
    }
}
