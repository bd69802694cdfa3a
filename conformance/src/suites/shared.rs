//! The shared-store calls (`wit/shared-store.wit`): control records,
//! catalog exports, foreign content and contamination repair. Each check
//! runs only when the sync service advertises the feature it exercises; a
//! component built against WIT 0.1.0 advertises none.
//!
//! Records are read back through a second sync service (its own instance
//! and cache), so nothing a guest keeps in memory can stand in for the
//! store. Each check works in namespaces of its own, so checks that share
//! one datastore do not meet.

use crate::framework::{Check, Ctx, Fixture, OrFail, Outcome, Status, Suite, check, ensure, fail};
use futures::future::join_all;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use swamp_host::{
    ContaminationSummary, DatastoreError, ForeignNamespace, HostError, HostResult, SharedFeatures,
    SyncOptions, SyncService,
};

pub(crate) fn checks() -> Vec<Check> {
    vec![
        check!(
            "shared.control-round-trip",
            Suite::Shared,
            "control records of 0 bytes to 300 KiB, binary or text, are read back byte for byte by another instance; overwrite, delete (twice), absent reads as none; list returns the sorted keys with the prefix, relative to the control prefix",
            control_round_trip
        ),
        check!(
            "shared.control-namespaces-apart",
            Suite::Shared,
            "one control key in the root and in two namespaces holds three records; list, delete and put-if-absent in one leave the others; where the datastore is a local directory they sit at swamp's keys [{ns}/]_control/{key}",
            control_namespaces_apart
        ),
        check!(
            "shared.control-put-if-absent-atomic",
            Suite::Shared,
            "eight instances racing put-if-absent on one key, five rounds: exactly one creates it and the stored record is the winner's; on an existing key it answers false and changes nothing",
            control_put_if_absent_atomic
        ),
        check!(
            "shared.control-keys-refused",
            Suite::Shared,
            "control keys and list prefixes that are empty, absolute, contain '.' or '..' segments, NUL or a backslash are refused with invalid-argument by every call, and nothing stored changes",
            control_keys_refused
        ),
        check!(
            "shared.catalog-export",
            Suite::Shared,
            "export-catalog stores the rows byte for byte, skips unchanged rows, refuses rows that are not a JSON array; pull-foreign-catalogs returns the exports that exist and are JSON arrays, in order, and skips missing and malformed ones",
            catalog_export
        ),
        check!(
            "shared.foreign-content",
            Suite::Shared,
            "fetch-foreign-content returns a file another namespace pushed, byte for byte (0 bytes and 1 MiB), none when absent or in another namespace, refuses traversal, and writes nothing into the cache",
            foreign_content
        ),
        check!(
            "shared.contamination-repair",
            Suite::Shared,
            "repair-namespace-contamination finds a registered namespace's objects inside another namespace; a dry run counts them and deletes nothing; a repair deletes exactly them, a fresh pull then brings only the namespace's own files, and the foreign namespace itself is untouched",
            contamination_repair
        ),
    ]
}

/// A sync service (`cache-a`) whose shared features include `want`, or a
/// skip naming the feature.
async fn service(
    cx: &Ctx,
    want: fn(&SharedFeatures) -> bool,
    what: &str,
) -> Result<(Fixture, SyncService, PathBuf), Status> {
    let f = cx.fixture().await?;
    let (svc, cache) = f.sync("cache-a").await?;
    let features = svc
        .shared_features()
        .await
        .or_fail("shared-store features")?;
    if !want(&features) {
        return Err(Status::Skipped(if features == SharedFeatures::default() {
            format!(
                "{what} is not advertised (no shared-store feature is; a component built against WIT 0.1.0 has none)"
            )
        } else {
            format!("{what} is not advertised")
        }));
    }
    Ok((f, svc, cache))
}

fn is_invalid_argument(r: &HostError) -> bool {
    matches!(r, HostError::Datastore(DatastoreError::InvalidArgument(_)))
}

/// Fail unless `r` is an invalid-argument error.
fn expect_refused<T: std::fmt::Debug>(what: &str, r: HostResult<T>) -> Outcome {
    match r {
        Err(e) if is_invalid_argument(&e) => Ok(()),
        Err(e) => fail!("{what}: expected invalid-argument, got the error {e}"),
        Ok(v) => fail!("{what}: expected invalid-argument, the call succeeded with {v:?}"),
    }
}

/// Every file under `dir` with its bytes (empty when `dir` is absent).
fn snapshot(dir: &Path) -> Result<BTreeMap<PathBuf, Vec<u8>>, Status> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).or_fail("reading the datastore directory")?;
                out.insert(p, bytes);
            }
        }
    }
    Ok(out)
}

/// A deterministic binary body of `len` bytes.
fn body(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0] ^ salt)
        .collect()
}

async fn get(svc: &SyncService, ns: Option<&str>, key: &str) -> Result<Option<Vec<u8>>, Status> {
    svc.control_get(ns, key)
        .await
        .or_fail(&format!("control-get {key:?} in {ns:?}"))
}

async fn list(svc: &SyncService, ns: Option<&str>, prefix: &str) -> Result<Vec<String>, Status> {
    svc.control_list(ns, prefix)
        .await
        .or_fail(&format!("control-list {prefix:?} in {ns:?}"))
}

async fn control_round_trip(cx: Ctx) -> Outcome {
    let (f, a, _) = service(&cx, |x| x.control_plane, "control-plane").await?;
    let (b, _) = f.sync("cache-b").await?;
    let ns = Some("ctl-round-trip");
    let records: Vec<(&str, Vec<u8>)> = vec![
        ("pending-runs/run-1.json", br#"{"id":1}"#.to_vec()),
        ("pending-runs/nested/run-2.json", vec![0, 255, 10, 13, 0]),
        ("heartbeats/instance-a.json", Vec::new()),
        ("token-secrets/big", body(300 * 1024, 7)),
        ("pending-runs-archive", b"x".to_vec()),
    ];
    for (key, bytes) in &records {
        a.control_put(ns, key, bytes)
            .await
            .or_fail(&format!("control-put {key:?}"))?;
    }
    for (key, bytes) in &records {
        match get(&b, ns, key).await? {
            Some(got) if &got == bytes => {}
            Some(got) => fail!(
                "control-get {key:?} from another instance returned {} bytes that differ from the {} put",
                got.len(),
                bytes.len()
            ),
            None => fail!(
                "control-get {key:?} from another instance returned none after a put of {} bytes",
                bytes.len()
            ),
        }
    }
    let mut all: Vec<String> = records.iter().map(|(k, _)| k.to_string()).collect();
    all.sort();
    for (prefix, want) in [
        ("", all.clone()),
        (
            "pending-runs/",
            vec![
                "pending-runs/nested/run-2.json".to_string(),
                "pending-runs/run-1.json".to_string(),
            ],
        ),
        (
            "pending-runs",
            vec![
                "pending-runs-archive".to_string(),
                "pending-runs/nested/run-2.json".to_string(),
                "pending-runs/run-1.json".to_string(),
            ],
        ),
        ("fire-records/", vec![]),
    ] {
        let got = list(&b, ns, prefix).await?;
        ensure!(
            got == want,
            "control-list {prefix:?} returned {got:?}, expected {want:?}"
        );
    }
    let key = "pending-runs/run-1.json";
    a.control_put(ns, key, b"replaced")
        .await
        .or_fail("control-put over an existing record")?;
    ensure!(
        get(&b, ns, key).await?.as_deref() == Some(b"replaced".as_slice()),
        "after an overwrite, control-get {key:?} does not return the new bytes"
    );
    a.control_delete(ns, key).await.or_fail("control-delete")?;
    a.control_delete(ns, key)
        .await
        .or_fail("control-delete of a record already deleted")?;
    ensure!(
        get(&b, ns, key).await?.is_none(),
        "control-get {key:?} still returns bytes after control-delete"
    );
    ensure!(
        !list(&b, ns, "").await?.iter().any(|k| k == key),
        "control-list still names {key:?} after control-delete"
    );
    ensure!(
        get(&b, ns, "never/written").await?.is_none(),
        "control-get of a key never written returned bytes"
    );
    Ok(())
}

async fn control_namespaces_apart(cx: Ctx) -> Outcome {
    let (f, a, _) = service(&cx, |x| x.control_plane, "control-plane").await?;
    let (b, _) = f.sync("cache-b").await?;
    let key = "claims/shared-key.json";
    let spaces: [(Option<&str>, &[u8]); 3] = [
        (None, b"root record"),
        (Some("ctl-alpha"), b"alpha record"),
        (Some("ctl-beta"), b"beta record"),
    ];
    for (ns, bytes) in spaces {
        a.control_put(ns, key, bytes)
            .await
            .or_fail(&format!("control-put in {ns:?}"))?;
    }
    for (ns, bytes) in spaces {
        let got = get(&b, ns, key).await?;
        ensure!(
            got.as_deref() == Some(bytes),
            "control-get {key:?} in {ns:?} returned {:?}, expected {:?}: the namespaces share records",
            got.map(|g| String::from_utf8_lossy(&g).into_owned()),
            String::from_utf8_lossy(bytes)
        );
        let keys = list(&b, ns, "claims/").await?;
        ensure!(
            keys == [key],
            "control-list \"claims/\" in {ns:?} returned {keys:?}, expected only {key:?}"
        );
    }
    if let Some(dir) = cx.isolated_dir(&f.config) {
        for (path, bytes) in [
            (dir.join("_control/claims/shared-key.json"), spaces[0].1),
            (
                dir.join("ctl-beta/_control/claims/shared-key.json"),
                spaces[2].1,
            ),
        ] {
            let got = std::fs::read(&path).ok();
            ensure!(
                got.as_deref() == Some(bytes),
                "{} does not hold the record: control records must sit at swamp's keys [{{ns}}/]_control/{{key}} so other clients read them",
                path.display()
            );
        }
    }
    a.control_delete(Some("ctl-alpha"), key)
        .await
        .or_fail("control-delete in ctl-alpha")?;
    ensure!(
        get(&b, Some("ctl-alpha"), key).await?.is_none(),
        "the record in ctl-alpha survived its delete"
    );
    for (ns, bytes) in [spaces[0], spaces[2]] {
        ensure!(
            get(&b, ns, key).await?.as_deref() == Some(bytes),
            "a delete in ctl-alpha removed or changed the record in {ns:?}"
        );
    }
    let created = a
        .control_put_if_absent(Some("ctl-alpha"), key, b"alpha again")
        .await
        .or_fail("control-put-if-absent in ctl-alpha")?;
    ensure!(
        created,
        "put-if-absent in ctl-alpha answered false, though only other namespaces hold {key:?}"
    );
    let created = a
        .control_put_if_absent(Some("ctl-beta"), key, b"overwritten")
        .await
        .or_fail("control-put-if-absent in ctl-beta")?;
    ensure!(
        !created,
        "put-if-absent in ctl-beta answered true over an existing record"
    );
    ensure!(
        get(&b, Some("ctl-beta"), key).await?.as_deref() == Some(spaces[2].1),
        "put-if-absent on an existing record in ctl-beta changed it"
    );
    Ok(())
}

async fn control_put_if_absent_atomic(cx: Ctx) -> Outcome {
    let (f, a, _) = service(&cx, |x| x.control_plane, "control-plane").await?;
    const RACERS: usize = 8;
    let mut racers = Vec::new();
    for i in 0..RACERS {
        racers.push(f.sync(&format!("racer-{i}")).await?.0);
    }
    let ns = Some("ctl-race");
    for round in 0..5 {
        let key = format!("fire-records/round-{round}.json");
        let bodies: Vec<Vec<u8>> = (0..RACERS)
            .map(|i| format!("racer {i} of round {round}").into_bytes())
            .collect();
        let outcomes = join_all(
            racers
                .iter()
                .zip(&bodies)
                .map(|(svc, bytes)| svc.control_put_if_absent(ns, &key, bytes)),
        )
        .await;
        let mut winners = Vec::new();
        for (i, o) in outcomes.into_iter().enumerate() {
            if o.or_fail(&format!("put-if-absent of racer {i}"))? {
                winners.push(i);
            }
        }
        ensure!(
            winners.len() == 1,
            "round {round}: {} of {RACERS} racing put-if-absent calls answered true ({winners:?}); exactly one may create the record",
            winners.len()
        );
        let stored = get(&a, ns, &key).await?;
        ensure!(
            stored.as_deref() == Some(bodies[winners[0]].as_slice()),
            "round {round}: racer {} won, but the stored record is {:?}",
            winners[0],
            stored.map(|s| String::from_utf8_lossy(&s).into_owned())
        );
        let again = a
            .control_put_if_absent(ns, &key, b"late")
            .await
            .or_fail("put-if-absent on an existing record")?;
        ensure!(
            !again,
            "round {round}: put-if-absent on an existing record answered true"
        );
        ensure!(
            get(&a, ns, &key).await?.as_deref() == Some(bodies[winners[0]].as_slice()),
            "round {round}: put-if-absent on an existing record changed it"
        );
    }
    Ok(())
}

async fn control_keys_refused(cx: Ctx) -> Outcome {
    let (f, a, _) = service(&cx, |x| x.control_plane, "control-plane").await?;
    let ns = Some("ctl-keys");
    a.control_put(ns, "keep/me", b"kept")
        .await
        .or_fail("control-put of a good key")?;
    let dir = cx.isolated_dir(&f.config);
    let before = match &dir {
        Some(d) => Some(snapshot(d)?),
        None => None,
    };
    let bad = [
        "",
        "/etc/escape",
        "../escape",
        "keep/../../escape",
        "..",
        "./keep/me",
        "keep//me",
        "keep\\me",
        "keep\0me",
    ];
    for key in bad {
        expect_refused(
            &format!("control-put {key:?}"),
            a.control_put(ns, key, b"x").await,
        )?;
        expect_refused(
            &format!("control-get {key:?}"),
            a.control_get(ns, key).await,
        )?;
        expect_refused(
            &format!("control-delete {key:?}"),
            a.control_delete(ns, key).await,
        )?;
        expect_refused(
            &format!("control-put-if-absent {key:?}"),
            a.control_put_if_absent(ns, key, b"x").await,
        )?;
    }
    for prefix in ["/", "../", "keep/../", "keep\\", "keep\0"] {
        expect_refused(
            &format!("control-list {prefix:?}"),
            a.control_list(ns, prefix).await,
        )?;
    }
    expect_refused(
        "control-put in namespace \"../ctl-keys\"",
        a.control_put(Some("../ctl-keys"), "k", b"x").await,
    )?;
    ensure!(
        get(&a, ns, "keep/me").await?.as_deref() == Some(b"kept".as_slice()),
        "the record keep/me changed while bad keys were refused"
    );
    if let (Some(d), Some(before)) = (&dir, before) {
        let after = snapshot(d)?;
        if after != before {
            let changed: Vec<String> = after
                .iter()
                .filter(|(p, b)| before.get(*p) != Some(b))
                .map(|(p, _)| p.display().to_string())
                .chain(
                    before
                        .keys()
                        .filter(|p| !after.contains_key(*p))
                        .map(|p| format!("{} (deleted)", p.display())),
                )
                .collect();
            fail!("refused calls changed the datastore: {changed:?}");
        }
    }
    ensure!(
        list(&a, ns, "").await? == ["keep/me"],
        "control-list after the refused calls names more than keep/me"
    );
    Ok(())
}

async fn catalog_export(cx: Ctx) -> Outcome {
    let (f, a, _) = service(&cx, |x| x.catalogs, "catalogs").await?;
    let (b, _) = f.sync("cache-b").await?;
    let first = r#"[{"namespace":"cat-home","id":"r1","model_name":"vpc","size":12,"tags":"{\"env\":\"prod\"}"}]"#;
    let second = r#"[{"namespace":"cat-home","id":"r1","model_name":"vpc ünïcödé","size":12},{"namespace":"cat-home","id":"r2","size":0}]"#;
    let export = |rows: &'static str| a.export_catalog("cat-home", rows);
    ensure!(
        export(first).await.or_fail("export-catalog")?,
        "the first export-catalog of a namespace answered false (not written)"
    );
    ensure!(
        !export(first).await.or_fail("export-catalog again")?,
        "export-catalog of unchanged rows answered true: it must skip the write"
    );
    ensure!(
        export(second).await.or_fail("export-catalog of new rows")?,
        "export-catalog of changed rows answered false (not written)"
    );
    for (rows, why) in [
        (r#"{"id":"r1"}"#, "a JSON object"),
        ("[{\"id\":", "truncated JSON"),
        ("", "empty text"),
    ] {
        expect_refused(
            &format!("export-catalog of {why}"),
            a.export_catalog("cat-home", rows).await,
        )?;
    }
    expect_refused(
        "export-catalog into namespace \"../cat-home\"",
        a.export_catalog("../cat-home", "[]").await,
    )?;
    let got = b
        .pull_foreign_catalogs(&["cat-missing".to_string(), "cat-home".to_string()])
        .await
        .or_fail("pull-foreign-catalogs")?;
    ensure!(
        got.len() == 1 && got[0].namespace == "cat-home",
        "pull-foreign-catalogs of a missing and an exported namespace returned {:?}, expected cat-home only",
        got.iter().map(|e| &e.namespace).collect::<Vec<_>>()
    );
    ensure!(
        got[0].rows_json == second,
        "pull-foreign-catalogs returned rows {:?}, not the {second:?} exported last (byte for byte)",
        got[0].rows_json
    );
    // swamp core also writes `{ns}/.catalog-export.json` as a cache file
    // and pushes it; a broken one must not hide the others.
    let caps = a.capabilities().await.or_fail("capabilities")?;
    if caps.namespaced_sync {
        let (c, cache) = f.sync("cache-c").await?;
        for (ns, text) in [
            ("cat-broken", "[{\"id\": "),
            ("cat-object", r#"{"rows":[]}"#),
        ] {
            let rel = format!("{ns}/.catalog-export.json");
            c.mark_dirty(&SyncOptions::rel_path(rel.clone()).namespace(ns))
                .await
                .or_fail("mark-dirty")?;
            let path = cache.join(ns).join(".catalog-export.json");
            std::fs::create_dir_all(path.parent().unwrap_or(&cache))
                .or_fail("creating a namespace directory")?;
            std::fs::write(&path, text).or_fail("writing a catalog export file")?;
            c.push_changed(&SyncOptions::default().namespace(ns))
                .await
                .or_fail(&format!("push of namespace {ns}"))?;
        }
        let names = ["cat-broken", "cat-home", "cat-object"].map(String::from);
        let got = b
            .pull_foreign_catalogs(&names)
            .await
            .or_fail("pull-foreign-catalogs with malformed exports among them")?;
        let found: Vec<&str> = got.iter().map(|e| e.namespace.as_str()).collect();
        ensure!(
            found == ["cat-home"],
            "pull-foreign-catalogs of a truncated, a well-formed and a non-array export returned {found:?}, expected [\"cat-home\"]"
        );
    }
    expect_refused(
        "pull-foreign-catalogs of namespace \"Not A Slug\"",
        b.pull_foreign_catalogs(&["Not A Slug".to_string()]).await,
    )
}

async fn foreign_content(cx: Ctx) -> Outcome {
    let (f, a, cache_a) = service(&cx, |x| x.catalogs, "catalogs").await?;
    if !a
        .capabilities()
        .await
        .or_fail("capabilities")?
        .namespaced_sync
    {
        return Err(Status::Skipped(
            "namespaced-sync is not advertised, so no other namespace can be pushed".into(),
        ));
    }
    let ns = "fc-source";
    let files: [(&str, Vec<u8>); 2] = [
        ("data/conformance/m1/out/1/raw", body(1024 * 1024, 3)),
        ("workflows/empty.yaml", Vec::new()),
    ];
    for (rel, bytes) in &files {
        let full = format!("{ns}/{rel}");
        a.mark_dirty(&SyncOptions::rel_path(full.clone()).namespace(ns))
            .await
            .or_fail("mark-dirty")?;
        let path = cache_a.join(&full);
        std::fs::create_dir_all(path.parent().unwrap_or(&cache_a))
            .or_fail("creating a directory")?;
        std::fs::write(&path, bytes).or_fail("writing a file in cache A")?;
    }
    a.push_changed(&SyncOptions::default().namespace(ns))
        .await
        .or_fail("push of namespace fc-source")?;
    let (b, cache_b) = f.sync("cache-b").await?;
    for (rel, bytes) in &files {
        match b
            .fetch_foreign_content(ns, rel)
            .await
            .or_fail("fetch-foreign-content")?
        {
            Some(got) if &got == bytes => {}
            Some(got) => fail!(
                "fetch-foreign-content({ns}, {rel}) returned {} bytes that differ from the {} pushed",
                got.len(),
                bytes.len()
            ),
            None => fail!("fetch-foreign-content({ns}, {rel}) returned none for a pushed file"),
        }
    }
    for (n, rel) in [(ns, "workflows/missing.yaml"), ("fc-elsewhere", files[1].0)] {
        let got = b
            .fetch_foreign_content(n, rel)
            .await
            .or_fail("fetch-foreign-content of an absent file")?;
        ensure!(
            got.is_none(),
            "fetch-foreign-content({n}, {rel}) returned {} bytes for a file that namespace does not have",
            got.map_or(0, |g| g.len())
        );
    }
    for rel in [
        "../fc-source/workflows/empty.yaml",
        "/workflows/empty.yaml",
        "workflows\\empty.yaml",
        "a\0b",
    ] {
        expect_refused(
            &format!("fetch-foreign-content({ns}, {rel:?})"),
            b.fetch_foreign_content(ns, rel).await,
        )?;
    }
    let left = snapshot(&cache_b)?;
    ensure!(
        left.is_empty(),
        "fetch-foreign-content wrote into the cache: {:?}",
        left.keys().collect::<Vec<_>>()
    );
    Ok(())
}

async fn contamination_repair(cx: Ctx) -> Outcome {
    let (f, a, cache_a) = service(&cx, |x| x.contamination_repair, "contamination-repair").await?;
    let features = f.provider.features().await.or_fail("provider features")?;
    if !features.namespaces
        || !a
            .capabilities()
            .await
            .or_fail("capabilities")?
            .namespaced_sync
    {
        return Err(Status::Skipped(
            "contamination needs registered namespaces and namespaced sync, and one of them is not advertised".into(),
        ));
    }
    let (home, other) = ("cr-home", "cr-other");
    for ns in [home, other] {
        f.provider
            .register_namespace(&f.datastore_path, ns, &format!("repo-{ns}"))
            .await
            .or_fail(&format!("register-namespace {ns}"))?;
    }
    let own = ["workflows/home.yaml", "data/conformance/m1/out/1/raw"];
    let foreign = [
        "cr-other/workflows/leaked.yaml",
        "cr-other/data/conformance/m2/out/1/raw",
        "cr-other/deep/a/b/c.txt",
    ];
    let put = |ns: &'static str, rel: &'static str| {
        let a = &a;
        let cache_a = &cache_a;
        async move {
            let full = format!("{ns}/{rel}");
            a.mark_dirty(&SyncOptions::rel_path(full.clone()).namespace(ns))
                .await
                .or_fail("mark-dirty")?;
            let path = cache_a.join(&full);
            std::fs::create_dir_all(path.parent().unwrap_or(cache_a))
                .or_fail("creating a directory")?;
            std::fs::write(&path, full.as_bytes()).or_fail("writing a file in cache A")
        }
    };
    put(other, "workflows/other.yaml").await?;
    a.push_changed(&SyncOptions::default().namespace(other))
        .await
        .or_fail("push of cr-other")?;
    for rel in own.iter().chain(&foreign) {
        put(home, rel).await?;
    }
    a.push_changed(&SyncOptions::default().namespace(home))
        .await
        .or_fail("push of cr-home with cr-other's files inside it")?;

    let want = |deleted| ContaminationSummary {
        foreign_namespaces: vec![ForeignNamespace {
            namespace: other.into(),
            object_count: foreign.len() as u32,
        }],
        total_foreign_objects: foreign.len() as u32,
        deleted,
    };
    let dry = a
        .repair_namespace_contamination(Some(home), true)
        .await
        .or_fail("repair-namespace-contamination (dry run)")?;
    ensure!(
        dry == want(0),
        "the dry run returned {dry:?}, expected {:?}",
        want(0)
    );
    let pulled = |name: &'static str, ns: &'static str| {
        let f = &f;
        async move {
            let (svc, cache) = f.sync(name).await?;
            svc.pull_changed(&SyncOptions::default().namespace(ns))
                .await
                .or_fail(&format!("pull of {ns} into a fresh cache"))?;
            let mut rels: Vec<String> = snapshot(&cache.join(ns))?
                .keys()
                .filter_map(|p| p.strip_prefix(cache.join(ns)).ok())
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .filter(|r| !super::sync::is_internal(r))
                .collect();
            rels.sort();
            Ok::<_, Status>(rels)
        }
    };
    let sorted = |v: &[&str]| {
        let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    };
    let everything: Vec<&str> = own.iter().chain(&foreign).copied().collect();
    let after_dry = pulled("after-dry-run", home).await?;
    ensure!(
        after_dry == sorted(&everything),
        "after a dry run a fresh pull of {home} has {after_dry:?}, expected every file still: {:?}",
        sorted(&everything)
    );
    let done = a
        .repair_namespace_contamination(Some(home), false)
        .await
        .or_fail("repair-namespace-contamination")?;
    let want_done = want(foreign.len() as u32);
    ensure!(
        done == want_done,
        "the repair returned {done:?}, expected {want_done:?}"
    );
    let after = pulled("after-repair", home).await?;
    ensure!(
        after == sorted(&own),
        "after the repair a fresh pull of {home} has {after:?}, expected only its own {:?}",
        sorted(&own)
    );
    let theirs = pulled("foreign-side", other).await?;
    ensure!(
        theirs == ["workflows/other.yaml"],
        "after the repair a fresh pull of {other} has {theirs:?}, expected its own workflows/other.yaml"
    );
    let again = a
        .repair_namespace_contamination(Some(home), true)
        .await
        .or_fail("a dry run after the repair")?;
    ensure!(
        again == ContaminationSummary::default(),
        "a dry run after the repair still finds {again:?}"
    );
    let solo = a
        .repair_namespace_contamination(None, true)
        .await
        .or_fail("repair-namespace-contamination without a namespace")?;
    ensure!(
        solo == ContaminationSummary::default(),
        "without a namespace there is nothing to check, but the repair returned {solo:?}"
    );
    Ok(())
}
