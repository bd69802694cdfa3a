//! The holder identity (`wit/types.wit`) that `wit/host-info.wit` hands a guest.

use serde::Serialize;

/// Who the host acts for; written into lock files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HolderIdentity {
    /// User name of the host process.
    pub user: String,
    /// Machine name.
    pub hostname: String,
    /// Host process id.
    pub pid: u32,
}

impl HolderIdentity {
    /// The `holder` field of a lock: `"{user}@{hostname}"`.
    pub fn holder(&self) -> String {
        format!("{}@{}", self.user, self.hostname)
    }

    /// This process: `$USER` (or `$USERNAME`, else "unknown"), the
    /// machine's host name and the process id. Only a host asks: a guest
    /// is told its identity by the host.
    #[cfg(not(target_family = "wasm"))]
    pub fn of_this_process() -> Self {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("USERNAME"))
            .unwrap_or_else(|_| "unknown".to_string());
        Self {
            user,
            hostname: gethostname::gethostname().to_string_lossy().into_owned(),
            pid: std::process::id(),
        }
    }
}
