//! The catalogs checks: export-catalog and pull-foreign-catalogs between
//! two instances (unchanged rows skipped, malformed rows and exports left
//! out), and fetch-foreign-content reading another namespace's pushed
//! files without writing into the cache.

use super::{body, expect_refused, service, snapshot};
use crate::framework::{Ctx, OrFail, Outcome, Status, ensure, fail};
use swamp_host::SyncOptions;

pub(super) async fn catalog_export(cx: Ctx) -> Outcome {
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

pub(super) async fn foreign_content(cx: Ctx) -> Outcome {
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
