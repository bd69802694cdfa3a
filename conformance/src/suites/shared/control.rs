//! The control-plane checks: control records of every size read back by
//! another instance, overwritten and deleted; one key in three namespaces
//! holding three records; put-if-absent raced by eight instances; and bad
//! keys refused by every call without touching the store.

use super::{body, expect_refused, service, snapshot};
use crate::framework::{Ctx, OrFail, Outcome, Status, ensure, fail};
use futures::future::join_all;
use swamp_host::SyncService;

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

pub(super) async fn control_round_trip(cx: Ctx) -> Outcome {
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

pub(super) async fn control_namespaces_apart(cx: Ctx) -> Outcome {
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

pub(super) async fn control_put_if_absent_atomic(cx: Ctx) -> Outcome {
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

pub(super) async fn control_keys_refused(cx: Ctx) -> Outcome {
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
