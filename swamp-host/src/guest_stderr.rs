//! The guest's stderr: passed on to the host's, and its tail kept, so that
//! a trap can be explained by what the guest printed just before it (a
//! Rust guest prints its panic message there, then executes `unreachable`).

use std::io::Write;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

/// How much of the guest's latest stderr output is kept.
const TAIL_BYTES: usize = 16 * 1024;

/// One instance's stderr; clones share the tail.
#[derive(Clone, Default)]
pub(crate) struct GuestStderr {
    tail: Arc<Mutex<Vec<u8>>>,
}

impl GuestStderr {
    /// The last panic the guest printed, as `{file}:{line}:{col}: {message}`
    /// (Rust's `panicked at {location}:\n{message}` layout).
    pub(crate) fn last_panic(&self) -> Option<String> {
        let tail = self.tail.lock().ok()?;
        last_panic(&String::from_utf8_lossy(&tail))
    }
}

fn last_panic(text: &str) -> Option<String> {
    const AT: &str = "panicked at ";
    let rest = &text[text.rfind(AT)? + AT.len()..];
    let (location, message) = rest.split_once(":\n")?;
    let message: Vec<&str> = message
        .lines()
        .take_while(|l| !l.starts_with("note: "))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    Some(format!("{location}: {}", message.join(" / ")))
}

impl IsTerminal for GuestStderr {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestStderr {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(Tee(self.tail.clone()))
    }
}

/// Appends to the tail and writes through to the host's stderr.
struct Tee(Arc<Mutex<Vec<u8>>>);

impl tokio::io::AsyncWrite for Tee {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if let Ok(mut tail) = self.0.lock() {
            tail.extend_from_slice(buf);
            if tail.len() > TAIL_BYTES {
                let cut = tail.len() - TAIL_BYTES;
                tail.drain(..cut);
            }
        }
        let _ = std::io::stderr().write_all(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::last_panic;

    #[test]
    fn the_last_panic_is_read_from_rusts_layout() {
        let text = "log line\nthread '<unnamed>' panicked at src/lib.rs:10:5:\nfirst\n\
                    thread 'main' panicked at guest/fs/src/lock.rs:42:9:\nindex out of bounds\nsecond line\n\
                    note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n";
        assert_eq!(
            last_panic(text).unwrap(),
            "guest/fs/src/lock.rs:42:9: index out of bounds / second line"
        );
        assert_eq!(last_panic("no panic here\n"), None);
    }
}
