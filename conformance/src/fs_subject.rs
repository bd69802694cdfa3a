//! The subject for this workspace's reference datastore, fs-datastore
//! (`guest/fs`): its configurations, valid, unhealthy and invalid, for a
//! plain local datastore or a share with a local cache. One copy, used by
//! `host-harness check` without arguments and by the tests that run the
//! suite on fs-datastore or on its broken variants.

use std::path::Path;

use serde_json::{Value, json};
use swamp_host::Plugin;

use crate::Subject;

/// fs-datastore's config for the directory `path`, in cache mode or not.
pub fn config(path: &Path, cache: bool) -> Value {
    if cache {
        json!({"path": path, "cache": true})
    } else {
        json!({"path": path})
    }
}

/// `plugin` (fs-datastore or a variant of it) on `workdir/datastore`, with
/// the other mode's config as a second valid one, a missing directory and
/// a file as unhealthy ones, and the config errors the schema refuses.
/// Creates the directories and the file it names.
pub fn subject(plugin: Plugin, workdir: &Path, cache: bool) -> std::io::Result<Subject> {
    let datastore = workdir.join("datastore");
    std::fs::create_dir_all(&datastore)?;
    let mut subject = Subject::new(plugin, config(&datastore, cache), workdir.join("scratch"));
    std::fs::create_dir_all(&subject.workdir)?;
    subject.valid_configs.push(config(&datastore, !cache));
    let file = workdir.join("not-a-directory");
    std::fs::write(&file, b"a file, not a directory")?;
    subject.unhealthy_configs = vec![
        (
            "missing directory".into(),
            config(&workdir.join("missing"), cache),
        ),
        ("path is a file".into(), config(&file, cache)),
    ];
    subject.invalid_configs = vec![
        json!({}),
        json!({"path": "relative/dir"}),
        json!({"path": 42}),
        json!({"path": "/abs", "cache": "yes"}),
        json!({"path": "/abs", "unknown": true}),
    ];
    Ok(subject)
}
