//! How a file is presented when downloaded: images inline, everything else as a download.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Bytes an RFC 5987 `ext-value` must percent-encode: everything but `attr-char`
/// (letters, digits and `!#$&+-.^_`|~`).
const NOT_ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// The `Content-Disposition` value of a download (RFC 6266): images inline, anything else as
/// an attachment; the name in ASCII and, where it has other characters, in UTF-8 too.
/// One value for the HTTP header and the object store's stored and presigned metadata.
pub fn content_disposition(filename: &str, content_type: &str) -> String {
    let disposition = if content_type.starts_with("image/") {
        "inline"
    } else {
        "attachment"
    };
    // Stored names have no control characters (see `filename::sanitize`); replacing them too
    // keeps the quoted-string valid whatever the caller passes.
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut value = format!("{disposition}; filename=\"{ascii}\"");
    if !filename.is_ascii() {
        value.push_str("; filename*=UTF-8''");
        value.extend(utf8_percent_encode(filename, NOT_ATTR_CHAR));
    }
    value
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn images_are_shown_inline_and_other_files_downloaded() {
        assert_eq!(
            content_disposition("cat.png", "image/png"),
            "inline; filename=\"cat.png\""
        );
        assert_eq!(
            content_disposition("notes.txt", "text/plain"),
            "attachment; filename=\"notes.txt\""
        );
    }

    #[test]
    fn names_beyond_ascii_are_given_in_utf8_too() {
        assert_eq!(
            content_disposition("Grüße 1.pdf", "application/pdf"),
            "attachment; filename=\"Gr__e 1.pdf\"; filename*=UTF-8''Gr%C3%BC%C3%9Fe%201.pdf"
        );
        assert_eq!(
            content_disposition("é;x=1'@.png", "image/png"),
            "inline; filename=\"_;x=1'@.png\"; filename*=UTF-8''%C3%A9%3Bx%3D1%27%40.png"
        );
    }

    #[test]
    fn quotes_backslashes_and_controls_cannot_end_the_quoted_name() {
        assert_eq!(
            content_disposition("a\"b\\c\u{1}d", "text/plain"),
            "attachment; filename=\"a_b_c_d\""
        );
    }
}
