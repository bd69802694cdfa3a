//! The operations of the C ABI, one per method of swamp's datastore
//! contract, each a call of swamp-host's typed API on the runtime here.

use crate::handles::{self, Handle};
use crate::wire::{self, Failure, HostArgs};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Duration;
use swamp_host::{
    Host, HostOptions, LockOptions, OpenOptions, PushManifest, SyncOptions, SyncService,
};

/// The runtime every call and every lock's heartbeat task runs on. Its own
/// threads: Deno's threads only wait here, and heartbeats go on between
/// calls.
static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .thread_name("swamp-host-ffi")
        .enable_all()
        .build()
        .expect("a tokio runtime for the native host")
});

type Reply = Result<Value, Failure>;

/// Parse, run, encode: the whole of one C ABI call.
pub(crate) fn dispatch(request: &[u8]) -> String {
    let req: Value = match serde_json::from_slice(request) {
        Ok(v) => v,
        Err(e) => return wire::error_reply("invalid-argument", &format!("malformed request: {e}")),
    };
    let op = req
        .get("op")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    match RUNTIME.block_on(run(&op, req)) {
        Ok(v) => wire::ok_reply(v),
        Err(f) => wire::failure_reply(&f),
    }
}

fn field<T: DeserializeOwned>(req: &Value, name: &str) -> Result<T, Failure> {
    let v = req.get(name).cloned().unwrap_or(Value::Null);
    serde_json::from_value(v).map_err(|e| Failure::Request(format!("argument {name}: {e}")))
}

fn id(req: &Value) -> Result<u64, Failure> {
    field(req, "id")
}

async fn run(op: &str, req: Value) -> Reply {
    match op {
        "host.new" => {
            let args: HostArgs = serde_json::from_value(req)?;
            Ok(json!(handles::insert(Handle::Host(new_host(args)?))))
        }
        "host.load" => {
            let host = handles::host(id(&req)?)?;
            let path: String = field(&req, "path")?;
            let plugin = host.load(Path::new(&path)).await?;
            let shared = plugin.has_shared_store();
            Ok(json!({ "id": handles::insert(Handle::Plugin(plugin)), "sharedStore": shared }))
        }
        "plugin.open" => {
            let plugin = handles::plugin(id(&req)?)?;
            let config: Value = field(&req, "config")?;
            let provider = plugin.open(config, OpenOptions::default()).await?;
            let features = provider.features().await?;
            Ok(json!({ "id": handles::insert(Handle::Provider(provider)), "features": features }))
        }
        "drop" => Ok(json!(handles::remove(id(&req)?))),
        "usage" => {
            let usage = match handles::get(id(&req)?)? {
                Handle::Provider(p) => p.usage(),
                Handle::Lock(l) => l.usage(),
                Handle::Sync(s) => s.usage(),
                _ => return Err(Failure::Request("only an instance has a usage".into())),
            };
            Ok(json!({
                "memoryBytes": usage.memory_bytes,
                "httpRequests": usage.http_requests,
                "filesFlushed": usage.files_flushed,
            }))
        }
        op if op.starts_with("provider.") => provider_op(op, req).await,
        op if op.starts_with("lock.") => lock_op(op, req).await,
        "verifier.verify" => {
            let v = handles::verifier(id(&req)?)?;
            Ok(serde_json::to_value(v.verify().await?).unwrap_or(Value::Null))
        }
        "sync.call" => {
            let svc = handles::sync(id(&req)?)?;
            let method: String = field(&req, "method")?;
            let args: Vec<Value> = field(&req, "args")?;
            sync_call(&svc, &method, args).await
        }
        "sync.abort" => {
            handles::sync(id(&req)?)?.abort_handle().abort();
            Ok(Value::Null)
        }
        "sync.reset-abort" => {
            handles::sync(id(&req)?)?.abort_handle().reset();
            Ok(Value::Null)
        }
        other => Err(Failure::Request(format!("unknown operation {other:?}"))),
    }
}

fn new_host(args: HostArgs) -> Result<Host, Failure> {
    let mut options = HostOptions::default();
    if let Some(mb) = args.memory_mb {
        options.limits.memory_bytes = usize::try_from(mb.saturating_mul(1024 * 1024))
            .map_err(|_| Failure::Request(format!("memoryMb {mb} is too large")))?;
    }
    if let Some(ms) = args.call_timeout_ms {
        options.limits.call_timeout = Duration::from_millis(ms);
    }
    if let Some(ms) = args.grace_ms {
        options.limits.grace = Duration::from_millis(ms);
    }
    if let Some(ms) = args.http_timeout_ms {
        options.limits.http_timeout = Duration::from_millis(ms);
    }
    if let Some(dir) = args.cache_dir {
        options.cache_dir = Some(PathBuf::from(dir));
    }
    Ok(Host::new(options)?)
}

async fn provider_op(op: &str, req: Value) -> Reply {
    let p = handles::provider(id(&req)?)?;
    let s = |name: &str| field::<String>(&req, name);
    match op {
        "provider.create-lock" => {
            let options: LockOptions = field(&req, "options").unwrap_or_default();
            let lock = p.create_lock(&s("datastorePath")?, options).await?;
            let (key, ttl) = (lock.key().to_string(), lock.ttl().as_millis() as u64);
            Ok(json!({ "id": handles::insert(Handle::Lock(lock)), "key": key, "ttlMs": ttl }))
        }
        "provider.create-verifier" => {
            let v = p.create_verifier().await?;
            Ok(json!(handles::insert(Handle::Verifier(v))))
        }
        "provider.resolve-datastore-path" => {
            Ok(json!(p.resolve_datastore_path(&s("repoDir")?).await?))
        }
        "provider.resolve-cache-path" => Ok(json!(p.resolve_cache_path(&s("repoDir")?).await?)),
        "provider.create-sync-service" => {
            let Some(svc) = p
                .create_sync_service(&s("repoDir")?, &s("cachePath")?)
                .await?
            else {
                return Ok(Value::Null);
            };
            let capabilities = svc.capabilities().await?;
            let shared = svc.shared_features().await?;
            Ok(json!({
                "id": handles::insert(Handle::Sync(svc)),
                "capabilities": capabilities,
                "shared": shared,
            }))
        }
        "provider.register-namespace" => {
            p.register_namespace(&s("datastorePath")?, &s("namespace")?, &s("repoId")?)
                .await?;
            Ok(Value::Null)
        }
        "provider.list-namespaces" => Ok(json!(p.list_namespaces(&s("datastorePath")?).await?)),
        other => Err(Failure::Request(format!("unknown operation {other:?}"))),
    }
}

async fn lock_op(op: &str, req: Value) -> Reply {
    let lock = handles::lock(id(&req)?)?;
    match op {
        // One acquire as the lock was made (the caller's retry loop waits
        // between tries); heartbeats then run on this library's runtime.
        "lock.acquire" => lock
            .acquire()
            .await
            .map(|()| Value::Null)
            .map_err(Into::into),
        "lock.release" => lock
            .release()
            .await
            .map(|()| Value::Null)
            .map_err(Into::into),
        "lock.inspect" => Ok(serde_json::to_value(lock.inspect().await?).unwrap_or(Value::Null)),
        "lock.force-release" => {
            let nonce: String = field(&req, "nonce")?;
            Ok(json!(lock.force_release(&nonce).await?))
        }
        // Reads the heartbeat scheduler's state; never calls the guest.
        "lock.lost" => Ok(json!(lock.lost())),
        other => Err(Failure::Request(format!("unknown operation {other:?}"))),
    }
}

fn arg<T: DeserializeOwned>(args: &[Value], i: usize, what: &str) -> Result<T, Failure> {
    serde_json::from_value(args.get(i).cloned().unwrap_or(Value::Null))
        .map_err(|e| Failure::Request(format!("argument {i} ({what}): {e}")))
}

fn opt_str(args: &[Value], i: usize) -> Result<Option<String>, Failure> {
    arg(args, i, "optional string")
}

fn bytes(args: &[Value], i: usize) -> Result<Vec<u8>, Failure> {
    let text: String = arg(args, i, "base64 bytes")?;
    B64.decode(text)
        .map_err(|e| Failure::Request(format!("argument {i} is not base64: {e}")))
}

/// One sync-service or shared-store call, named as `packaging/js/sync.ts`
/// and `shared_store.ts` name them; bytes travel as base64.
async fn sync_call(svc: &SyncService, method: &str, args: Vec<Value>) -> Reply {
    let opts =
        |i: usize| -> Result<SyncOptions, Failure> { arg::<SyncOptions>(&args, i, "sync options") };
    let v = match method {
        "pullChanged" => json!(svc.pull_changed(&opts(0)?).await?),
        "pushChanged" => json!(svc.push_changed(&opts(0)?).await?),
        "markDirty" => {
            svc.mark_dirty(&opts(0)?).await?;
            Value::Null
        }
        "hydrateFile" => {
            let rel: String = arg(&args, 0, "relPath")?;
            json!(svc.hydrate_file(&rel, &opts(1)?).await?)
        }
        "preparePush" => {
            let m = svc.prepare_push(&opts(0)?).await?;
            json!({ "pushed": m.pushed, "deleted": m.deleted, "payload": m.payload })
        }
        "commitPush" => {
            let m: Value = arg(&args, 0, "manifest")?;
            let manifest = PushManifest {
                pushed: m.get("pushed").and_then(Value::as_u64).unwrap_or(0) as u32,
                deleted: m.get("deleted").and_then(Value::as_u64).unwrap_or(0) as u32,
                payload: m
                    .get("payload")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            };
            json!(svc.commit_push(&manifest, &opts(1)?).await?)
        }
        "previewPush" => serde_json::to_value(svc.preview_push(&opts(0)?).await?)?,
        "shared.controlPut" => {
            let (ns, key) = (opt_str(&args, 0)?, arg::<String>(&args, 1, "key")?);
            svc.control_put(ns.as_deref(), &key, &bytes(&args, 2)?)
                .await?;
            Value::Null
        }
        "shared.controlGet" => {
            let (ns, key) = (opt_str(&args, 0)?, arg::<String>(&args, 1, "key")?);
            json!(
                svc.control_get(ns.as_deref(), &key)
                    .await?
                    .map(|b| B64.encode(b))
            )
        }
        "shared.controlDelete" => {
            let (ns, key) = (opt_str(&args, 0)?, arg::<String>(&args, 1, "key")?);
            svc.control_delete(ns.as_deref(), &key).await?;
            Value::Null
        }
        "shared.controlList" => {
            let (ns, prefix) = (opt_str(&args, 0)?, arg::<String>(&args, 1, "prefix")?);
            json!(svc.control_list(ns.as_deref(), &prefix).await?)
        }
        "shared.controlPutIfAbsent" => {
            let (ns, key) = (opt_str(&args, 0)?, arg::<String>(&args, 1, "key")?);
            json!(
                svc.control_put_if_absent(ns.as_deref(), &key, &bytes(&args, 2)?)
                    .await?
            )
        }
        "shared.exportCatalog" => {
            let (ns, rows) = (
                arg::<String>(&args, 0, "namespace")?,
                arg::<String>(&args, 1, "rows")?,
            );
            json!(svc.export_catalog(&ns, &rows).await?)
        }
        "shared.pullForeignCatalogs" => {
            let names: Vec<String> = arg(&args, 0, "namespaces")?;
            serde_json::to_value(svc.pull_foreign_catalogs(&names).await?)?
        }
        "shared.fetchForeignContent" => {
            let (ns, rel) = (
                arg::<String>(&args, 0, "namespace")?,
                arg::<String>(&args, 1, "relPath")?,
            );
            json!(
                svc.fetch_foreign_content(&ns, &rel)
                    .await?
                    .map(|b| B64.encode(b))
            )
        }
        "shared.repairNamespaceContamination" => {
            let ns = opt_str(&args, 0)?;
            let dry_run: bool = arg(&args, 1, "dryRun")?;
            serde_json::to_value(
                svc.repair_namespace_contamination(ns.as_deref(), dry_run)
                    .await?,
            )?
        }
        other => return Err(Failure::Request(format!("unknown sync method {other:?}"))),
    };
    Ok(v)
}
