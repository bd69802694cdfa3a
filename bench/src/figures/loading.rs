//! Figure b: loading. A precompiled component loaded cold (a fresh host
//! reads the compiled form from its disk cache, deserializes it, links it
//! and instantiates it once to read its identity and schema) against an
//! instantiation from the pre-instantiated component (what every provider,
//! lock and sync service pays).

use crate::fragment::{Comparison, Fragment};
use crate::measure;
use crate::setup::{self, Run};
use anyhow::{Result, anyhow};
use std::time::{Duration, Instant};

const COLD_TARGET: Duration = Duration::from_millis(5);
const PRE_TARGET: Duration = Duration::from_micros(100);

pub async fn run(run: &Run) -> Result<Fragment> {
    let wasm = setup::wasm("fs-datastore")?;
    let cache = tempfile::tempdir()?;

    // Compile once without a cache, for reference, then fill the cache.
    let t = Instant::now();
    setup::host(None)?
        .load(&wasm)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let compile = t.elapsed();
    setup::host(Some(cache.path().to_path_buf()))?
        .load(&wasm)
        .await
        .map_err(|e| anyhow!("{e}"))?;

    // Cold: a new host (engine, linker) per load, the cache file read back.
    let n = run.pick(40, 5);
    let mut new_host = Vec::with_capacity(n);
    let mut cold = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let host = setup::host(Some(cache.path().to_path_buf()))?;
        new_host.push(t.elapsed());
        let t = Instant::now();
        host.load(&wasm).await.map_err(|e| anyhow!("{e}"))?;
        cold.push(t.elapsed());
    }
    let new_host = measure::Samples::new(new_host);
    let cold = measure::Samples::new(cold);

    let host = setup::host(Some(cache.path().to_path_buf()))?;
    let plugin = host.load(&wasm).await.map_err(|e| anyhow!("{e}"))?;
    let (warmup, n) = run.pick((200, 3000), (20, 200));
    let plugin = &plugin;
    let pre = measure::time_async(warmup, n, move || async move {
        plugin.instantiate_bare().await.expect("instantiate");
    })
    .await;
    let memory = plugin
        .instantiate_bare()
        .await
        .map_err(|e| anyhow!("{e}"))?
        .memory_bytes;
    let dir = tempfile::tempdir()?;
    let config = serde_json::json!({"path": setup::s(dir.path())});
    let config = &config;
    let open = measure::time_async(warmup / 4, n / 4, move || async move {
        setup::open(plugin, config.clone()).await.expect("open");
    })
    .await;

    let mut f = Fragment::new(
        "b",
        "Loading: precompiled component cold vs instantiation from a pre-instance",
    );
    f.measure(
        "cold load of the precompiled component, median",
        measure::ms(cold.median()),
        "ms",
    );
    f.measure(
        "cold load of the precompiled component, p99",
        measure::ms(cold.p99()),
        "ms",
    );
    f.measure(
        "instantiate from the pre-instance, median",
        measure::us(pre.median()),
        "µs",
    );
    f.measure(
        "instantiate from the pre-instance, p99",
        measure::us(pre.p99()),
        "µs",
    );
    f.measure(
        "open a provider (schema check, instantiate, create-provider), median",
        measure::us(open.median()),
        "µs",
    );
    f.measure(
        "new host (engine, linker, epoch ticker), median",
        measure::ms(new_host.median()),
        "ms",
    );
    f.measure(
        "compile without the cache (reference)",
        measure::ms(compile),
        "ms",
    );
    f.measure(
        "linear memory of a fresh instance",
        memory as f64 / (1024.0 * 1024.0),
        "MiB",
    );
    f.compare(Comparison::at_most(
        "cold load ÷ 5 ms (median)",
        cold.median().as_secs_f64() / COLD_TARGET.as_secs_f64(),
        1.0,
    ));
    f.compare(Comparison::at_most(
        "pre-instance instantiate ÷ 100 µs (median)",
        pre.median().as_secs_f64() / PRE_TARGET.as_secs_f64(),
        1.0,
    ));
    f.compare(Comparison::informative(
        "cold load ÷ pre-instance instantiate",
        cold.median().as_secs_f64() / pre.median().as_secs_f64(),
    ));
    f.note(format!(
        "fs-datastore ({} KiB). Cold: {} loads, each by a fresh Host (new engine and linker) from \
         its on-disk cache of the compiled component: read the .cwasm, deserialize, instantiate_pre, \
         one instantiation and four calls reading identity and schema, compile the JSON Schema. \
         Pre-instance: {} instantiations from the DatastoreProviderPre into a fresh store with an \
         empty sandbox (Plugin::instantiate_bare), store and instance dropped each time.",
        std::fs::metadata(&wasm)?.len() / 1024,
        cold.len(),
        pre.len()
    ));
    if f.comparisons.iter().any(|c| c.met == Some(false)) {
        f.note(
            "Missed: a load or an instantiation above its budget. The cold load includes reading \
             the ~3 MB compiled file and compiling the JSON Schema besides deserializing; on this \
             shared two-core machine the medians move with the other load on it.",
        );
    }
    Ok(f)
}
