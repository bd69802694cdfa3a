//! Figure a: call overhead. The same fs-datastore logic, once as the
//! component through swamp-host and once as the native library
//! (`fs-datastore-core`) called directly, on the same directory: lock
//! acquire+release, inspect (of a held lock) and verify.

use crate::fragment::{Comparison, Fragment};
use crate::measure::{self, Samples};
use crate::setup::{self, Run, s};
use anyhow::{Result, anyhow};
use fs_datastore_core::{DATASTORE_TYPE, config::FsConfig, provider::FsProvider};
use serde_json::json;
use swamp_datastore_sdk::{self as sdk, Provider as _};

/// The bound the issue sets on component ÷ native.
const TARGET: f64 = 1.3;

fn identity() -> sdk::HolderIdentity {
    sdk::HolderIdentity {
        user: "bench".into(),
        hostname: "bench-host".into(),
        pid: std::process::id(),
    }
}

struct Pair {
    native: Samples,
    component: Samples,
}

pub async fn run(run: &Run) -> Result<Fragment> {
    let (warmup, n) = run.pick((200, 3000), (20, 200));
    let dir = tempfile::tempdir()?;
    let path = s(dir.path()).to_string();
    let config = json!({"path": path});

    // Native: the library's own provider, a fixed identity in place of the
    // host import.
    let native = FsProvider::new(
        FsConfig::parse(&config).map_err(|e| anyhow!("{e:?}"))?,
        DATASTORE_TYPE,
        identity,
    );
    let mut nlock = native
        .create_lock(&path, sdk::LockOptions::default())
        .map_err(|e| anyhow!("{e:?}"))?;
    let nverifier = native.create_verifier().map_err(|e| anyhow!("{e:?}"))?;

    let host = setup::host(None)?;
    let plugin = setup::plugin(&host, "fs-datastore").await?;
    let provider = setup::open(&plugin, config).await?;
    let clock = provider
        .create_lock(&path, swamp_host::LockOptions::default())
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let cverifier = provider
        .create_verifier()
        .await
        .map_err(|e| anyhow!("{e}"))?;
    // The timed futures borrow these; `move` copies the references in.
    let (clock, cverifier) = (&clock, &cverifier);

    let acquire_release = Pair {
        native: measure::time_sync(warmup, n, || {
            nlock.acquire().expect("native acquire");
            nlock.release().expect("native release");
        }),
        component: measure::time_async(warmup, n, move || async move {
            clock.acquire().await.expect("component acquire");
            clock.release().await.expect("component release");
        })
        .await,
    };

    nlock.acquire().map_err(|e| anyhow!("{e:?}"))?;
    let native_inspect = measure::time_sync(warmup, n, || {
        assert!(nlock.inspect().expect("native inspect").is_some());
    });
    nlock.release().map_err(|e| anyhow!("{e:?}"))?;
    clock.acquire().await.map_err(|e| anyhow!("{e}"))?;
    let component_inspect = measure::time_async(warmup, n, move || async move {
        assert!(clock.inspect().await.expect("component inspect").is_some());
    })
    .await;
    clock.release().await.map_err(|e| anyhow!("{e}"))?;
    let inspect = Pair {
        native: native_inspect,
        component: component_inspect,
    };

    let verify = Pair {
        native: measure::time_sync(warmup, n, || {
            assert!(nverifier.verify().expect("native verify").healthy);
        }),
        component: measure::time_async(warmup, n, move || async move {
            assert!(cverifier.verify().await.expect("component verify").healthy);
        })
        .await,
    };

    let mut f = Fragment::new(
        "a",
        "Call overhead: fs-datastore component vs the same logic native",
    );
    for (op, pair) in [
        ("lock acquire+release", &acquire_release),
        ("inspect (held lock)", &inspect),
        ("verify", &verify),
    ] {
        for (side, samples) in [("native", &pair.native), ("component", &pair.component)] {
            f.measure(
                format!("{op}, {side}, median"),
                measure::us(samples.median()),
                "µs",
            );
            f.measure(
                format!("{op}, {side}, p99"),
                measure::us(samples.p99()),
                "µs",
            );
        }
        let ratio = measure::us(pair.component.median()) / measure::us(pair.native.median());
        f.compare(Comparison::at_most(
            format!("{op}: component ÷ native (median)"),
            ratio,
            TARGET,
        ));
    }
    f.note(format!(
        "{n} timed iterations after {warmup} warm-up ones per operation, on one \
         temporary directory on the local disk shared by both sides; the component runs in swamp-host (wasmtime 48, \
         async, epoch deadlines, one instance per lock as in production) and every call crosses \
         into the guest, whose file operations go through WASI; native calls fs-datastore-core \
         directly. Both built with the workspace's release profile (opt-level \"s\")."
    ));
    Ok(f)
}
