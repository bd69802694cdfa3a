//! The S3 XML documents the client reads and writes, through quick-xml's
//! serde support (never by hand).

use serde::{Deserialize, Serialize};

/// `ListBucketResult` of ListObjectsV2.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListBucketResult {
    pub is_truncated: bool,
    pub next_continuation_token: Option<String>,
    #[serde(rename = "Contents")]
    pub contents: Vec<ListedObject>,
    pub key_count: Option<u64>,
}

/// One `Contents` entry.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListedObject {
    pub key: String,
    pub last_modified: String,
    #[serde(rename = "ETag")]
    pub etag: String,
    pub size: u64,
}

/// An S3 `Error` document.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ErrorDoc {
    pub code: String,
    pub message: String,
    pub request_id: String,
}

/// `InitiateMultipartUploadResult`.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct InitiateMultipartUploadResult {
    pub upload_id: String,
}

/// `CompleteMultipartUploadResult` (a 200 may still carry an `Error`).
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct CompleteMultipartUploadResult {
    #[serde(rename = "ETag")]
    pub etag: String,
}

/// `CompleteMultipartUpload` request body.
#[derive(Debug, Serialize)]
#[serde(rename = "CompleteMultipartUpload")]
pub struct CompleteMultipartUpload {
    #[serde(rename = "Part")]
    pub parts: Vec<CompletedPart>,
}

/// One uploaded part.
#[derive(Debug, Serialize)]
pub struct CompletedPart {
    #[serde(rename = "PartNumber")]
    pub part_number: u32,
    #[serde(rename = "ETag")]
    pub etag: String,
}

/// Parse an XML document into `T`.
pub fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, String> {
    let text = std::str::from_utf8(body).map_err(|e| format!("response is not UTF-8: {e}"))?;
    // S3 answers in XML 1.0, where only CR and CR LF are line ends, but
    // quick-xml also folds XML 1.1's NEL (U+0085) and LS (U+2028) into LF:
    // an object key holding one (Go servers such as SeaweedFS send them
    // as they are) was read as a different key. As character references
    // they are read as written. (Found by the s3_xml_listing fuzz target.)
    let text = if text.contains(['\u{85}', '\u{2028}']) {
        text.replace('\u{85}', "&#133;")
            .replace('\u{2028}', "&#8232;")
            .into()
    } else {
        std::borrow::Cow::Borrowed(text)
    };
    quick_xml::de::from_str(&text).map_err(|e| format!("unexpected XML ({e}): {}", preview(body)))
}

/// The body of a CompleteMultipartUpload request.
pub fn complete_body(parts: Vec<CompletedPart>) -> Vec<u8> {
    let doc = CompleteMultipartUpload { parts };
    let xml = quick_xml::se::to_string(&doc).unwrap_or_default();
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>{xml}").into_bytes()
}

/// The first 256 bytes of a body, lossily, for messages.
pub fn preview(body: &[u8]) -> String {
    let end = body.len().min(256);
    let mut s = String::from_utf8_lossy(&body[..end]).replace('\n', " ");
    if body.len() > end {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_list_page() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>b</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <Contents><Key>p/a</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>&quot;abc&quot;</ETag><Size>3</Size><StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key>p/b &amp; c</Key><LastModified>2026-01-01T00:00:01.000Z</LastModified><ETag>"def-2"</ETag><Size>10</Size></Contents>
  <NextContinuationToken>tok/en==</NextContinuationToken>
</ListBucketResult>"#;
        let r: ListBucketResult = parse(xml).unwrap();
        assert!(r.is_truncated);
        assert_eq!(r.next_continuation_token.as_deref(), Some("tok/en=="));
        assert_eq!(r.contents.len(), 2);
        assert_eq!(r.contents[0].etag, "\"abc\"");
        assert_eq!(r.contents[1].key, "p/b & c");
        assert_eq!(r.contents[1].size, 10);
    }

    #[test]
    fn keys_keep_xml_1_1_line_ends() {
        let xml = "<ListBucketResult><Contents><Key>a\u{85}b\u{2028}c\r\nd</Key></Contents></ListBucketResult>";
        let r: ListBucketResult = parse(xml.as_bytes()).unwrap();
        // Only CR LF is a line end in XML 1.0.
        assert_eq!(r.contents[0].key, "a\u{85}b\u{2028}c\nd");
    }

    #[test]
    fn parses_an_empty_page_and_errors() {
        let r: ListBucketResult = parse(b"<ListBucketResult><IsTruncated>false</IsTruncated><KeyCount>0</KeyCount></ListBucketResult>").unwrap();
        assert!(r.contents.is_empty() && !r.is_truncated);
        let e: ErrorDoc = parse(b"<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message><BucketName>x</BucketName><RequestId>R1</RequestId></Error>").unwrap();
        assert_eq!(
            (e.code.as_str(), e.request_id.as_str()),
            ("NoSuchBucket", "R1")
        );
        assert!(parse::<ErrorDoc>(b"<html>oops").is_err());
    }

    #[test]
    fn multipart_documents() {
        let i: InitiateMultipartUploadResult = parse(b"<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>U-1</UploadId></InitiateMultipartUploadResult>").unwrap();
        assert_eq!(i.upload_id, "U-1");
        let body = String::from_utf8(complete_body(vec![
            CompletedPart {
                part_number: 1,
                etag: "\"a\"".into(),
            },
            CompletedPart {
                part_number: 2,
                etag: "\"b\"".into(),
            },
        ]))
        .unwrap();
        assert!(body.contains("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"a\"</ETag></Part><Part><PartNumber>2</PartNumber>"), "{body}");
    }
}
