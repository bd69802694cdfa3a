// Recipes of the hostile corpus (hostile/README.md): a case file named
// `*.recipe.json` is expanded at run time, so the repository stays small.
// Included with `include!` by test-support/hostile-corpus (the test
// drivers) and by the conformance suite (conformance/src/suites/hostile.rs),
// so both build the same bytes from a recipe.

/// What a case puts in place.
#[derive(Debug, Clone)]
pub enum Content {
    Bytes(Vec<u8>),
    /// A symbolic link with this target (relative to the link's directory).
    Symlink(String),
    /// An empty directory.
    Directory,
}

/// A recipe: `{"prefix", "item", "times", "separator"?, "suffix"}` repeats
/// `item` (with `{i}` replaced by the repetition's number), or
/// `{"symlink": target}`, or `{"directory": true}`. Large inputs are made
/// at run time so the repository stays small.
pub fn expand(raw: &[u8], name: &str) -> Content {
    let r: Value = serde_json::from_slice(raw).unwrap_or_else(|e| panic!("{name}: {e}"));
    if let Some(t) = r.get("symlink").and_then(Value::as_str) {
        return Content::Symlink(t.to_string());
    }
    if r.get("directory") == Some(&Value::Bool(true)) {
        return Content::Directory;
    }
    if let Some(b) = r.get("file_bytes").and_then(Value::as_array) {
        return Content::Bytes(b.iter().map(|x| x.as_u64().unwrap() as u8).collect());
    }
    // Other recipes (remote-files) are read by their driver.
    let Some(times) = r.get("times").and_then(Value::as_u64) else {
        return Content::Bytes(raw.to_vec());
    };
    let times = times as usize;
    let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("");
    let (item, sep) = (s("item"), s("separator"));
    let numbered = item.contains("{i}");
    let mut out = Vec::with_capacity(s("prefix").len() + times * (item.len() + sep.len() + 8));
    out.extend_from_slice(s("prefix").as_bytes());
    for i in 0..times {
        if i > 0 {
            out.extend_from_slice(sep.as_bytes());
        }
        if numbered {
            out.extend_from_slice(item.replace("{i}", &i.to_string()).as_bytes());
        } else {
            out.extend_from_slice(item.as_bytes());
        }
    }
    out.extend_from_slice(s("suffix").as_bytes());
    Content::Bytes(out)
}
