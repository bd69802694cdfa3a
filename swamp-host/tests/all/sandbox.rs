//! The sandbox walls, each shown with the hostile test guest: what a guest
//! may not touch it cannot touch, what it may touch it can (the positive
//! controls prove the attacks themselves work), and the host keeps working
//! after a guest is stopped.

use scenarios::s;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use swamp_host::{HealthResult, Host, HostError, HostOptions, Limits, OpenOptions, Plugin};

fn host(limits: Limits) -> Host {
    Host::new(HostOptions {
        cache_dir: None,
        limits,
        env_source: Arc::new(|k| match k {
            "HOSTILE_ALLOWED_VAR" => Some("granted".into()),
            "SECRET_VAR" => Some("must-not-leak".into()),
            _ => None,
        }),
        ..HostOptions::default()
    })
    .unwrap()
}

async fn hostile(host: &Host) -> Plugin {
    let wasm = std::path::PathBuf::from(test_guests_artifacts::HOSTILE);
    host.load(&wasm).await.unwrap()
}

async fn attack(plugin: &Plugin, config: Value) -> Result<HealthResult, HostError> {
    let provider = plugin.open(config, OpenOptions::default()).await?;
    provider.create_verifier().await?.verify().await
}

fn quick_limits() -> Limits {
    Limits {
        memory_bytes: 64 * 1024 * 1024,
        call_timeout: Duration::from_secs(2),
        grace: Duration::from_millis(500),
        http_timeout: Duration::from_secs(2),
        ..Limits::default()
    }
}

/// A mounted directory with a file inside, and a secret beside it.
struct Tree {
    _root: tempfile::TempDir,
    mount: std::path::PathBuf,
    secret: std::path::PathBuf,
}

fn tree() -> Tree {
    let root = tempfile::tempdir().unwrap();
    let mount = root.path().join("mounted");
    std::fs::create_dir(&mount).unwrap();
    std::fs::write(mount.join("inside.txt"), "inside").unwrap();
    let secret = root.path().join("secret.txt");
    std::fs::write(&secret, "secret").unwrap();
    Tree {
        _root: root,
        mount,
        secret,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn files_outside_the_mounts_cannot_be_read() {
    let host = host(quick_limits());
    let plugin = hostile(&host).await;
    let t = tree();
    let read = |target: &str| json!({"attack": "read-file", "path": s(&t.mount), "target": target});

    // Positive control: the mounted file is readable.
    let r = attack(&plugin, read(s(&t.mount.join("inside.txt"))))
        .await
        .unwrap();
    assert!(
        r.healthy,
        "reading inside the mount must work: {}",
        r.message
    );

    // The secret beside the mount, by absolute path and through `..`.
    for target in [
        s(&t.secret).to_string(),
        format!("{}/../secret.txt", s(&t.mount)),
        "/etc/passwd".into(),
    ] {
        let r = attack(&plugin, read(&target)).await.unwrap();
        assert!(!r.healthy, "{target} was readable: {}", r.message);
    }

    // Symlinks inside the mount pointing out of it.
    std::os::unix::fs::symlink(&t.secret, t.mount.join("link-to-secret")).unwrap();
    std::os::unix::fs::symlink("/etc", t.mount.join("link-to-etc")).unwrap();
    for link in ["link-to-secret", "link-to-etc/passwd"] {
        let target = t.mount.join(link);
        let target = s(&target);
        let r = attack(&plugin, read(target)).await.unwrap();
        assert!(
            !r.healthy,
            "{target} was readable through a symlink: {}",
            r.message
        );
    }

    // Listing the root or writing outside fails too.
    let r = attack(
        &plugin,
        json!({"attack": "list-dir", "path": s(&t.mount), "target": "/"}),
    )
    .await
    .unwrap();
    assert!(!r.healthy, "/ was listable: {}", r.message);
    let outside = t.secret.with_file_name("written.txt");
    let r = attack(
        &plugin,
        json!({"attack": "write-file", "path": s(&t.mount), "target": s(&outside)}),
    )
    .await
    .unwrap();
    assert!(
        !r.healthy && !outside.exists(),
        "wrote outside the mount: {}",
        r.message
    );
    host_still_works(&plugin).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_mount_nothing_is_visible() {
    let host = host(quick_limits());
    let plugin = hostile(&host).await;
    let t = tree();
    // No `path` in the config: the file exists on the host but is not mounted.
    let r = attack(
        &plugin,
        json!({"attack": "read-file", "target": s(&t.mount.join("inside.txt"))}),
    )
    .await
    .unwrap();
    assert!(!r.healthy, "an unmounted file was readable: {}", r.message);
    host_still_works(&plugin).await;
}

/// An HTTP server on 127.0.0.1 answering 200 to every request. It reads the
/// whole request head before answering and then waits for the client to
/// close: closing first would race the client's (empty) request body and
/// surface as a spurious "connection reset".
async fn http_server() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = sock
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
                while let Ok(n) = sock.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                }
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_configured_endpoint_is_reachable() {
    let host = host(quick_limits());
    let plugin = hostile(&host).await;
    let allowed = http_server().await;
    let other = http_server().await;
    let endpoint = format!("http://127.0.0.1:{allowed}");
    let get = |url: String| json!({"attack": "http", "endpoint": endpoint, "target": url});

    let provider = plugin
        .open(get(format!("{endpoint}/bucket")), OpenOptions::default())
        .await
        .unwrap();
    let r = provider
        .create_verifier()
        .await
        .unwrap()
        .verify()
        .await
        .unwrap();
    assert!(
        r.healthy,
        "the configured endpoint must be reachable: {}",
        r.message
    );
    assert_eq!(
        provider.usage().http_requests,
        1,
        "the host counts the request it let through"
    );

    for url in [
        format!("http://127.0.0.1:{other}/"), // another port (a live server)
        format!("http://localhost:{allowed}/"), // a DNS name for the same host
        format!("http://127.0.0.2:{allowed}/"), // another address
        format!("https://127.0.0.1:{allowed}/"), // another scheme
    ] {
        let provider = plugin
            .open(get(url.clone()), OpenOptions::default())
            .await
            .unwrap();
        let r = provider
            .create_verifier()
            .await
            .unwrap()
            .verify()
            .await
            .unwrap();
        assert!(!r.healthy, "{url} was reachable: {}", r.message);
        assert_eq!(
            provider.denied_requests(),
            vec![url.clone()],
            "the host must record the refusal"
        );
        assert_eq!(
            provider.usage().http_requests,
            0,
            "a refused request is not counted as sent"
        );
    }
    // Without an endpoint in the config, nothing is reachable.
    let r = attack(
        &plugin,
        json!({"attack": "http", "target": format!("{endpoint}/")}),
    )
    .await
    .unwrap();
    assert!(
        !r.healthy,
        "reached a host with no endpoint configured: {}",
        r.message
    );
    host_still_works(&plugin).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn only_listed_environment_variables_are_visible() {
    let host = host(quick_limits());
    let plugin = hostile(&host).await;
    let env = |name: &str| json!({"attack": "env", "target": name});
    let r = attack(&plugin, env("HOSTILE_ALLOWED_VAR")).await.unwrap();
    assert!(
        r.healthy && r.message == "granted",
        "the listed variable must pass: {r:?}"
    );
    for name in ["SECRET_VAR", "PATH", "HOME"] {
        let r = attack(&plugin, env(name)).await.unwrap();
        assert!(!r.healthy, "{name} leaked: {}", r.message);
    }
    let r = attack(&plugin, json!({"attack": "env-count"}))
        .await
        .unwrap();
    assert_eq!(r.message, "1", "exactly one variable is visible");
    host_still_works(&plugin).await;
}

/// After a guest was stopped, the same provider refuses further calls with
/// a clear error and a fresh instance works.
async fn host_still_works(plugin: &Plugin) {
    let r = attack(plugin, json!({"attack": "noop"})).await.unwrap();
    assert!(
        r.healthy,
        "a fresh instance must work after a stopped one: {r:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_memory_bomb_is_stopped_at_the_limit() {
    let host = host(quick_limits());
    let plugin = hostile(&host).await;
    let provider = plugin
        .open(json!({"attack": "memory-bomb"}), OpenOptions::default())
        .await
        .unwrap();
    let verifier = provider.create_verifier().await.unwrap();
    match verifier.verify().await {
        Err(HostError::Trap { reason, .. }) => {
            eprintln!("memory bomb trap: {reason}");
            assert!(reason.contains("memory"), "trap should say why: {reason}")
        }
        other => panic!("a memory bomb must trap, got {other:?}"),
    }
    // The meter saw the three 16 MiB hoards granted, not the refused fourth.
    let peak = provider.usage().memory_bytes;
    assert!(
        (48 << 20..=64 << 20).contains(&peak),
        "memory high-water mark {peak} bytes: expected 48-64 MiB under a 64 MiB limit"
    );
    match verifier.verify().await {
        Err(HostError::InstanceStopped(why)) => assert!(why.contains("verify"), "{why}"),
        other => panic!("a stopped instance must say so, got {other:?}"),
    }
    host_still_works(&plugin).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endless_loop_is_interrupted_at_its_deadline() {
    let host = host(quick_limits());
    let plugin = hostile(&host).await;
    let started = std::time::Instant::now();
    match attack(&plugin, json!({"attack": "spin"})).await {
        Err(HostError::Trap { reason, .. }) => assert!(reason.contains("CPU deadline"), "{reason}"),
        other => panic!("an endless loop must be stopped by epoch interruption, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    host_still_works(&plugin).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_that_never_returns_hits_the_wall_clock_deadline() {
    let host = host(quick_limits());
    let plugin = hostile(&host).await;
    match attack(&plugin, json!({"attack": "sleep"})).await {
        Err(HostError::Deadline { call, .. }) => assert_eq!(call, "verifier.verify"),
        other => panic!("a sleeping guest must be stopped, got {other:?}"),
    }
    host_still_works(&plugin).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panicking_guest_is_reported_as_a_trap() {
    let host = host(quick_limits());
    let plugin = hostile(&host).await;
    match attack(&plugin, json!({"attack": "panic"})).await {
        Err(HostError::Trap { call, reason }) => {
            assert_eq!(call, "verifier.verify");
            // The author's file, line and message, not a wasm backtrace.
            assert!(
                reason.starts_with("guest panicked at guest/test-guests/src/bin/hostile.rs:")
                    && reason.ends_with(": hostile guest panics on purpose"),
                "{reason}"
            );
            assert!(reason.len() < 200, "{} characters: {reason}", reason.len());
        }
        other => panic!("a panic must surface as a trap, got {other:?}"),
    }
    host_still_works(&plugin).await;
}

/// A dropped verifier is dropped in the guest before the provider's next
/// call; a destructor that panics (or spins) is reported as what it is,
/// stops only that instance, and never panics the host.
#[tokio::test(flavor = "multi_thread")]
async fn a_destructor_that_traps_is_reported_and_stops_only_its_instance() {
    let host = host(quick_limits());
    let plugin = hostile(&host).await;
    for (attack, says) in [
        ("drop-panic", "hostile guest panics on purpose"),
        ("drop-spin", "CPU deadline"),
    ] {
        let provider = plugin
            .open(json!({"attack": attack}), OpenOptions::default())
            .await
            .unwrap();
        let verifier = provider.create_verifier().await.unwrap();
        verifier.verify().await.unwrap();
        // Without the drop the guest never hears of it and the call works.
        drop(verifier);
        match provider.features().await {
            Err(HostError::Trap { call, reason }) => {
                assert_eq!(call, "provider.features");
                assert!(
                    reason.starts_with("dropping a guest object the host no longer holds")
                        && reason.contains(says),
                    "{attack}: {reason}"
                );
            }
            // On a loaded machine the wall clock can run out before the
            // epoch ticks do (see an_endless_loop_is_interrupted_at_its_deadline).
            Err(HostError::Deadline { call, .. }) if attack == "drop-spin" => {
                assert_eq!(call, "provider.features")
            }
            other => panic!("{attack}: the destructor's trap must be reported, got {other:?}"),
        }
        assert!(
            matches!(
                provider.features().await,
                Err(HostError::InstanceStopped(_))
            ),
            "{attack}: the instance is not used again"
        );
    }
    host_still_works(&plugin).await;
}

/// A server on 127.0.0.1 that never answers: with `reads`, it accepts each
/// connection, reads the request and then holds the connection without a
/// byte of answer; without, it never even accepts (the kernel completes the
/// handshake into the backlog and the request sits there unread).
async fn silent_server(reads: bool) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        if !reads {
            // Keep the listener open, never accept.
            tokio::time::sleep(Duration::from_secs(3600)).await;
            drop(listener);
            return;
        }
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = sock.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                }
            });
        }
    });
    port
}

/// The configured endpoint accepts the request and never answers: the
/// guest's HTTP call ends at the host's HTTP timeout with an error naming
/// the timeout, well before the call's own deadline; the host survives and
/// the next call on a fresh instance works.
#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_never_answers_ends_the_request_at_the_http_timeout() {
    let limits = Limits {
        http_timeout: Duration::from_secs(1),
        call_timeout: Duration::from_secs(20),
        ..quick_limits()
    };
    let host = host(limits);
    let plugin = hostile(&host).await;
    for reads in [true, false] {
        let endpoint = format!("http://127.0.0.1:{}", silent_server(reads).await);
        let started = std::time::Instant::now();
        let r = attack(
            &plugin,
            json!({"attack": "http", "endpoint": endpoint, "target": format!("{endpoint}/bucket")}),
        )
        .await
        .unwrap_or_else(|e| panic!("the guest must get its own error back, not be stopped: {e}"));
        let took = started.elapsed();
        eprintln!("silent server (reads: {reads}): {took:?}, {}", r.message);
        assert!(!r.healthy, "no answer cannot be success: {}", r.message);
        assert!(
            r.message.to_lowercase().contains("timeout"),
            "the error must name the timeout: {}",
            r.message
        );
        // Ended by the 1 s HTTP timeout, not the 20 s call deadline.
        assert!(took < Duration::from_secs(10), "took {took:?}");
        host_still_works(&plugin).await;
    }
}

/// The same silent server with a generous HTTP timeout: the call's
/// wall-clock deadline stops the guest waiting in the host, the handle says
/// so, and a fresh instance works.
#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_never_answers_is_cut_off_at_the_call_deadline() {
    let limits = Limits {
        http_timeout: Duration::from_secs(600),
        ..quick_limits()
    };
    let deadline = limits.call_timeout + limits.grace;
    let host = host(limits);
    let plugin = hostile(&host).await;
    let endpoint = format!("http://127.0.0.1:{}", silent_server(true).await);
    let provider = plugin
        .open(
            json!({"attack": "http", "endpoint": endpoint, "target": format!("{endpoint}/")}),
            OpenOptions::default(),
        )
        .await
        .unwrap();
    let verifier = provider.create_verifier().await.unwrap();
    let started = std::time::Instant::now();
    match verifier.verify().await {
        Err(HostError::Deadline { call, after }) => {
            assert_eq!(call, "verifier.verify");
            assert_eq!(after, deadline, "the error names the deadline it hit");
        }
        other => panic!("a call waiting on a silent server must be stopped, got {other:?}"),
    }
    let took = started.elapsed();
    eprintln!("silent server, 600 s HTTP timeout: stopped after {took:?} (deadline {deadline:?})");
    // Not before the call's budget, and not long after its deadline.
    assert!(
        took >= Duration::from_secs(2) && took < deadline + Duration::from_secs(10),
        "stopped after {took:?}, deadline {deadline:?}"
    );
    match verifier.verify().await {
        Err(HostError::InstanceStopped(_)) => {}
        other => panic!("a stopped instance must say so, got {other:?}"),
    }
    host_still_works(&plugin).await;
}
