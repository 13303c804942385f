//! Upload names made safe to store, show and put in a `Content-Disposition` header.

/// Longest name kept, in bytes (common file systems' limit).
const MAX_FILENAME_BYTES: usize = 255;

/// The name used when nothing usable is left.
const FALLBACK: &str = "file";

/// `claimed` without directories (either slash), control characters, or leading dots and
/// spaces, cut to 255 bytes on a character boundary keeping the extension where it can.
pub fn sanitize(claimed: &str) -> String {
    let base = claimed.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .trim_start_matches('.')
        .trim_start()
        .to_owned();
    if cleaned.is_empty() {
        return FALLBACK.to_owned();
    }
    if cleaned.len() <= MAX_FILENAME_BYTES {
        return cleaned;
    }
    let extension = cleaned
        .rfind('.')
        .map(|dot| &cleaned[dot..])
        .filter(|extension| extension.len() <= 16)
        .unwrap_or_default();
    let mut stem_end = MAX_FILENAME_BYTES - extension.len();
    while !cleaned.is_char_boundary(stem_end) {
        stem_end -= 1;
    }
    format!("{}{extension}", &cleaned[..stem_end])
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn long_names_keep_their_extension_and_whole_characters() {
        let long = format!("{}.png", "ä".repeat(200));
        let safe = sanitize(&long);
        assert!(safe.len() <= 255, "{}", safe.len());
        assert!(safe.ends_with(".png"));
        assert!(safe.starts_with('ä'));
    }
}
