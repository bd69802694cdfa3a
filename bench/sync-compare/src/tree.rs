//! The tree every client moves: files of seeded random content laid out as
//! swamp lays out model data (`data/{type}/{id}/{version}/...`), and the
//! byte-for-byte check that a pulled tree is the source tree.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result, bail};
use rand::{Rng, SeedableRng};

/// Files per model directory (a hundred directories for ten thousand
/// files: the s3-datastore then writes a realistic number of index shards).
const PER_DIR: usize = 100;

/// The relative path of file `i`.
pub fn rel(i: usize) -> String {
    format!(
        "data/bench/model-{:03}/v1/file-{:03}.bin",
        i / PER_DIR,
        i % PER_DIR
    )
}

/// Write `count` files of `size` bytes under `root`; their relative paths.
/// Random content so that no layer (disk, server, HTTP) can shortcut it.
pub fn generate(root: &Path, count: usize, size: usize, seed: u64) -> Result<Vec<String>> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut buf = vec![0u8; size];
    let mut rels = Vec::with_capacity(count);
    for i in 0..count {
        let r = rel(i);
        let path = root.join(&r);
        if i % PER_DIR == 0 {
            let parent = path.parent().context("a file path has a parent")?;
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        rng.fill_bytes(&mut buf);
        std::fs::write(&path, &buf).with_context(|| format!("cannot write {}", path.display()))?;
        rels.push(r);
    }
    Ok(rels)
}

/// Copy the files `rels` from `from` to `to` (creating directories).
pub fn copy(from: &Path, to: &Path, rels: &[String]) -> Result<()> {
    for r in rels {
        let dest = to.join(r);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::copy(from.join(r), &dest)
            .with_context(|| format!("cannot copy {r} into {}", to.display()))?;
    }
    Ok(())
}

/// Every regular file under `root`, as forward-slash relative paths,
/// leaving out dot-files and `_index/` at the top (a sync client's own
/// state: index copy, sidecar, the s3-datastore's base index).
pub fn list(root: &Path) -> Result<BTreeSet<String>> {
    fn walk(dir: &Path, prefix: &str, out: &mut BTreeSet<String>) -> Result<()> {
        for entry in
            std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?
        {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if prefix.is_empty() && (name.starts_with('.') || name == "_index") {
                continue;
            }
            let rel = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let kind = entry.file_type()?;
            if kind.is_dir() {
                walk(&entry.path(), &rel, out)?;
            } else if kind.is_file() {
                out.insert(rel);
            }
        }
        Ok(())
    }
    let mut out = BTreeSet::new();
    walk(root, "", &mut out)?;
    Ok(out)
}

/// Fail unless `pulled` holds exactly the files `rels`, each byte-identical
/// to its copy under `source`. `who` names the client in the error.
pub fn verify(who: &str, source: &Path, pulled: &Path, rels: &[String]) -> Result<()> {
    let want: BTreeSet<String> = rels.iter().cloned().collect();
    let got = list(pulled)?;
    if got != want {
        let missing: Vec<_> = want.difference(&got).take(5).collect();
        let extra: Vec<_> = got.difference(&want).take(5).collect();
        bail!(
            "{who}: pulled tree has {} files, expected {}; missing e.g. {missing:?}, extra e.g. {extra:?}",
            got.len(),
            want.len()
        );
    }
    for r in rels {
        let a = std::fs::read(source.join(r))?;
        let b = std::fs::read(pulled.join(r))
            .with_context(|| format!("{who}: cannot read pulled {r}"))?;
        if a != b {
            bail!(
                "{who}: pulled {r} differs from the source ({} vs {} bytes)",
                b.len(),
                a.len()
            );
        }
    }
    Ok(())
}

/// Mean time of writing a `size`-byte file and fsyncing it, `n` times one
/// after another in `dir`: what a single-threaded writer that makes every
/// file durable pays per file on this disk.
pub fn sequential_fsync(dir: &Path, n: usize, size: usize) -> Result<std::time::Duration> {
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    let body = vec![0x5au8; size];
    let start = std::time::Instant::now();
    for i in 0..n {
        let mut f = std::fs::File::create(dir.join(format!("f{i}")))?;
        f.write_all(&body)?;
        f.sync_all()?;
    }
    Ok(start.elapsed() / n.max(1) as u32)
}
