//! How a file is presented when downloaded: images inline, everything else as a download.

use actix_web::http::header::{
    Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue,
};

/// Images inline, anything else as a download; the name in ASCII and, where it has other
/// characters, in UTF-8 too (RFC 6266).
pub fn content_disposition(filename: &str, content_type: &str) -> ContentDisposition {
    let disposition = if content_type.starts_with("image/") {
        DispositionType::Inline
    } else {
        DispositionType::Attachment
    };
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut parameters = vec![DispositionParam::Filename(ascii)];
    if !filename.is_ascii() {
        parameters.push(DispositionParam::FilenameExt(ExtendedValue {
            charset: Charset::Ext("UTF-8".to_owned()),
            language_tag: None,
            value: filename.as_bytes().to_vec(),
        }));
    }
    ContentDisposition {
        disposition,
        parameters,
    }
}
