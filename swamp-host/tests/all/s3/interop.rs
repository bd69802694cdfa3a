//! Sharing a bucket with other clients: the layout the guest pushes, read
//! back by an independent S3 client (boto3), and a bucket boto3 writes in
//! the original's v1 layout, pulled by the guest; namespace claims in the
//! bucket; construction that writes nothing.

use serde_json::{Value, json};
use swamp_host::{DatastoreError, HostError, LockOptions, SyncOptions};

use super::support::*;

const BUCKET: &str = "interop";
fn spec(s3: &seaweedfs_fixture::SeaweedFs, prefix: &str, ns: Option<&str>) -> Value {
    boto3_spec(s3, BUCKET, prefix, ns)
}

/// A tree touching every partition rule: model data (raw, metadata,
/// latest marker), outputs, workflow runs, single-shard dirs, a top-level
/// file, an empty file and binary content.
fn tree() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "data/aws/ec2/vpc/abc-123/state-main/1/raw",
            (0..=255u8).collect(),
        ),
        (
            "data/aws/ec2/vpc/abc-123/state-main/1/metadata.yaml",
            b"version: 1\n".to_vec(),
        ),
        ("data/aws/ec2/vpc/abc-123/state-main/latest", b"1".to_vec()),
        ("outputs/mytype/mymodel/out1/1/raw", b"output".to_vec()),
        ("workflow-runs/wf-1/run/data", b"{\"ok\":true}".to_vec()),
        ("workflows-evaluated/deploy.yaml", b"steps: []\n".to_vec()),
        ("audit/2026-01-01.jsonl", b"{}\n".to_vec()),
        ("logs/empty.log", Vec::new()),
        ("top-level.txt", "héllo wörld".as_bytes().to_vec()),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn pushed_layout_reads_back_with_boto3() {
    require_boto3!();
    let s3 = server(BUCKET);
    let host = host();
    let plugin = plugin(&host).await;
    let provider = open(&plugin, config(&s3, BUCKET, "team")).await;
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let a = sync(&provider, &cache).await;
    let files = tree();
    for (rel, content) in &files {
        write(&cache, rel, content);
    }
    // Internal files never cross the boundary.
    write(&cache, "data/aws/ec2/vpc/abc-123/.lock", b"{}");
    write(&cache, "data/x/.namespace.json", b"{}");
    let pushed = a.push_changed(&SyncOptions::default()).await.unwrap();
    assert_eq!(pushed as usize, files.len());

    let mut expect = spec(&s3, "team", None);
    expect["files"] = files
        .iter()
        .map(|(r, c)| (r.to_string(), json!(hex(c))))
        .collect::<serde_json::Map<_, _>>()
        .into();
    let summary = boto3_run("check", &expect);
    eprintln!("layout after the first push: {}", summary["layout"]);
    let mut rels: Vec<&str> = files.iter().map(|(r, _)| *r).collect();
    rels.sort();
    assert_eq!(summary["entries"], json!(rels));

    // A deletion and an edit keep the layout valid.
    std::fs::remove_file(cache.join("audit/2026-01-01.jsonl")).unwrap();
    write(&cache, "top-level.txt", b"edited");
    a.mark_dirty(&SyncOptions::default()).await.unwrap();
    assert_eq!(a.push_changed(&SyncOptions::default()).await.unwrap(), 2);
    let obj = expect["files"].as_object_mut().unwrap();
    obj.remove("audit/2026-01-01.jsonl");
    obj.insert("top-level.txt".into(), json!(hex(b"edited")));
    let summary = boto3_run("check", &expect);
    assert_eq!(
        summary["entries"].as_array().unwrap().len(),
        files.len() - 1
    );
    assert!(
        !summary["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k.as_str().unwrap().ends_with(".lock")
                || k.as_str().unwrap().ends_with(".namespace.json")),
        "internal files were uploaded: {}",
        summary["keys"]
    );

    // A namespace: data and index under {prefix}/{ns}/, bare rels inside.
    provider
        .register_namespace("/unused", "team-a", "repo-1")
        .await
        .unwrap();
    let ns_cache = dir.path().join("ns-cache");
    let n = sync(&provider, &ns_cache).await;
    let rel = "data/aws/s3/bucket/b-1/state/1/raw";
    write(&ns_cache, &format!("team-a/{rel}"), b"namespaced");
    let opts = SyncOptions::default().namespace("team-a");
    assert_eq!(n.push_changed(&opts).await.unwrap(), 1);
    let mut ns_expect = spec(&s3, "team", Some("team-a"));
    ns_expect["files"] = json!({ rel: hex(b"namespaced") });
    let summary = boto3_run("check", &ns_expect);
    assert_eq!(summary["entries"], json!([rel]));
    // The solo index did not pick the namespaced file up.
    let summary = boto3_run("check", &expect);
    assert!(
        !summary["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e.as_str().unwrap().contains("team-a"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pulls_what_boto3_wrote_in_the_originals_v1_layout() {
    require_boto3!();
    let s3 = server(BUCKET);
    let files: Vec<(&str, Vec<u8>)> = vec![
        (
            "data/aws/ec2/vpc/v-9/state/3/raw",
            b"{\"cidr\":\"10.0.0.0/16\"}".to_vec(),
        ),
        (
            "data/aws/ec2/vpc/v-9/state/3/metadata.yaml",
            b"v: 3\n".to_vec(),
        ),
        ("data/aws/ec2/vpc/v-9/state/latest", b"3".to_vec()),
        ("workflow-runs/wf-2/run-1/log", vec![0u8, 1, 2, 255]),
        ("files/notes.md", b"# notes\n".to_vec()),
    ];
    let mut write_spec = spec(&s3, "shared", None);
    write_spec["files"] = files
        .iter()
        .map(|(r, c)| (r.to_string(), json!(hex(c))))
        .collect::<serde_json::Map<_, _>>()
        .into();
    // An older writer left no sha256 on one entry.
    write_spec["noSha256"] = json!(["files/notes.md"]);
    boto3_run("write", &write_spec);

    let host = host();
    let plugin = plugin(&host).await;
    let provider = open(&plugin, config(&s3, BUCKET, "shared")).await;
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let b = sync(&provider, &cache).await;
    let pulled = b.pull_changed(&SyncOptions::default()).await.unwrap();
    assert_eq!(pulled as usize, files.len());
    for (rel, content) in &files {
        assert_eq!(&std::fs::read(cache.join(rel)).unwrap(), content, "{rel}");
    }
    assert_eq!(b.pull_changed(&SyncOptions::default()).await.unwrap(), 0);
    assert_eq!(b.push_changed(&SyncOptions::default()).await.unwrap(), 0);

    // Our edit lands in a layout the original still reads.
    write(&cache, "files/notes.md", b"# notes, edited\n");
    b.mark_dirty(&SyncOptions::rel_path("files/notes.md"))
        .await
        .unwrap();
    assert_eq!(b.push_changed(&SyncOptions::default()).await.unwrap(), 1);
    let obj = write_spec["files"].as_object_mut().unwrap();
    obj.insert("files/notes.md".into(), json!(hex(b"# notes, edited\n")));
    let summary = boto3_run("check", &write_spec);
    assert_ne!(
        summary["layout"], "sharded",
        "a v1 bucket must stay readable by the original (docs/contract.md §7 item 2: keep the monolith)"
    );
    let entries = remote_entries(&s3, BUCKET, "shared/");
    assert_eq!(entries.len(), files.len());
    assert!(
        entries["files/notes.md"]["sha256"].is_string(),
        "a pushed entry carries sha256"
    );
}

/// The reverse for the shard-first (v2) layout: shards and a v2 meta are
/// authoritative over a stale monolith; our edit lands in its shard, bumps
/// commitSeq and leaves the monolith alone.
#[tokio::test(flavor = "multi_thread")]
async fn pulls_and_pushes_a_bucket_boto3_wrote_in_the_originals_v2_layout() {
    require_boto3!();
    let s3 = server(BUCKET);
    let files: Vec<(&str, Vec<u8>)> = vec![
        (
            "data/aws/ec2/vpc/v-9/state/3/raw",
            b"{\"cidr\":\"10.0.0.0/16\"}".to_vec(),
        ),
        ("data/aws/ec2/vpc/v-9/state/latest", b"3".to_vec()),
        ("workflow-runs/wf-2/run-1/log", vec![0u8, 1, 2, 255]),
        ("files/notes.md", b"# notes\n".to_vec()),
    ];
    let mut write_spec = spec(&s3, "sharded", None);
    write_spec["layout"] = json!("sharded");
    write_spec["files"] = files
        .iter()
        .map(|(r, c)| (r.to_string(), json!(hex(c))))
        .collect::<serde_json::Map<_, _>>()
        .into();
    boto3_run("write", &write_spec);
    let monolith_before = s3
        .get_object(BUCKET, "sharded/.datastore-index.json")
        .unwrap();

    let host = host();
    let plugin = plugin(&host).await;
    let provider = open(&plugin, config(&s3, BUCKET, "sharded")).await;
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let b = sync(&provider, &cache).await;
    assert_eq!(
        b.pull_changed(&SyncOptions::default()).await.unwrap() as usize,
        files.len()
    );
    for (rel, content) in &files {
        assert_eq!(&std::fs::read(cache.join(rel)).unwrap(), content, "{rel}");
    }
    assert_eq!(b.pull_changed(&SyncOptions::default()).await.unwrap(), 0);

    write(&cache, "files/notes.md", b"# notes, edited\n");
    b.mark_dirty(&SyncOptions::rel_path("files/notes.md"))
        .await
        .unwrap();
    assert_eq!(b.push_changed(&SyncOptions::default()).await.unwrap(), 1);
    let meta: serde_json::Value = serde_json::from_slice(
        &s3.get_object(BUCKET, "sharded/_index/_meta.json")
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(meta["version"], 2, "never demoted: {meta}");
    assert_eq!(meta["commitSeq"], 8, "bumped once: {meta}");
    let shard: serde_json::Value = serde_json::from_slice(
        &s3.get_object(BUCKET, "sharded/_index/files.json")
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(shard["entries"]["files/notes.md"]["size"], 16, "{shard}");
    assert_eq!(
        s3.get_object(BUCKET, "sharded/.datastore-index.json")
            .unwrap(),
        monolith_before,
        "v2 writers never write the monolith"
    );
    let obj = write_spec["files"].as_object_mut().unwrap();
    obj.insert("files/notes.md".into(), json!(hex(b"# notes, edited\n")));
    let summary = boto3_run("check", &write_spec);
    assert_eq!(summary["layout"], "sharded", "{summary}");
}

#[tokio::test(flavor = "multi_thread")]
async fn namespaces_register_refresh_conflict_and_list() {
    let s3 = server(BUCKET);
    let host = host();
    let plugin = plugin(&host).await;
    let provider = open(&plugin, config(&s3, BUCKET, "team")).await;
    assert!(provider.features().await.unwrap().namespaces);
    assert_eq!(
        provider.list_namespaces("/unused").await.unwrap(),
        Vec::<String>::new()
    );

    provider
        .register_namespace("/unused", "alpha", "repo-1")
        .await
        .unwrap();
    let raw = s3
        .get_object(BUCKET, "team/alpha/.namespace.json")
        .unwrap()
        .expect("manifest");
    let text = String::from_utf8(raw).unwrap();
    assert!(text.starts_with("{\n  \"namespace\": \"alpha\""), "{text}");
    let first: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        first.as_object().unwrap().keys().collect::<Vec<_>>(),
        vec!["namespace", "registeredAt", "repoId"]
    );
    assert_eq!(first["repoId"], "repo-1");

    // The same repo again: the time is refreshed.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    provider
        .register_namespace("/unused", "alpha", "repo-1")
        .await
        .unwrap();
    let again: Value = serde_json::from_slice(
        &s3.get_object(BUCKET, "team/alpha/.namespace.json")
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(again["repoId"], "repo-1");
    assert!(
        again["registeredAt"].as_str().unwrap() > first["registeredAt"].as_str().unwrap(),
        "{first} then {again}"
    );

    // Another repo: conflict naming the owner; the manifest is untouched.
    match provider
        .register_namespace("/unused", "alpha", "repo-2")
        .await
    {
        Err(HostError::Datastore(DatastoreError::Conflict(m))) => {
            assert_eq!(
                m,
                "Namespace \"alpha\" is already registered by repo repo-1"
            )
        }
        other => panic!("expected conflict, got {other:?}"),
    }
    let after: Value = serde_json::from_slice(
        &s3.get_object(BUCKET, "team/alpha/.namespace.json")
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(after, again);

    // A claim written by another client (the original) is honoured.
    s3.put_object(
        BUCKET,
        "team/gamma/.namespace.json",
        b"{\n  \"namespace\": \"gamma\",\n  \"repoId\": \"repo-9\",\n  \"registeredAt\": \"2026-01-01T00:00:00.000Z\"\n}",
    )
    .unwrap();
    match provider
        .register_namespace("/unused", "gamma", "repo-1")
        .await
    {
        Err(HostError::Datastore(DatastoreError::Conflict(m))) => {
            assert!(m.contains("repo-9"), "{m}")
        }
        other => panic!("expected conflict, got {other:?}"),
    }
    // Claims outside the prefix and data files do not count; a corrupt
    // claim is reported, not overwritten.
    s3.put_object(BUCKET, "elsewhere/delta/.namespace.json", b"{}")
        .unwrap();
    s3.put_object(BUCKET, "team/alpha/data/x/y/z/raw", b"data")
        .unwrap();
    s3.put_object(BUCKET, "team/broken/.namespace.json", b"{not json")
        .unwrap();
    provider
        .register_namespace("/unused", "beta", "repo-2")
        .await
        .unwrap();
    assert_eq!(
        provider.list_namespaces("/unused").await.unwrap(),
        vec!["alpha", "beta", "broken", "gamma"]
    );
    match provider
        .register_namespace("/unused", "broken", "repo-1")
        .await
    {
        Err(HostError::Datastore(DatastoreError::CorruptData(_))) => {}
        other => panic!("expected corrupt-data, got {other:?}"),
    }
    assert_eq!(
        s3.get_object(BUCKET, "team/broken/.namespace.json")
            .unwrap()
            .unwrap(),
        b"{not json"
    );

    // Slugs are checked before any request.
    for bad in ["", "Alpha", "a/b", "..", "-a", "a_b"] {
        match provider.register_namespace("/unused", bad, "repo-1").await {
            Err(HostError::Datastore(DatastoreError::InvalidArgument(_))) => {}
            other => panic!("{bad:?}: expected invalid-argument, got {other:?}"),
        }
    }
    match provider.register_namespace("/unused", "ok", "").await {
        Err(HostError::Datastore(DatastoreError::InvalidArgument(_))) => {}
        other => panic!("empty repo id: expected invalid-argument, got {other:?}"),
    }
    // Without a prefix, claims sit at the bucket root.
    let bare = {
        let mut c = config(&s3, BUCKET, "");
        c.as_object_mut().unwrap().remove("prefix");
        open(&plugin, c).await
    };
    bare.register_namespace("/unused", "root-ns", "repo-3")
        .await
        .unwrap();
    assert!(s3.object_exists(BUCKET, "root-ns/.namespace.json").unwrap());
    assert_eq!(
        bare.list_namespaces("/unused").await.unwrap(),
        vec!["root-ns"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_namespace_race_has_exactly_one_winner() {
    let s3 = server(BUCKET);
    let host = host();
    let plugin = plugin(&host).await;
    for round in 0..4 {
        let (p1, p2) = (
            open(&plugin, config(&s3, BUCKET, "race")).await,
            open(&plugin, config(&s3, BUCKET, "race")).await,
        );
        let ns = format!("ns-{round}");
        let (r1, r2) = tokio::join!(
            p1.register_namespace("/unused", &ns, "repo-a"),
            p2.register_namespace("/unused", &ns, "repo-b")
        );
        let manifest: Value = serde_json::from_slice(
            &s3.get_object(BUCKET, &format!("race/{ns}/.namespace.json"))
                .unwrap()
                .unwrap(),
        )
        .unwrap();
        let owner = manifest["repoId"].as_str().unwrap();
        match (r1, r2) {
            (Ok(()), Err(HostError::Datastore(DatastoreError::Conflict(m)))) => {
                assert_eq!(owner, "repo-a", "{m}")
            }
            (Err(HostError::Datastore(DatastoreError::Conflict(m))), Ok(())) => {
                assert_eq!(owner, "repo-b", "{m}")
            }
            other => panic!("round {round}: exactly one must win: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn construction_writes_nothing_and_verify_leaves_nothing() {
    require_boto3!();
    // What export.construction-side-effect-free and verifier.no-leftovers
    // check on a directory, checked on the bucket.
    let s3 = server(BUCKET);
    let host = host();
    let plugin = plugin(&host).await;
    let provider = open(&plugin, config(&s3, BUCKET, "quiet")).await;
    let path = provider.resolve_datastore_path("/repo").await.unwrap();
    provider
        .create_lock(&path, LockOptions::default())
        .await
        .unwrap();
    let v = provider.create_verifier().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let _ = sync(&provider, &dir.path().join("c")).await;
    assert_eq!(list_keys(&s3, BUCKET, ""), Vec::<String>::new());
    assert!(v.verify().await.unwrap().healthy);
    assert_eq!(list_keys(&s3, BUCKET, ""), Vec::<String>::new());
}
