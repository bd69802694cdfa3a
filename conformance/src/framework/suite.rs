//! Which checks there are and which to run: the [`Suite`]s, parsed from
//! their names, and the [`Filter`] that selects checks by suite and id.

use std::fmt;
use std::str::FromStr;

/// A group of checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Suite {
    /// The component's identity, its config schema and the provider
    /// factory.
    Export,
    /// Config validation: the schema and create-provider must agree on
    /// valid configs, the author's invalid ones and generated invalid ones.
    Config,
    /// The distributed lock, alone and between separate handles as two
    /// processes would use it.
    Lock,
    /// Health checks: well-formed results, healthy on a good datastore,
    /// unhealthy with a reason on a missing or unwritable one.
    Verifier,
    /// Sync between a cache and the remote store: round trips, the
    /// markDirty rules, each advertised capability and hostile remote
    /// indexes.
    Sync,
    /// The shared-store calls of `wit/shared-store.wit`, each checked only
    /// when the sync service advertises its feature.
    Shared,
}

impl Suite {
    /// Every suite, in the order their checks run and reports list them.
    pub const ALL: [Suite; 6] = [
        Suite::Export,
        Suite::Config,
        Suite::Lock,
        Suite::Verifier,
        Suite::Sync,
        Suite::Shared,
    ];

    /// The lower-case name used in check ids (`lock.` in
    /// `lock.mutual-exclusion`), reports and the command line.
    pub fn name(self) -> &'static str {
        match self {
            Suite::Export => "export",
            Suite::Config => "config",
            Suite::Lock => "lock",
            Suite::Verifier => "verifier",
            Suite::Sync => "sync",
            Suite::Shared => "shared",
        }
    }
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown suite or format name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

impl FromStr for Suite {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Suite::ALL
            .into_iter()
            .find(|suite| suite.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                ParseError(format!(
                    "unknown suite {s:?}: expected one of export, config, lock, verifier, sync, shared"
                ))
            })
    }
}

/// Which checks to run; empty lists mean all.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Run only checks of these suites; empty for every suite.
    pub suites: Vec<Suite>,
    /// Run only the checks with these exact ids; empty for every id.
    pub ids: Vec<String>,
}

impl Filter {
    /// Whether the check `id` of `suite` is selected: it must pass both the
    /// suite list and the id list.
    pub fn matches(&self, id: &str, suite: Suite) -> bool {
        (self.suites.is_empty() || self.suites.contains(&suite))
            && (self.ids.is_empty() || self.ids.iter().any(|i| i == id))
    }
}
