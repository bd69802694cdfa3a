//! A minimal SigV4 signer for the fixture's own requests (bucket creation,
//! reading objects back). Deliberately separate from the guest's signer, so
//! that tests reading back through the fixture cross-check the guest.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::Credentials;

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(data.as_bytes());
    m.finalize().into_bytes().to_vec()
}

/// Headers (`host` excluded from the returned list, since the caller writes
/// it) for a path-style request with no query string.
pub(crate) fn sign(
    method: &str,
    host: &str,
    path: &str,
    body: &[u8],
    creds: &Credentials,
    region: &str,
    now: time::OffsetDateTime,
) -> Vec<(String, String)> {
    let fmt = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let amz_date = now.format(&fmt).expect("formatting a UTC time");
    let day = &amz_date[..8];
    let payload = hex::encode(Sha256::digest(body));
    let canonical = format!(
        "{method}\n{path}\n\nhost:{host}\nx-amz-content-sha256:{payload}\nx-amz-date:{amz_date}\n\nhost;x-amz-content-sha256;x-amz-date\n{payload}"
    );
    let scope = format!("{day}/{region}/s3/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let k = hmac(format!("AWS4{}", creds.secret_key).as_bytes(), day);
    let k = hmac(&k, region);
    let k = hmac(&k, "s3");
    let k = hmac(&k, "aws4_request");
    let sig = hex::encode(hmac(&k, &to_sign));
    vec![
        ("Host".into(), host.into()),
        ("x-amz-date".into(), amz_date.clone()),
        ("x-amz-content-sha256".into(), payload),
        (
            "Authorization".into(),
            format!(
                "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={sig}",
                creds.access_key
            ),
        ),
    ]
}
