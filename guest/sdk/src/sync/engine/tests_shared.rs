//! The shared-store calls against an in-memory remote: the key layout of
//! swamp's S3 datastore, refusals, and contamination repair.

use super::tests::{Cache, With, index_keys, opts};
use crate::error::Error;
use crate::sync::memory::MemoryRemote;
use crate::traits::SharedStore;

#[test]
fn control_records_live_under_the_control_prefix_of_their_namespace() {
    let remote = MemoryRemote::default();
    let mut a = Cache::new(&remote);
    let s = &mut a.engine;
    s.control_put(None, "heartbeats/i1.json", b"{}").unwrap();
    s.control_put(Some("team"), "heartbeats/i2.json", b"[]")
        .unwrap();
    assert_eq!(remote.text("_control/heartbeats/i1.json").unwrap(), "{}");
    assert_eq!(
        remote.text("team/_control/heartbeats/i2.json").unwrap(),
        "[]"
    );
    assert_eq!(
        s.control_list(None, "heartbeats/").unwrap(),
        ["heartbeats/i1.json"]
    );
    assert_eq!(
        s.control_list(Some("team"), "").unwrap(),
        ["heartbeats/i2.json"]
    );
    assert_eq!(
        s.control_list(Some("team"), "heart").unwrap(),
        ["heartbeats/i2.json"]
    );
    assert!(
        s.control_list(Some("team"), "fire-records/")
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.control_get(Some("team"), "heartbeats/i2.json")
            .unwrap()
            .unwrap(),
        b"[]"
    );
    assert_eq!(
        s.control_get(Some("team"), "heartbeats/i1.json").unwrap(),
        None
    );
    assert!(s.control_put_if_absent(None, "claims/c", b"1").unwrap());
    assert!(!s.control_put_if_absent(None, "claims/c", b"2").unwrap());
    assert_eq!(remote.text("_control/claims/c").unwrap(), "1");
    s.control_delete(None, "claims/c").unwrap();
    s.control_delete(None, "claims/c").unwrap();
    assert_eq!(s.control_get(None, "claims/c").unwrap(), None);
}

#[test]
fn bad_control_keys_and_namespaces_touch_nothing() {
    let remote = MemoryRemote::default();
    let mut a = Cache::new(&remote);
    remote.raw_put("secret", b"keep");
    for key in ["../secret", "/secret", "a\\b", "a\0b", "", "a/./b"] {
        let e = a.engine.control_put(None, key, b"x").unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)), "{key:?}: {e:?}");
        assert!(matches!(
            a.engine.control_delete(None, key).unwrap_err(),
            Error::InvalidArgument(_)
        ));
    }
    let e = a.engine.control_put(Some("../x"), "k", b"x").unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    assert_eq!(remote.keys(), ["secret"]);
}

#[test]
fn catalog_exports_are_written_once_and_read_back_when_well_formed() {
    let remote = MemoryRemote::default();
    let mut a = Cache::new(&remote);
    let rows = r#"[{"id":"r1","size":3}]"#;
    assert!(a.engine.export_catalog("infra", rows).unwrap());
    assert_eq!(remote.text("infra/.catalog-export.json").unwrap(), rows);
    remote.reset_counters();
    assert!(
        !a.engine.export_catalog("infra", rows).unwrap(),
        "unchanged rows are not written"
    );
    assert_eq!(remote.counts().1, 0, "no put for unchanged rows");
    assert!(matches!(
        a.engine.export_catalog("infra", r#"{"id":1}"#).unwrap_err(),
        Error::InvalidArgument(_)
    ));
    remote.raw_put("broken/.catalog-export.json", b"{not json");
    remote.raw_put("object/.catalog-export.json", b"{}");
    let names = ["broken", "missing", "infra", "object"].map(String::from);
    let got = a.engine.pull_foreign_catalogs(&names).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].namespace.as_str(), got[0].rows_json.as_str()),
        ("infra", rows)
    );
    assert!(
        a.engine
            .pull_foreign_catalogs(&["Bad/ns".to_string()])
            .is_err()
    );
}

#[test]
fn foreign_content_is_read_from_the_named_namespace_only() {
    let remote = MemoryRemote::default();
    let mut a = Cache::new(&remote);
    remote.raw_put("infra/data/t/m/raw", b"bytes");
    assert_eq!(
        a.engine
            .fetch_foreign_content("infra", "data/t/m/raw")
            .unwrap()
            .unwrap(),
        b"bytes"
    );
    assert_eq!(
        a.engine
            .fetch_foreign_content("infra", "data/none")
            .unwrap(),
        None
    );
    for bad in ["../infra/data/t/m/raw", "/data", "a\\b"] {
        assert!(matches!(
            a.engine.fetch_foreign_content("other", bad).unwrap_err(),
            Error::InvalidArgument(_)
        ));
    }
}

#[test]
fn contamination_repair_deletes_foreign_objects_and_drops_them_from_the_index() {
    let remote = MemoryRemote::default();
    let mut a = Cache::new(&remote);
    remote.raw_put("other/.namespace.json", b"{}");
    a.write("mine/data/t/m1/raw", "own");
    a.write("mine/other/data/t/m2/raw", "foreign");
    a.write("mine/other/workflow-runs/r.yaml", "foreign");
    a.engine.mark(&opts().ns("mine")).unwrap();
    a.engine.push(&opts().ns("mine")).unwrap();
    let dry = a
        .engine
        .repair_namespace_contamination(Some("mine"), true)
        .unwrap();
    assert_eq!(dry.total_foreign_objects, 2);
    assert_eq!(dry.foreign_namespaces[0].namespace, "other");
    assert_eq!(dry.deleted, 0);
    assert!(
        remote.text("mine/other/workflow-runs/r.yaml").is_some(),
        "a dry run deletes nothing"
    );
    let done = a
        .engine
        .repair_namespace_contamination(Some("mine"), false)
        .unwrap();
    assert_eq!((done.total_foreign_objects, done.deleted), (2, 2));
    assert!(remote.text("mine/other/workflow-runs/r.yaml").is_none());
    assert_eq!(remote.text("mine/data/t/m1/raw").unwrap(), "own");
    assert_eq!(remote.text("other/.namespace.json").unwrap(), "{}");
    assert_eq!(
        index_keys(&remote, "mine/.datastore-index.json"),
        ["data/t/m1/raw"]
    );
    let solo = a
        .engine
        .repair_namespace_contamination(None, false)
        .unwrap();
    assert_eq!(solo.total_foreign_objects, 0);
}
