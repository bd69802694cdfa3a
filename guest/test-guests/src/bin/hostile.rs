//! A hostile datastore guest, for sandbox tests only.
//!
//! Its config names one attack; `verify` carries it out and reports what
//! happened: `healthy: true` means the attack got through (the wall failed),
//! `healthy: false` means it was refused, with the guest-side error in the
//! message. Attacks that cannot report (a memory bomb, an endless loop, a
//! call that never returns) must be stopped by the host.
//!
//! `lock-<attack>`, `sync-<attack>` and `resolve-<attack>` carry the attack
//! into another call instead: a lock's acquire, a sync service's pull (and
//! push), or resolve-datastore-path, so every kind of call can be shown to
//! meet its deadline. Without such a prefix there is no lock (the lock
//! suite must fail) and no sync service.

wit_bindgen::generate!({
    world: "datastore-provider",
    path: "../../wit",
});

use exports::swamp::datastore::{
    datastore, lock, provider, shared_store as shared, sync, verifier,
};
use swamp::datastore::types::{Error, LockInfo};

struct Hostile;

const SCHEMA: &str = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["attack"],
  "properties": {
    "attack": {"type": "string"},
    "target": {"type": "string"},
    "path": {"type": "string", "x-swamp-mount": true},
    "endpoint": {"type": "string", "x-swamp-endpoint": true}
  },
  "x-swamp-env": ["HOSTILE_ALLOWED_VAR"]
}"#;

impl datastore::Guest for Hostile {
    fn datastore_type() -> String {
        "@test/hostile".into()
    }
    fn name() -> String {
        "Hostile guest".into()
    }
    fn description() -> String {
        "Tries to escape its sandbox (tests only)".into()
    }
    fn config_schema() -> String {
        SCHEMA.into()
    }
    fn create_provider(config_json: String) -> Result<provider::DatastoreProvider, Error> {
        let config: serde_json::Value =
            serde_json::from_str(&config_json).map_err(|e| Error::Internal(e.to_string()))?;
        let field = |k: &str| {
            config
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        Ok(provider::DatastoreProvider::new(Attack {
            attack: field("attack"),
            target: field("target"),
        }))
    }
}

struct Attack {
    attack: String,
    target: String,
}

impl Attack {
    /// The attack carried into another call by `prefix`, if it is.
    fn carried(&self, prefix: &str) -> Option<Attack> {
        self.attack.strip_prefix(prefix).map(|a| Attack {
            attack: a.to_string(),
            target: self.target.clone(),
        })
    }

    /// Ok(what was obtained) when the attack got through.
    fn run(&self) -> Result<String, String> {
        let t = &self.target;
        match self.attack.as_str() {
            "read-file" => std::fs::read_to_string(t)
                .map(|s| format!("read {} bytes", s.len()))
                .map_err(|e| e.to_string()),
            "list-dir" => std::fs::read_dir(t)
                .map(|d| format!("listed {} entries", d.count()))
                .map_err(|e| e.to_string()),
            "write-file" => std::fs::write(t, b"escaped")
                .map(|_| "wrote".into())
                .map_err(|e| e.to_string()),
            "env" => std::env::var(t).map_err(|e| e.to_string()),
            "env-count" => Ok(format!("{}", std::env::vars().count())),
            "tcp" => std::net::TcpStream::connect(t.as_str())
                .map(|_| "connected".into())
                .map_err(|e| e.to_string()),
            // A UDP datagram to `target` (bind, then send).
            "udp" => std::net::UdpSocket::bind("0.0.0.0:0")
                .and_then(|s| s.send_to(b"escaped", t.as_str()))
                .map(|n| format!("sent {n} bytes"))
                .map_err(|e| e.to_string()),
            // A name lookup of `target` (`host:port`).
            "dns" => std::net::ToSocketAddrs::to_socket_addrs(t.as_str())
                .map(|a| format!("resolved to {:?}", a.collect::<Vec<_>>()))
                .map_err(|e| e.to_string()),
            "http" => http_get(t),
            "memory-bomb" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    // Touch every page so the memory is really committed.
                    hoard.push(vec![1u8; 16 * 1024 * 1024]);
                }
            }
            "spin" => {
                let mut x: u64 = 0;
                loop {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            }
            "sleep" => {
                std::thread::sleep(std::time::Duration::from_secs(24 * 3600));
                Ok("woke up".into())
            }
            "panic" => panic!("hostile guest panics on purpose"),
            "noop" | "negative-latency" => Ok("nothing attempted".into()),
            other => Err(format!("unknown attack {other}")),
        }
    }
}

fn http_get(url: &str) -> Result<String, String> {
    wstd::runtime::block_on(async {
        // A streamed empty body never writes to the outgoing body stream:
        // the host may close that stream as soon as the request head is
        // out (no body to send), and a zero-byte write racing that close
        // fails the request as "connection reset" (as in guest/s3's
        // transport).
        let empty = wstd::http::body::util::Empty::<wstd::http::body::Bytes>::new();
        let request = wstd::http::Request::get(url)
            .body(wstd::http::Body::from_http_body(empty))
            .map_err(|e| e.to_string())?;
        let response = wstd::http::Client::new()
            .send(request)
            .await
            .map_err(|e| format!("{e:?}"))?;
        Ok(format!("HTTP {}", response.status()))
    })
}

impl provider::GuestDatastoreProvider for Attack {
    fn features(&self) -> provider::ProviderFeatures {
        provider::ProviderFeatures {
            sync: self.attack.starts_with("sync-"),
            cache_path: false,
            namespaces: false,
        }
    }
    fn create_lock(&self, _: String, _: lock::LockOptions) -> Result<lock::DistributedLock, Error> {
        match self.carried("lock-") {
            Some(a) => Ok(lock::DistributedLock::new(Carried(a))),
            None => Err(Error::Unsupported("hostile guest has no lock".into())),
        }
    }
    fn create_verifier(&self) -> Result<verifier::DatastoreVerifier, Error> {
        Ok(verifier::DatastoreVerifier::new(Attack {
            attack: self.attack.clone(),
            target: self.target.clone(),
        }))
    }
    fn resolve_datastore_path(&self, repo_dir: String) -> Result<String, Error> {
        if let Some(a) = self.carried("resolve-") {
            a.run().map_err(Error::Internal)?;
        }
        Ok(repo_dir)
    }
    fn create_sync_service(
        &self,
        _: String,
        _: String,
    ) -> Result<Option<sync::SyncService>, Error> {
        Ok(self
            .carried("sync-")
            .map(|a| sync::SyncService::new(Carried(a))))
    }
    fn resolve_cache_path(&self, _: String) -> Result<Option<String>, Error> {
        Ok(None)
    }
    fn register_namespace(&self, _: String, _: String, _: String) -> Result<(), Error> {
        Err(Error::Unsupported("no namespaces".into()))
    }
    fn list_namespaces(&self, _: String) -> Result<Vec<String>, Error> {
        Err(Error::Unsupported("no namespaces".into()))
    }
}

impl verifier::GuestDatastoreVerifier for Attack {
    fn verify(&self) -> Result<verifier::HealthResult, Error> {
        let (healthy, message) = match self.run() {
            Ok(got) => (true, got),
            Err(refused) => (false, refused),
        };
        // Written against the raw bindings, this guest can also break the
        // verifier contract in a way the SDK would not let through: the
        // conformance suite must catch a negative latency.
        let latency_ms = if self.attack == "negative-latency" {
            -1.5
        } else {
            0.0
        };
        Ok(verifier::HealthResult {
            healthy,
            message,
            latency_ms,
            datastore_type: "@test/hostile".into(),
            details: vec![("attack".into(), self.attack.clone())],
        })
    }
}

/// A lock or sync service whose acquire, pull and push carry out the
/// attack; everything else is unsupported.
struct Carried(Attack);

impl Carried {
    fn run(&self) -> Result<(), Error> {
        self.0.run().map(|_| ()).map_err(Error::Internal)
    }
}

impl lock::GuestDistributedLock for Carried {
    fn acquire(&self) -> Result<(), Error> {
        self.run()
    }
    fn release(&self) -> Result<(), Error> {
        Err(Error::Unsupported("none".into()))
    }
    fn inspect(&self) -> Result<Option<LockInfo>, Error> {
        Err(Error::Unsupported("none".into()))
    }
    fn force_release(&self, _: String) -> Result<bool, Error> {
        Err(Error::Unsupported("none".into()))
    }
    fn heartbeat(&self) -> Result<(), Error> {
        Err(Error::Unsupported("none".into()))
    }
    fn lock_key(&self) -> String {
        String::new()
    }
    fn ttl_ms(&self) -> u64 {
        0
    }
}

impl sync::GuestSyncService for Carried {
    fn pull_changed(&self, _: sync::SyncOptions) -> Result<u32, Error> {
        self.run().map(|()| 0)
    }
    fn push_changed(&self, _: sync::SyncOptions) -> Result<u32, Error> {
        self.run().map(|()| 0)
    }
    fn mark_dirty(&self, _: sync::SyncOptions) -> Result<(), Error> {
        Err(Error::Unsupported("none".into()))
    }
    fn capabilities(&self) -> sync::SyncCapabilities {
        sync::SyncCapabilities {
            scoped_sync: false,
            lazy_hydration: false,
            namespaced_sync: false,
            two_phase_sync: false,
            preview_push: false,
        }
    }
    fn hydrate_file(&self, _: String, _: sync::SyncOptions) -> Result<bool, Error> {
        Err(Error::Unsupported("none".into()))
    }
    fn prepare_push(&self, _: sync::SyncOptions) -> Result<sync::PushManifest, Error> {
        Err(Error::Unsupported("none".into()))
    }
    fn commit_push(&self, _: sync::PushManifest, _: sync::SyncOptions) -> Result<u32, Error> {
        Err(Error::Unsupported("none".into()))
    }
    fn preview_push(&self, _: sync::SyncOptions) -> Result<sync::PushPreview, Error> {
        Err(Error::Unsupported("none".into()))
    }
}

impl provider::Guest for Hostile {
    type DatastoreProvider = Attack;
}
impl lock::Guest for Hostile {
    type DistributedLock = Carried;
}
impl verifier::Guest for Hostile {
    type DatastoreVerifier = Attack;
}
impl sync::Guest for Hostile {
    type SyncService = Carried;
}

/// The shared store is off: its features say so, and every call refuses.
impl shared::Guest for Hostile {
    fn features(_: sync::SyncServiceBorrow<'_>) -> shared::SharedFeatures {
        shared::SharedFeatures {
            control_plane: false,
            catalogs: false,
            contamination_repair: false,
        }
    }
    fn control_put(
        _: sync::SyncServiceBorrow<'_>,
        _: Option<String>,
        _: String,
        _: Vec<u8>,
    ) -> Result<(), Error> {
        Err(Error::Unsupported("none".into()))
    }
    fn control_get(
        _: sync::SyncServiceBorrow<'_>,
        _: Option<String>,
        _: String,
    ) -> Result<Option<Vec<u8>>, Error> {
        Err(Error::Unsupported("none".into()))
    }
    fn control_delete(
        _: sync::SyncServiceBorrow<'_>,
        _: Option<String>,
        _: String,
    ) -> Result<(), Error> {
        Err(Error::Unsupported("none".into()))
    }
    fn control_list(
        _: sync::SyncServiceBorrow<'_>,
        _: Option<String>,
        _: String,
    ) -> Result<Vec<String>, Error> {
        Err(Error::Unsupported("none".into()))
    }
    fn control_put_if_absent(
        _: sync::SyncServiceBorrow<'_>,
        _: Option<String>,
        _: String,
        _: Vec<u8>,
    ) -> Result<bool, Error> {
        Err(Error::Unsupported("none".into()))
    }
    fn export_catalog(_: sync::SyncServiceBorrow<'_>, _: String, _: String) -> Result<bool, Error> {
        Err(Error::Unsupported("none".into()))
    }
    fn pull_foreign_catalogs(
        _: sync::SyncServiceBorrow<'_>,
        _: Vec<String>,
    ) -> Result<Vec<shared::CatalogExport>, Error> {
        Err(Error::Unsupported("none".into()))
    }
    fn fetch_foreign_content(
        _: sync::SyncServiceBorrow<'_>,
        _: String,
        _: String,
    ) -> Result<Option<Vec<u8>>, Error> {
        Err(Error::Unsupported("none".into()))
    }
    fn repair_namespace_contamination(
        _: sync::SyncServiceBorrow<'_>,
        _: Option<String>,
        _: bool,
    ) -> Result<shared::ContaminationSummary, Error> {
        Err(Error::Unsupported("none".into()))
    }
}

export!(Hostile);

/// Never runs: a wasm32-wasip2 bin is a component exporting its world beside
/// `wasi:cli/run`, and the host only calls the datastore exports.
fn main() {}
