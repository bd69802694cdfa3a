//! The conformance suite for swamp datastore components.
//!
//! Every check of swamp's own testing kit (`@systeminit/swamp-testing`,
//! docs/contract.md §9) is here as a named check, plus behavioural checks
//! of config validation, locking, health checks and sync. Checks are grouped
//! in suites (export, config, lock, verifier, sync); each has a stable id, a
//! one-line description, and a result: pass, fail with the reason, or
//! skipped with why.
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! use conformance::{Filter, Format, Subject};
//! let host = swamp_host::Host::new(swamp_host::HostOptions::default())?;
//! let plugin = host.load("my_datastore.wasm".as_ref()).await?;
//! let work = tempfile::tempdir()?;
//! let subject = Subject::new(plugin, serde_json::json!({"path": "/tmp/ds"}), work.path().into());
//! let report = conformance::run(&subject, &Filter::default()).await;
//! print!("{}", report.render(Format::Human));
//! assert_eq!(report.failed(), 0);
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

mod framework;
pub mod fs_subject;
pub mod raw_store;
mod report;
mod suites;
pub mod trees;
pub mod variants;

pub use framework::{CheckResult, Filter, ParseError, Status, Subject, Suite};
pub use report::{Format, Report};

/// Run the checks `filter` selects on `subject`, one after the other.
pub async fn run(subject: &Subject, filter: &Filter) -> Report {
    Report {
        checks: framework::run_checks(subject, suites::all(), filter).await,
    }
}

/// Every check: id, suite, one-line description, in run order.
pub fn catalogue() -> Vec<(&'static str, Suite, &'static str)> {
    suites::all()
        .into_iter()
        .map(|c| (c.id, c.suite, c.description))
        .collect()
}

/// The catalogue as a markdown table (for the README).
pub fn catalogue_markdown() -> String {
    let mut out = String::from("| id | suite | what it checks |\n| --- | --- | --- |\n");
    for (id, suite, description) in catalogue() {
        out.push_str(&format!(
            "| `{id}` | {suite} | {} |\n",
            description.replace('|', "\\|")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn catalogue_ids_are_unique_kebab_case_and_prefixed_by_their_suite() {
        let cat = catalogue();
        assert!(cat.len() >= 40, "{} checks", cat.len());
        let mut seen = HashSet::new();
        for (id, suite, description) in &cat {
            assert!(seen.insert(*id), "duplicate id {id}");
            let (prefix, rest) = id.split_once('.').expect("suite.name");
            assert_eq!(prefix, suite.name(), "{id}");
            assert!(
                !rest.is_empty()
                    && rest
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{id} is not kebab-case"
            );
            assert!(
                !description.is_empty() && !description.contains('\n'),
                "{id}"
            );
        }
        for suite in Suite::ALL {
            assert!(
                cat.iter().any(|(_, s, _)| *s == suite),
                "no check in {suite}"
            );
        }
    }

    #[test]
    fn markdown_lists_every_check() {
        let md = catalogue_markdown();
        assert_eq!(md.lines().count(), catalogue().len() + 2);
        assert!(md.contains("| `lock.mutual-exclusion` | lock |"));
    }

    #[test]
    fn filter_selects_by_suite_and_id() {
        let f = Filter {
            suites: vec![Suite::Lock],
            ids: vec![],
        };
        assert!(f.matches("lock.x", Suite::Lock) && !f.matches("sync.x", Suite::Sync));
        let f = Filter {
            suites: vec![],
            ids: vec!["sync.x".into()],
        };
        assert!(f.matches("sync.x", Suite::Sync) && !f.matches("sync.y", Suite::Sync));
        assert!(Filter::default().matches("any", Suite::Export));
        assert_eq!("Verifier".parse::<Suite>().unwrap(), Suite::Verifier);
        assert!("nope".parse::<Suite>().is_err());
    }
}
