//! The objects JavaScript holds, by number. A handle is a u64 that names
//! one host, plugin, provider, lock, verifier or sync service; `drop`
//! forgets it, and the guest instance goes with its last handle.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use swamp_host::{Host, Lock, Plugin, Provider, SyncService, Verifier};

/// One object behind a handle.
#[derive(Clone)]
pub(crate) enum Handle {
    Host(Host),
    Plugin(Plugin),
    Provider(Provider),
    Lock(Lock),
    Verifier(Verifier),
    Sync(SyncService),
}

impl Handle {
    fn kind(&self) -> &'static str {
        match self {
            Self::Host(_) => "host",
            Self::Plugin(_) => "plugin",
            Self::Provider(_) => "provider",
            Self::Lock(_) => "lock",
            Self::Verifier(_) => "verifier",
            Self::Sync(_) => "sync service",
        }
    }
}

static NEXT: AtomicU64 = AtomicU64::new(1);
static TABLE: LazyLock<Mutex<HashMap<u64, Handle>>> = LazyLock::new(Default::default);

fn table() -> std::sync::MutexGuard<'static, HashMap<u64, Handle>> {
    // A panic elsewhere cannot leave the map half-updated: every use is
    // one insert, get or remove.
    TABLE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Keep `h`; its new handle.
pub(crate) fn insert(h: Handle) -> u64 {
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    table().insert(id, h);
    id
}

/// Forget handle `id`; whether it existed.
pub(crate) fn remove(id: u64) -> bool {
    table().remove(&id).is_some()
}

/// The object behind `id`, cloned (each is a cheap shared reference), or
/// why there is none.
pub(crate) fn get(id: u64) -> Result<Handle, String> {
    table()
        .get(&id)
        .cloned()
        .ok_or_else(|| format!("no native handle {id} (dropped, or never made)"))
}

macro_rules! getter {
    ($name:ident, $variant:ident, $ty:ty) => {
        pub(crate) fn $name(id: u64) -> Result<$ty, String> {
            match get(id)? {
                Handle::$variant(x) => Ok(x),
                other => Err(format!(
                    "native handle {id} is a {}, not a {}",
                    other.kind(),
                    stringify!($variant).to_lowercase()
                )),
            }
        }
    };
}

getter!(host, Host, Host);
getter!(plugin, Plugin, Plugin);
getter!(provider, Provider, Provider);
getter!(lock, Lock, Lock);
getter!(verifier, Verifier, Verifier);
getter!(sync, Sync, SyncService);
