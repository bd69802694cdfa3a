//! The shared-store records in a bucket shared with the original S3
//! datastore: control records at `[{ns}/]_control/{key}`, catalog exports
//! at `{ns}/.catalog-export.json` and namespace manifests, written by an
//! independent client (boto3) in the original's layout and read by the
//! guest, then written by the guest and read back by boto3, byte for byte.

use serde_json::{Value, json};
use swamp_host::{ContaminationSummary, ForeignNamespace, SyncOptions};

use super::support::*;

const BUCKET: &str = "interop-shared";

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn control_records_catalogs_and_manifests_are_shared_with_the_original() {
    require_boto3!();
    let s3 = server(BUCKET);
    let prefix = "shared";
    // What the original writes, with JSON.stringify's compact rows.
    let rows = r#"[{"namespace":"team","type_normalized":"aws/vpc","model_id":"m1","version":1,"is_latest":1}]"#;
    let theirs: Vec<(&str, Vec<u8>)> = vec![
        (
            "_control/heartbeats/instance-1.json",
            br#"{"at":"2026-12-02T00:00:00Z"}"#.to_vec(),
        ),
        ("team/_control/claims/run-7", vec![0, 159, 255]),
        ("team/_control/fire-records/cron-1", b"fired".to_vec()),
        ("team/.catalog-export.json", rows.as_bytes().to_vec()),
        (
            "infra/data/aws/vpc/m1/state/1/raw",
            b"{\"cidr\":\"10.0.0.0/16\"}".to_vec(),
        ),
        (
            "other/.namespace.json",
            br#"{"namespace":"other","repoId":"r2"}"#.to_vec(),
        ),
        ("team/other/workflows/leaked.yaml", b"leaked".to_vec()),
    ];
    let mut put = boto3_spec(&s3, BUCKET, prefix, None);
    put["objects"] = theirs
        .iter()
        .map(|(k, v)| (k.to_string(), json!(hex(v))))
        .collect::<serde_json::Map<_, _>>()
        .into();
    boto3_run("put", &put);

    let host = host();
    let plugin = plugin(&host).await;
    let provider = open(&plugin, config(&s3, BUCKET, prefix)).await;
    let dir = tempfile::tempdir().unwrap();
    let svc = sync(&provider, &dir.path().join("cache")).await;

    // Theirs, read by us.
    assert_eq!(
        svc.control_get(None, "heartbeats/instance-1.json")
            .await
            .unwrap()
            .unwrap(),
        theirs[0].1
    );
    assert_eq!(
        svc.control_get(Some("team"), "claims/run-7")
            .await
            .unwrap()
            .unwrap(),
        theirs[1].1
    );
    assert_eq!(
        svc.control_list(Some("team"), "").await.unwrap(),
        ["claims/run-7", "fire-records/cron-1"]
    );
    assert_eq!(
        svc.control_list(None, "").await.unwrap(),
        ["heartbeats/instance-1.json"],
        "the root's control prefix holds only the root's records"
    );
    assert!(
        !svc.control_put_if_absent(Some("team"), "fire-records/cron-1", b"again")
            .await
            .unwrap(),
        "a fire record the original wrote counts as existing"
    );
    let catalogs = svc
        .pull_foreign_catalogs(&["team".to_string(), "nobody".to_string()])
        .await
        .unwrap();
    assert_eq!(catalogs.len(), 1);
    assert_eq!(catalogs[0].rows_json, rows);
    assert!(
        !svc.export_catalog("team", rows).await.unwrap(),
        "the original's export of the same rows is recognised as unchanged"
    );
    assert_eq!(
        svc.fetch_foreign_content("infra", "data/aws/vpc/m1/state/1/raw")
            .await
            .unwrap()
            .unwrap(),
        theirs[4].1
    );
    let found = svc
        .repair_namespace_contamination(Some("team"), true)
        .await
        .unwrap();
    assert_eq!(
        found,
        ContaminationSummary {
            foreign_namespaces: vec![ForeignNamespace {
                namespace: "other".into(),
                object_count: 1
            }],
            total_foreign_objects: 1,
            deleted: 0
        },
        "the original's manifest names the namespace whose objects leaked"
    );

    // Ours, read by boto3 at the original's keys.
    svc.control_put(Some("team"), "heartbeats/ours.json", b"{\"ours\":1}")
        .await
        .unwrap();
    assert!(
        svc.control_put_if_absent(None, "claims/x", &[1, 2, 3])
            .await
            .unwrap()
    );
    let our_rows = r#"[{"namespace":"app","id":"r1"}]"#;
    assert!(svc.export_catalog("app", our_rows).await.unwrap());
    svc.control_delete(Some("team"), "claims/run-7")
        .await
        .unwrap();
    let mut get = boto3_spec(&s3, BUCKET, prefix, None);
    get["keys"] = json!([
        "team/_control/heartbeats/ours.json",
        "_control/claims/x",
        "app/.catalog-export.json",
        "team/_control/claims/run-7",
    ]);
    let read: Value = boto3_run("get", &get);
    let obj = |k: &str| read["objects"][k].as_str().map(unhex);
    assert_eq!(
        obj("team/_control/heartbeats/ours.json").unwrap(),
        b"{\"ours\":1}"
    );
    assert_eq!(obj("_control/claims/x").unwrap(), [1, 2, 3]);
    assert_eq!(
        obj("app/.catalog-export.json").unwrap(),
        our_rows.as_bytes()
    );
    assert!(
        obj("team/_control/claims/run-7").is_none(),
        "our delete reached the original's record"
    );

    // The repair deletes exactly the leaked object; boto3 sees it gone and
    // everything else kept.
    let done = svc
        .repair_namespace_contamination(Some("team"), false)
        .await
        .unwrap();
    assert_eq!(done.deleted, 1);
    let keys = list_keys(&s3, BUCKET, &format!("{prefix}/"));
    assert!(!keys.iter().any(|k| k.contains("team/other/")), "{keys:?}");
    for (k, _) in &theirs {
        if !k.starts_with("team/other/") && *k != "team/_control/claims/run-7" {
            assert!(
                keys.contains(&format!("{prefix}/{k}")),
                "{k} was lost: {keys:?}"
            );
        }
    }
    // Control records never cross into a cache; the catalog export is an
    // ordinary file of the namespace (swamp core also pushes it as one).
    let cache = dir.path().join("cache");
    assert_eq!(
        svc.pull_changed(&SyncOptions::default().namespace("team"))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        std::fs::read(cache.join("team/.catalog-export.json")).unwrap(),
        rows.as_bytes()
    );
    assert!(!cache.join("team/_control").exists());
    assert!(!cache.join("_control").exists());
}
