//! Upload names made safe to store, show, save and put in a `Content-Disposition` header.
//!
//! Two rules, applied on every path a name enters (multipart, `?filename=`, direct upload):
//! - [`sanitize`]: no directories, and no character that is not shown as itself. Control and
//!   format characters go — among them the bidirectional overrides that make
//!   `invoice\u{202E}fdp.js` display as "invoicesj.pdf" — and so do unassigned, private-use
//!   and line/paragraph separator code points; other spaces become a plain space.
//! - [`agreeing_with`]: the extension agrees with the type read from the bytes, so a file saved
//!   from a download opens as what it is: `notes.html` holding plain text is saved as
//!   `notes.html.txt`, a PNG called `photo` as `photo.png`; `scan.JPEG` holding a JPEG stays.

use unicode_properties::{GeneralCategory, GeneralCategoryGroup, UnicodeGeneralCategory};

use super::sniff::Kind;

/// Longest name kept, in bytes (common file systems' limit).
const MAX_FILENAME_BYTES: usize = 255;

/// Longest extension kept when a long name is cut.
const MAX_KEPT_EXTENSION_BYTES: usize = 16;

/// The name used when nothing usable is left.
const FALLBACK: &str = "file";

/// Extensions a type is also known by, beyond the one [`Kind`] names.
const ALSO_KNOWN_AS: &[(&str, &[&str])] = &[
    ("image/jpeg", &["jpeg", "jpe", "jfif"]),
    ("image/tiff", &["tiff"]),
    ("text/plain", &["text", "log"]),
];

/// `claimed` without directories (either slash), characters that are not shown as themselves
/// (see the module docs), or leading dots and spaces, cut to 255 bytes on a character boundary
/// keeping the extension where it can.
pub fn sanitize(claimed: &str) -> String {
    let base = claimed.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter_map(shown_as_itself)
        .collect::<String>()
        .trim()
        .trim_start_matches('.')
        .trim_start()
        .to_owned();
    if cleaned.is_empty() {
        return FALLBACK.to_owned();
    }
    fit(&cleaned)
}

/// `name` (already sanitized) with an extension files of `kind` are saved with: kept when it
/// is one (in any case), else the kind's own appended.
pub fn agreeing_with(name: &str, kind: Kind) -> String {
    let claimed = name
        .rsplit_once('.')
        .map(|(stem, extension)| (stem, extension.to_ascii_lowercase()))
        .filter(|(stem, _)| !stem.is_empty());
    if let Some((_, extension)) = &claimed
        && (extension == kind.extension
            || also_known_as(kind.content_type).contains(&extension.as_str()))
    {
        return name.to_owned();
    }
    fit(&format!("{name}.{}", kind.extension))
}

fn also_known_as(content_type: &str) -> &'static [&'static str] {
    ALSO_KNOWN_AS
        .iter()
        .find(|(known, _)| *known == content_type)
        .map_or(&[], |(_, extensions)| extensions)
}

/// `c` as it may stand in a name: `None` for what is not shown as itself, a plain space for
/// any other space.
fn shown_as_itself(c: char) -> Option<char> {
    match c.general_category() {
        GeneralCategory::SpaceSeparator => Some(' '),
        GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator => None,
        // Control, format (bidi overrides and isolates, marks, zero-width characters, BOM),
        // surrogate, private-use and unassigned.
        _ if c.general_category_group() == GeneralCategoryGroup::Other => None,
        _ => Some(c),
    }
}

/// `name` cut to [`MAX_FILENAME_BYTES`] on a character boundary, keeping a short extension.
fn fit(name: &str) -> String {
    if name.len() <= MAX_FILENAME_BYTES {
        return name.to_owned();
    }
    let extension = name
        .rfind('.')
        .map(|dot| &name[dot..])
        .filter(|extension| extension.len() <= MAX_KEPT_EXTENSION_BYTES)
        .unwrap_or_default();
    let mut stem_end = MAX_FILENAME_BYTES - extension.len();
    while !name.is_char_boundary(stem_end) {
        stem_end -= 1;
    }
    format!("{}{extension}", &name[..stem_end])
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: Kind = Kind {
        content_type: "image/png",
        extension: "png",
    };
    const JPEG: Kind = Kind {
        content_type: "image/jpeg",
        extension: "jpg",
    };
    const TEXT: Kind = Kind {
        content_type: "text/plain",
        extension: "txt",
    };

    #[test]
    fn directories_and_controls_go() {
        assert_eq!(sanitize("../../etc/passwd"), "passwd");
        assert_eq!(sanitize("C:\\Users\\me\\photo.jpg"), "photo.jpg");
        assert_eq!(sanitize("in\u{0}voice\r\n.pdf"), "invoice.pdf");
        assert_eq!(sanitize("..."), "file");
        assert_eq!(sanitize(".htaccess"), "htaccess");
        assert_eq!(sanitize(""), "file");
        assert_eq!(sanitize("dir/"), "file");
    }

    #[test]
    fn bidi_controls_and_other_invisible_characters_go() {
        assert_eq!(sanitize("invoice\u{202E}fdp.js"), "invoicefdp.js");
        for invisible in [
            '\u{202A}',
            '\u{202B}',
            '\u{202C}',
            '\u{202D}',
            '\u{202E}', // embeddings, overrides
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}', // isolates
            '\u{200E}',
            '\u{200F}',
            '\u{061C}', // marks
            '\u{200B}',
            '\u{200D}',
            '\u{2060}',
            '\u{FEFF}',
            '\u{00AD}',  // zero width, BOM, soft hyphen
            '\u{E0041}', // tag characters
            '\u{E000}',  // private use
            '\u{2028}',
            '\u{2029}', // line and paragraph separators
            '\u{0085}',
            '\u{009B}', // C1 controls
        ] {
            assert_eq!(
                sanitize(&format!("re{invisible}port.pdf")),
                "report.pdf",
                "U+{:04X}",
                u32::from(invisible)
            );
        }
        assert_eq!(sanitize("big\u{00A0}photo\u{3000}1.png"), "big photo 1.png");
        assert_eq!(sanitize("\u{202E}\u{200B}"), "file");
        // Letters of every script stay.
        assert_eq!(
            sanitize("Rechnung Grüße 注文 طلب.pdf"),
            "Rechnung Grüße 注文 طلب.pdf"
        );
    }

    #[test]
    fn long_names_keep_their_extension_and_whole_characters() {
        let long = format!("{}.png", "ä".repeat(200));
        let safe = sanitize(&long);
        assert!(safe.len() <= 255, "{}", safe.len());
        assert!(safe.ends_with(".png"));
        assert!(safe.starts_with('ä'));
    }

    #[test]
    fn the_extension_agrees_with_the_bytes() {
        assert_eq!(agreeing_with("notes.html", TEXT), "notes.html.txt");
        assert_eq!(agreeing_with("notes.txt", TEXT), "notes.txt");
        assert_eq!(agreeing_with("server.LOG", TEXT), "server.LOG");
        assert_eq!(agreeing_with("README", TEXT), "README.txt");
        assert_eq!(agreeing_with("photo.PNG", PNG), "photo.PNG");
        assert_eq!(agreeing_with("photo.jpg", PNG), "photo.jpg.png");
        assert_eq!(agreeing_with("scan.jpeg", JPEG), "scan.jpeg");
        assert_eq!(agreeing_with("scan.JFIF", JPEG), "scan.JFIF");
        assert_eq!(agreeing_with("invoicefdp.js", TEXT), "invoicefdp.js.txt");
        // A leading dot is no extension (and sanitize never leaves one).
        assert_eq!(agreeing_with(".png", PNG), ".png.png");
        assert_eq!(agreeing_with("file", PNG), "file.png");
    }

    #[test]
    fn an_appended_extension_still_fits() {
        let long = "a".repeat(255);
        let agreed = agreeing_with(&long, PNG);
        assert_eq!(agreed.len(), 255);
        assert!(agreed.ends_with("a.png"));
    }
}
