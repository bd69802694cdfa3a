//! The timed part: rounds in which each client pushes the tree into its own
//! fresh prefix, then pulls it into a fresh directory (checked byte for
//! byte). The clients' order is reversed every other round so that load
//! drifting on a shared machine favours no one; the best round counts.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use seaweedfs_fixture::SeaweedFs;

use crate::{BUCKET, awscli, datastore, native, tree};

/// What every round needs.
pub struct Setup<'a> {
    pub s3: &'a SeaweedFs,
    pub aws: &'a awscli::Aws,
    pub native: &'a Arc<native::Native>,
    pub source: PathBuf,
    pub rels: Arc<Vec<String>>,
    pub work: PathBuf,
    pub concurrency: usize,
}

#[derive(Clone, Copy, Debug)]
enum Client {
    Datastore,
    Aws,
    Native,
}

/// Times of every round, per client and direction.
#[derive(Default, Debug)]
pub struct Times {
    pub ds_push: Vec<Duration>,
    /// preview-push (planning alone), timed before each push.
    pub ds_plan: Vec<Duration>,
    pub ds_pull: Vec<Duration>,
    pub aws_push: Vec<Duration>,
    pub aws_pull: Vec<Duration>,
    pub native_push: Vec<Duration>,
    pub native_pull: Vec<Duration>,
    /// The native client paying one more cost the component pays: a new
    /// connection per request (push, pull), and also fsynced temporary
    /// files renamed into place (pull).
    pub native_push_conn: Vec<Duration>,
    pub native_pull_conn: Vec<Duration>,
    pub native_pull_durable: Vec<Duration>,
    /// Requests the native client sent in its last push and pull.
    pub native_push_requests: u64,
    pub native_pull_requests: u64,
}

/// The shortest of `times`.
pub fn best(times: &[Duration]) -> Duration {
    times.iter().copied().min().unwrap_or_default()
}

pub async fn run(s: &Setup<'_>, rounds: usize) -> Result<Times> {
    let mut t = Times::default();
    let files = s.rels.len();
    for round in 0..rounds {
        let mut order = [Client::Datastore, Client::Aws, Client::Native];
        if round % 2 == 1 {
            order.reverse();
        }
        let ds = datastore::Datastore::open(
            s.s3,
            &s.s3.endpoint(),
            BUCKET,
            &format!("ds-{round}"),
            s.concurrency,
        )
        .await?;
        for c in order {
            eprintln!("round {round}: push {c:?}");
            match c {
                Client::Datastore => {
                    let cache = s.work.join(format!("ds-push-{round}"));
                    tree::copy(&s.source, &cache, &s.rels)?;
                    let (push, plan) = ds.push(&cache, files, true).await?;
                    t.ds_push.push(push);
                    t.ds_plan.push(plan.context("preview-push was timed")?);
                }
                Client::Aws => t.aws_push.push(s.aws.sync(
                    s.source.to_str().context("non-UTF-8 temp path")?,
                    &format!("s3://{BUCKET}/aws-{round}/"),
                )?),
                Client::Native => {
                    let before = s.native.requests();
                    let start = Instant::now();
                    s.native
                        .push(
                            &s.source,
                            &format!("native-{round}/"),
                            s.rels.clone(),
                            s.concurrency,
                            native::Mode::default(),
                        )
                        .await?;
                    t.native_push.push(start.elapsed());
                    t.native_push_requests = s.native.requests() - before;
                }
            }
        }
        for c in order {
            eprintln!("round {round}: pull {c:?}");
            let dest = s.work.join(format!("{c:?}-pull-{round}"));
            match c {
                Client::Datastore => t.ds_pull.push(ds.pull(&dest, files).await?),
                Client::Aws => {
                    std::fs::create_dir_all(&dest)?;
                    t.aws_pull.push(s.aws.sync(
                        &format!("s3://{BUCKET}/aws-{round}/"),
                        dest.to_str().context("non-UTF-8 temp path")?,
                    )?);
                }
                Client::Native => {
                    let before = s.native.requests();
                    let start = Instant::now();
                    let got = s
                        .native
                        .pull(
                            &format!("native-{round}/"),
                            &dest,
                            s.concurrency,
                            native::Mode::default(),
                        )
                        .await?;
                    t.native_pull.push(start.elapsed());
                    t.native_pull_requests = s.native.requests() - before;
                    anyhow::ensure!(
                        got == files,
                        "native client pulled {got} files, expected {files}"
                    );
                }
            }
            tree::verify(&format!("{c:?}"), &s.source, &dest, &s.rels)?;
            std::fs::remove_dir_all(&dest)?;
        }
        // Diagnostics, after the compared runs: the native client with a
        // connection per request, then also with durable downloads.
        let per_request = native::Mode {
            connection_per_request: true,
            durable_writes: false,
        };
        let durable = native::Mode {
            durable_writes: true,
            ..per_request
        };
        eprintln!("round {round}: native variants");
        let start = Instant::now();
        let prefix = format!("native-conn-{round}/");
        s.native
            .push(
                &s.source,
                &prefix,
                s.rels.clone(),
                s.concurrency,
                per_request,
            )
            .await?;
        t.native_push_conn.push(start.elapsed());
        for (mode, times, what) in [
            (
                per_request,
                &mut t.native_pull_conn,
                "connection per request",
            ),
            (durable, &mut t.native_pull_durable, "durable writes"),
        ] {
            let dest = s.work.join(format!("native-variant-{round}"));
            let start = Instant::now();
            s.native.pull(&prefix, &dest, s.concurrency, mode).await?;
            times.push(start.elapsed());
            tree::verify(&format!("native client, {what}"), &s.source, &dest, &s.rels)?;
            std::fs::remove_dir_all(&dest)?;
        }
        eprintln!("  {t:?}");
    }
    Ok(t)
}
