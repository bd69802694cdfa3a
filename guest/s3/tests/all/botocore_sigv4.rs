//! Our SigV4 against an independent signer: botocore's `S3SigV4Auth`
//! (installed with pip when missing) signs the same requests at the same
//! instant, and the `Authorization` headers must be identical.

use std::process::Command;

use s3_datastore::sigv4::{self, Credentials};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/botocore_sign.py");

fn botocore_available() -> Result<(), String> {
    let probe = |py: &str| {
        Command::new("python3")
            .args(["-c", py])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if probe("import botocore") {
        return Ok(());
    }
    let out = Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "botocore",
        ])
        .output()
        .map_err(|e| format!("cannot run pip: {e}"))?;
    if probe("import botocore") {
        Ok(())
    } else {
        Err(format!(
            "pip could not install botocore: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

struct Case {
    method: &'static str,
    host: &'static str,
    raw_path: &'static str,
    query: Vec<(&'static str, &'static str)>,
    headers: Vec<(&'static str, &'static str)>,
    body: &'static str,
    token: Option<&'static str>,
}

fn ours(c: &Case, creds: &Credentials) -> (String, String) {
    let path = sigv4::encode_path(c.raw_path);
    let query: Vec<(String, String)> = c
        .query
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let hash = sigv4::sha256_hex(c.body.as_bytes());
    let mut headers: Vec<(String, String)> = c
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    headers.push(("x-amz-date".into(), "20240102T030405Z".into()));
    headers.push(("x-amz-content-sha256".into(), hash.clone()));
    if let Some(t) = &creds.session_token {
        headers.push(("x-amz-security-token".into(), t.clone()));
    }
    let req = sigv4::Request {
        method: c.method,
        host: c.host,
        path: &path,
        query: &query,
        headers: &headers,
        payload_hash: &hash,
        region: "eu-west-1",
        service: "s3",
    };
    let q = sigv4::canonical_query(&query);
    let url = if q.is_empty() {
        format!("http://{}{path}", c.host)
    } else {
        format!("http://{}{path}?{q}", c.host)
    };
    (sigv4::authorization(creds, &req, "20240102T030405Z"), url)
}

fn theirs(c: &Case, url: &str, creds: &Credentials) -> String {
    let headers: serde_json::Map<String, serde_json::Value> = c
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
        .collect();
    let spec = serde_json::json!({
        "ak": creds.access_key_id, "sk": creds.secret_access_key, "token": creds.session_token,
        "method": c.method, "url": url, "body": c.body, "headers": headers, "region": "eu-west-1",
    });
    let out = Command::new("python3")
        .arg(SCRIPT)
        .arg(spec.to_string())
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "botocore signer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let signed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    signed["authorization"].as_str().unwrap().to_string()
}

#[test]
fn authorization_matches_botocore() {
    if let Err(why) = botocore_available() {
        eprintln!("SKIPPED authorization_matches_botocore: {why}");
        return;
    }
    let cases = vec![
        Case {
            method: "PUT",
            host: "127.0.0.1:8333",
            raw_path: "/swamp-test/team/.datastore.lock",
            query: vec![],
            headers: vec![("if-none-match", "*")],
            body: "{\n  \"holder\": \"a@b\"\n}",
            token: None,
        },
        Case {
            method: "PUT",
            host: "127.0.0.1:8333",
            raw_path: "/b/k",
            query: vec![],
            headers: vec![("if-match", "\"9dd4e461268c8034f5c8564e155c67a6\"")],
            body: "x",
            token: Some("session/token+with=chars"),
        },
        Case {
            method: "GET",
            host: "bucket.s3.eu-west-1.amazonaws.com",
            raw_path: "/",
            query: vec![
                ("list-type", "2"),
                ("prefix", "team/data dir/"),
                ("continuation-token", "a/b+c=="),
            ],
            headers: vec![],
            body: "",
            token: None,
        },
        Case {
            method: "DELETE",
            host: "localhost:9000",
            raw_path: "/b/data/aws/ec2 vpc/é~x(1)!.json",
            query: vec![],
            headers: vec![("if-match", "\"e\"")],
            body: "",
            token: None,
        },
        Case {
            method: "POST",
            host: "127.0.0.1:8333",
            raw_path: "/b/big",
            query: vec![("uploads", "")],
            headers: vec![],
            body: "",
            token: None,
        },
        Case {
            method: "PUT",
            host: "127.0.0.1:8333",
            raw_path: "/b/big",
            query: vec![("partNumber", "2"), ("uploadId", "U/x+y=")],
            headers: vec![],
            body: "part-bytes",
            token: None,
        },
    ];
    for c in &cases {
        let creds = Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: c.token.map(str::to_string),
        };
        let (auth, url) = ours(c, &creds);
        assert_eq!(auth, theirs(c, &url, &creds), "{} {url}", c.method);
    }
}
