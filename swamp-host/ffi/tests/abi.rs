//! The C ABI's replies to requests that are wrong, and one real component
//! driven through it end to end (the Deno side is
//! `packaging/tests/*.test.ts`, run by host-harness/tests/all/deno_extension.rs).

use serde_json::{Value, json};
use std::ffi::CStr;
use swamp_host_ffi::{call_json, swamp_ffi_call, swamp_ffi_free};

fn call(req: Value) -> Value {
    serde_json::from_str(&call_json(&req.to_string())).unwrap()
}

fn error_of(reply: &Value) -> (String, String) {
    let e = &reply["error"];
    (
        e["kind"].as_str().unwrap_or_default().to_string(),
        e["message"].as_str().unwrap_or_default().to_string(),
    )
}

#[test]
fn wrong_requests_get_an_error_that_names_what_was_wrong() {
    let (kind, msg) = error_of(&serde_json::from_str(&call_json("{not json")).unwrap());
    assert_eq!(kind, "invalid-argument");
    assert!(msg.contains("malformed request"), "{msg}");

    let (kind, msg) = error_of(&call(json!({"op": "no.such-op"})));
    assert_eq!(kind, "invalid-argument");
    assert!(msg.contains("no.such-op"), "{msg}");

    let (kind, msg) = error_of(&call(json!({"op": "lock.acquire", "id": 987654321})));
    assert_eq!(kind, "invalid-argument");
    assert!(msg.contains("no native handle 987654321"), "{msg}");

    let host = call(json!({"op": "host.new", "cacheDir": null}))["ok"]
        .as_u64()
        .unwrap();
    let (_, msg) = error_of(&call(json!({"op": "lock.acquire", "id": host})));
    assert!(msg.contains("is a host, not a lock"), "{msg}");
    let (_, msg) = error_of(&call(json!({"op": "host.load", "id": host})));
    assert!(msg.contains("argument path"), "{msg}");
    let (kind, msg) = error_of(&call(
        json!({"op": "host.load", "id": host, "path": "/no/such.wasm"}),
    ));
    assert_eq!(kind, "internal");
    assert!(msg.contains("/no/such.wasm"), "{msg}");
    assert_eq!(call(json!({"op": "drop", "id": host}))["ok"], json!(true));
    assert_eq!(call(json!({"op": "drop", "id": host}))["ok"], json!(false));
}

#[test]
fn the_c_entry_point_takes_bytes_and_returns_a_string_to_free() {
    let req = br#"{"op":"drop","id":1}"#;
    // SAFETY: a valid buffer of that length; the reply is freed once.
    unsafe {
        let reply = swamp_ffi_call(req.as_ptr(), req.len());
        let text = CStr::from_ptr(reply).to_str().unwrap().to_string();
        swamp_ffi_free(reply);
        assert!(text.starts_with("{\"ok\":"), "{text}");
        // A null request is an empty one: an error reply, not a crash.
        let reply = swamp_ffi_call(std::ptr::null(), 0);
        let text = CStr::from_ptr(reply).to_str().unwrap().to_string();
        swamp_ffi_free(reply);
        assert!(text.contains("malformed request"), "{text}");
    }
}

#[test]
fn fs_datastore_through_the_abi_lock_verify_and_a_rejected_config() {
    let wasm = std::path::PathBuf::from(test_guests_artifacts::FS_DATASTORE);
    let share = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let host = call(json!({"op": "host.new", "cacheDir": cache.path()}))["ok"]
        .as_u64()
        .unwrap();
    let plugin = call(json!({"op": "host.load", "id": host, "path": wasm}))["ok"]["id"]
        .as_u64()
        .unwrap();

    let (kind, _) = error_of(&call(
        json!({"op": "plugin.open", "id": plugin, "config": {"path": 7}}),
    ));
    assert_eq!(kind, "invalid-config");

    let opened = call(json!({"op": "plugin.open", "id": plugin, "config": {"path": share.path()}}));
    let provider = opened["ok"]["id"].as_u64().unwrap();
    assert!(opened["ok"]["features"]["sync"].is_boolean(), "{opened}");
    let lock = call(json!({
        "op": "provider.create-lock", "id": provider,
        "datastorePath": share.path(), "options": {"lockKey": "abi", "ttlMs": 5000, "maxWaitMs": 1, "retryIntervalMs": 1},
    }))["ok"]
        .clone();
    assert_eq!(lock["key"], json!("abi"));
    let lock = lock["id"].as_u64().unwrap();
    assert_eq!(
        call(json!({"op": "lock.acquire", "id": lock}))["ok"],
        Value::Null
    );
    let info = call(json!({"op": "lock.inspect", "id": lock}))["ok"].clone();
    assert_eq!(info["ttlMs"], json!(5000));
    assert_eq!(
        call(json!({"op": "lock.lost", "id": lock}))["ok"],
        Value::Null
    );

    // A second lock on the same key times out naming the holder.
    let rival = call(json!({
        "op": "provider.create-lock", "id": provider,
        "datastorePath": share.path(), "options": {"lockKey": "abi", "maxWaitMs": 1, "retryIntervalMs": 1},
    }))["ok"]["id"]
        .as_u64()
        .unwrap();
    let reply = call(json!({"op": "lock.acquire", "id": rival}));
    assert_eq!(error_of(&reply).0, "lock-timeout");
    assert_eq!(reply["error"]["lockKey"], json!("abi"));
    assert_eq!(reply["error"]["holder"]["pid"], info["pid"]);

    assert_eq!(
        call(json!({"op": "lock.release", "id": lock}))["ok"],
        Value::Null
    );
    let verifier = call(json!({"op": "provider.create-verifier", "id": provider}))["ok"]
        .as_u64()
        .unwrap();
    let health = call(json!({"op": "verifier.verify", "id": verifier}))["ok"].clone();
    assert_eq!(health["healthy"], json!(true), "{health}");
    for id in [rival, lock, verifier, provider, plugin, host] {
        assert_eq!(call(json!({"op": "drop", "id": id}))["ok"], json!(true));
    }
}
