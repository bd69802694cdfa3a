//! AWS Signature Version 4 for S3, header-based. Pure: the caller passes
//! the time, the credentials and exactly the headers that will be sent.
//!
//! The `host` header is signed exactly as the URL authority (with the port
//! when the URL has one): wasi:http sets `host` itself from the authority.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// The payload hash S3 accepts for a body it should not verify.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Access key, secret key and optional session token.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// One request to sign.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub method: &'a str,
    /// The URL authority as sent (`host` or `host:port`).
    pub host: &'a str,
    /// The URI path, already percent-encoded (see [`encode_path`]).
    pub path: &'a str,
    /// Query parameters, not encoded.
    pub query: &'a [(String, String)],
    /// Headers that are sent and signed, besides `host` (any case).
    pub headers: &'a [(String, String)],
    /// Hex SHA-256 of the body, or [`UNSIGNED_PAYLOAD`].
    pub payload_hash: &'a str,
    pub region: &'a str,
    pub service: &'a str,
}

/// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters
/// (`A-Za-z0-9-._~`) stay, everything else is `%XX`; `/` stays when
/// `keep_slash`.
pub fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The canonical (and sent) path of a raw path: each segment encoded once.
pub fn encode_path(raw: &str) -> String {
    uri_encode(raw, true)
}

/// The canonical query string (also what is sent on the URL).
pub fn canonical_query(query: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (uri_encode(k, false), uri_encode(v, false)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// `YYYYMMDDTHHMMSSZ`.
pub fn amz_date(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut m =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

fn trim_value(v: &str) -> String {
    v.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Canonical headers block and the signed-headers list.
fn canonical_headers(req: &Request<'_>) -> (String, String) {
    let mut hs: Vec<(String, String)> = req
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), trim_value(v)))
        .filter(|(k, _)| k != "host")
        .collect();
    hs.push(("host".into(), req.host.to_string()));
    hs.sort_by(|a, b| a.0.cmp(&b.0));
    // Repeated names fold into one comma-separated value.
    let mut folded: Vec<(String, String)> = Vec::new();
    for (k, v) in hs {
        match folded.last_mut() {
            Some((lk, lv)) if *lk == k => {
                lv.push(',');
                lv.push_str(&v);
            }
            _ => folded.push((k, v)),
        }
    }
    let block: String = folded.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed = folded
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    (block, signed)
}

/// The canonical request (for tests and debugging).
pub fn canonical_request(req: &Request<'_>) -> String {
    let (headers, signed) = canonical_headers(req);
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        req.path,
        canonical_query(req.query),
        headers,
        signed,
        req.payload_hash
    )
}

/// The `Authorization` header value for `req` at `amz_date`
/// (`YYYYMMDDTHHMMSSZ`, also sent as `x-amz-date`).
pub fn authorization(creds: &Credentials, req: &Request<'_>, amz_date: &str) -> String {
    let day = &amz_date[..8];
    let scope = format!("{day}/{}/{}/aws4_request", req.region, req.service);
    let (_, signed) = canonical_headers(req);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request(req).as_bytes())
    );
    let k = hmac(
        format!("AWS4{}", creds.secret_access_key).as_bytes(),
        day.as_bytes(),
    );
    let k = hmac(&k, req.region.as_bytes());
    let k = hmac(&k, req.service.as_bytes());
    let k = hmac(&k, b"aws4_request");
    let signature = hex::encode(hmac(&k, string_to_sign.as_bytes()));
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={signature}",
        creds.access_key_id
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn s3_example_creds() -> Credentials {
        Credentials {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        }
    }

    /// AWS SigV4 test suite, `get-vanilla`.
    #[test]
    fn aws_suite_get_vanilla() {
        let creds = Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        };
        let headers = h(&[("X-Amz-Date", "20150830T123600Z")]);
        let req = Request {
            method: "GET",
            host: "example.amazonaws.com",
            path: "/",
            query: &[],
            headers: &headers,
            payload_hash: EMPTY,
            region: "us-east-1",
            service: "service",
        };
        assert_eq!(
            authorization(&creds, &req, "20150830T123600Z"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    /// The S3 documentation's header-signing example "GET Object" (with Range).
    #[test]
    fn s3_docs_get_object() {
        let headers = h(&[
            ("Range", "bytes=0-9"),
            ("x-amz-content-sha256", EMPTY),
            ("x-amz-date", "20130524T000000Z"),
        ]);
        let req = Request {
            method: "GET",
            host: "examplebucket.s3.amazonaws.com",
            path: "/test.txt",
            query: &[],
            headers: &headers,
            payload_hash: EMPTY,
            region: "us-east-1",
            service: "s3",
        };
        assert_eq!(
            authorization(&s3_example_creds(), &req, "20130524T000000Z"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    /// The S3 documentation's example "GET Bucket (List Objects)".
    #[test]
    fn s3_docs_list_objects() {
        let headers = h(&[
            ("x-amz-content-sha256", EMPTY),
            ("x-amz-date", "20130524T000000Z"),
        ]);
        let query = vec![
            ("max-keys".to_string(), "2".to_string()),
            ("prefix".to_string(), "J".to_string()),
        ];
        let req = Request {
            method: "GET",
            host: "examplebucket.s3.amazonaws.com",
            path: "/",
            query: &query,
            headers: &headers,
            payload_hash: EMPTY,
            region: "us-east-1",
            service: "s3",
        };
        assert!(
            authorization(&s3_example_creds(), &req, "20130524T000000Z").ends_with(
                "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
            )
        );
    }

    /// The S3 documentation's example "PUT Object".
    #[test]
    fn s3_docs_put_object() {
        let body = b"Welcome to Amazon S3.";
        let hash = sha256_hex(body);
        assert_eq!(
            hash,
            "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
        );
        let headers = h(&[
            ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
            ("x-amz-date", "20130524T000000Z"),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            ("x-amz-content-sha256", &hash),
        ]);
        let req = Request {
            method: "PUT",
            host: "examplebucket.s3.amazonaws.com",
            path: &encode_path("/test$file.text"),
            query: &[],
            headers: &headers,
            payload_hash: &hash,
            region: "us-east-1",
            service: "s3",
        };
        assert!(
            authorization(&s3_example_creds(), &req, "20130524T000000Z").ends_with(
                "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
            )
        );
    }

    #[test]
    fn encoding_rules() {
        assert_eq!(uri_encode("a b/c~d*e", true), "a%20b/c~d%2Ae");
        assert_eq!(uri_encode("a/b", false), "a%2Fb");
        assert_eq!(uri_encode("é", false), "%C3%A9");
        let q = vec![
            ("prefix".to_string(), "a b/".to_string()),
            ("list-type".to_string(), "2".to_string()),
            ("uploads".to_string(), String::new()),
        ];
        assert_eq!(canonical_query(&q), "list-type=2&prefix=a%20b%2F&uploads=");
        assert_eq!(
            amz_date(time::macros::datetime!(2024-01-02 03:04:05 UTC)),
            "20240102T030405Z"
        );
    }

    #[test]
    fn host_with_port_is_signed_as_the_authority() {
        let headers = h(&[("x-amz-date", "20240101T000000Z")]);
        let req = Request {
            method: "GET",
            host: "127.0.0.1:8333",
            path: "/b/k",
            query: &[],
            headers: &headers,
            payload_hash: UNSIGNED_PAYLOAD,
            region: "us-east-1",
            service: "s3",
        };
        assert!(canonical_request(&req).contains("\nhost:127.0.0.1:8333\n"));
    }
}
