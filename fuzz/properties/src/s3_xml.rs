//! The S3 XML documents the s3-datastore reads (`guest/s3/src/xml.rs`):
//! ListObjectsV2 pages and the `Error` document of a failed request.

use s3_datastore::xml::{
    self, CompleteMultipartUploadResult, ErrorDoc, InitiateMultipartUploadResult, ListBucketResult,
    ListedObject,
};

/// A parse failure is one of the two messages the client reports, and the
/// body preview in it is bounded and on one line.
fn assert_refusal(body: &[u8], m: &str) {
    assert!(
        m.starts_with("response is not UTF-8") || m.starts_with("unexpected XML ("),
        "{m}"
    );
    // At most 256 input bytes, each at most one character (an invalid byte
    // becomes one U+FFFD, three bytes), and the ellipsis.
    let p = xml::preview(body);
    assert!(!p.contains('\n'));
    assert!(p.chars().count() <= 257, "{p:?}");
}

/// The `s3_xml_listing` target: a page parses or is refused with a clear
/// message; a parsed page, written back the way S3 writes one, parses to
/// the same page (nothing read is lost or changed on the way).
pub fn listing(data: &[u8]) {
    match xml::parse::<ListBucketResult>(data) {
        Ok(page) => {
            let canonical = write_page(&page);
            let back: ListBucketResult = xml::parse(canonical.as_bytes())
                .unwrap_or_else(|m| panic!("canonical page refused: {m}\n{canonical}"));
            assert_eq!(back, page, "{canonical}");
        }
        Err(m) => assert_refusal(data, &m),
    }
    // The input as an object key and a continuation token: S3 sends both
    // as escaped text; they must be read exactly (a key is a name, spaces
    // and all).
    if let Ok(text) = std::str::from_utf8(data)
        && !text.is_empty()
        && text.chars().all(xml_text_char)
    {
        let page = ListBucketResult {
            is_truncated: true,
            next_continuation_token: Some(text.to_string()),
            contents: vec![ListedObject {
                key: text.to_string(),
                last_modified: "2026-01-02T03:04:05.000Z".into(),
                etag: "\"0cc175b9c0f1b6a831c399e269772661\"".into(),
                size: 1,
            }],
            key_count: Some(1),
        };
        let canonical = write_page(&page);
        let back: ListBucketResult = xml::parse(canonical.as_bytes())
            .unwrap_or_else(|m| panic!("page with key {text:?} refused: {m}"));
        assert_eq!(back, page, "{canonical}");
    }
}

/// Characters XML 1.0 text can carry (S3 sends keys with other ones only
/// with `encoding-type=url`, which the client does not ask for).
fn xml_text_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// The `s3_xml_error` target: the error and multipart documents parse or
/// are refused, never panic.
pub fn error_doc(data: &[u8]) {
    for r in [
        xml::parse::<ErrorDoc>(data).map(|_| ()),
        xml::parse::<InitiateMultipartUploadResult>(data).map(|_| ()),
        xml::parse::<CompleteMultipartUploadResult>(data).map(|_| ()),
    ] {
        if let Err(m) = r {
            assert_refusal(data, &m);
        }
    }
}

/// Text as an XML 1.0 writer puts it (Go's encoding/xml, as SeaweedFS uses):
/// markup characters escaped, and a carriage return as a character
/// reference, since a literal one is a line end that readers fold.
fn escape(s: &str) -> String {
    quick_xml::escape::escape(s).replace('\r', "&#13;")
}

/// `page` as an S3 server writes it (escaped text, every field present).
fn write_page(page: &ListBucketResult) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">",
    );
    s.push_str(&format!("<IsTruncated>{}</IsTruncated>", page.is_truncated));
    if let Some(n) = page.key_count {
        s.push_str(&format!("<KeyCount>{n}</KeyCount>"));
    }
    for o in &page.contents {
        s.push_str(&format!(
            "<Contents><Key>{}</Key><LastModified>{}</LastModified><ETag>{}</ETag><Size>{}</Size></Contents>",
            escape(&o.key),
            escape(&o.last_modified),
            escape(&o.etag),
            o.size
        ));
    }
    if let Some(t) = &page.next_continuation_token {
        s.push_str(&format!(
            "<NextContinuationToken>{}</NextContinuationToken>",
            escape(t)
        ));
    }
    s.push_str("</ListBucketResult>");
    s
}
