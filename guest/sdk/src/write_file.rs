//! A file opened for writing whose writes run on the guest's own thread.
//!
//! Inside a component, std writes a file through wasi-libc, which sends the
//! bytes down a `wasi:io/streams` output stream; wasmtime-wasi performs
//! every such stream write on tokio's blocking pool, whatever the host says
//! about blocking its own thread, so each write costs two thread wake-ups
//! (measured: they were most of a lock acquire's time, and one per body
//! frame of every download). `wasi:filesystem`'s positional `write` runs
//! where the host lets file calls run, which for swamp-host is the guest's
//! own thread (`swamp-host/src/sandbox.rs`, `Limits::file_io_on_caller_thread`).
//! So the files the SDK writes (temporary files, downloads, lock files) are
//! opened here, through the mount that holds the path (`wasi_mounts.rs`),
//! and written at an offset this type keeps.
//!
//! Natively (unit tests, benchmarks of the logic) this is std's `File`.

use std::io::{self, Write};
use std::path::Path;

/// How [`WriteFile::open_with`] treats what is already at the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Create; fail when something is there (`O_CREAT | O_EXCL`).
    CreateNew,
    /// Create or truncate (`File::create`).
    Create,
    /// Open what is there, unchanged (for a flush to disk).
    Existing,
}

/// A file open for writing, written from offset 0 onwards.
pub struct WriteFile {
    inner: imp::Inner,
    /// The file may hold bytes: it was opened as it was, or written since
    /// it was created, emptied or restarted.
    holds_bytes: bool,
}

impl WriteFile {
    /// Create a new file; an error of kind `AlreadyExists` when the path
    /// exists (the atomic "create if absent" of lock files and claims).
    pub fn create_new(path: &Path) -> io::Result<WriteFile> {
        Self::open_with(path, Mode::CreateNew)
    }

    /// Create the file, or empty it when it exists.
    pub fn create(path: &Path) -> io::Result<WriteFile> {
        Self::open_with(path, Mode::Create)
    }

    /// Open an existing file without changing it (to flush it to disk).
    pub fn open_existing(path: &Path) -> io::Result<WriteFile> {
        Self::open_with(path, Mode::Existing)
    }

    fn open_with(path: &Path, mode: Mode) -> io::Result<WriteFile> {
        Ok(WriteFile {
            inner: imp::Inner::open(path, mode)?,
            holds_bytes: mode == Mode::Existing,
        })
    }

    /// Empty the file and write from its start again (a download that
    /// starts over). A file with nothing written yet is left untouched:
    /// on ext4 a truncation to zero arms its replace-by-truncate heuristic
    /// (`auto_da_alloc`), and the close of every such file then starts its
    /// writeback on the caller's thread; as every download attempt restarts
    /// its file first, that was the largest cost of a pull of 10,000 small
    /// files in the guest's thread (`make bench`, figure d).
    pub fn restart(&mut self) -> io::Result<()> {
        if !self.holds_bytes {
            return Ok(());
        }
        self.inner.restart()?;
        self.holds_bytes = false;
        Ok(())
    }

    /// Flush data and metadata to disk.
    pub fn sync_all(&self) -> io::Result<()> {
        self.inner.sync_all()
    }
}

impl Write for WriteFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Set before the write: a write that fails may have written part.
        self.holds_bytes |= !buf.is_empty();
        self.inner.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(target_os = "wasi")]
mod imp {
    use super::Mode;
    use crate::wasi_mounts::{open_at, to_io};
    use std::io;
    use std::path::Path;
    use wasip2::filesystem::types::{Descriptor, DescriptorFlags, OpenFlags};

    pub(super) enum Inner {
        Direct { file: Descriptor, offset: u64 },
        Std(super::std_file::StdFile),
    }

    impl Inner {
        pub(super) fn open(path: &Path, mode: Mode) -> io::Result<Inner> {
            let open = match mode {
                Mode::CreateNew => OpenFlags::CREATE | OpenFlags::EXCLUSIVE,
                Mode::Create => OpenFlags::CREATE | OpenFlags::TRUNCATE,
                Mode::Existing => OpenFlags::empty(),
            };
            match open_at(path, open, DescriptorFlags::WRITE) {
                Some(file) => Ok(Inner::Direct {
                    file: file?,
                    offset: 0,
                }),
                None => super::std_file::StdFile::open(path, mode).map(Inner::Std),
            }
        }

        pub(super) fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            match self {
                Inner::Direct { file, offset } => {
                    let n = file.write(buf, *offset).map_err(to_io)?;
                    *offset += n;
                    Ok(usize::try_from(n).unwrap_or(buf.len()))
                }
                Inner::Std(f) => f.write(buf),
            }
        }

        pub(super) fn restart(&mut self) -> io::Result<()> {
            match self {
                Inner::Direct { file, offset } => {
                    file.set_size(0).map_err(to_io)?;
                    *offset = 0;
                    Ok(())
                }
                Inner::Std(f) => f.restart(),
            }
        }

        pub(super) fn sync_all(&self) -> io::Result<()> {
            match self {
                Inner::Direct { file, .. } => file.sync().map_err(to_io),
                Inner::Std(f) => f.sync_all(),
            }
        }
    }
}

#[cfg(not(target_os = "wasi"))]
mod imp {
    pub(super) use super::std_file::StdFile as Inner;
}

/// std's file, as the fall-back inside a component and the whole
/// implementation natively.
mod std_file {
    use super::Mode;
    use std::fs::{File, OpenOptions};
    use std::io::{self, Seek, Write};
    use std::path::Path;

    pub(crate) struct StdFile(File);

    impl StdFile {
        pub(crate) fn open(path: &Path, mode: Mode) -> io::Result<StdFile> {
            let mut o = OpenOptions::new();
            o.write(true);
            match mode {
                Mode::CreateNew => o.create_new(true),
                Mode::Create => o.create(true).truncate(true),
                Mode::Existing => &mut o,
            };
            o.open(path).map(StdFile)
        }
        pub(crate) fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.write(buf)
        }
        pub(crate) fn restart(&mut self) -> io::Result<()> {
            self.0.set_len(0)?;
            self.0.rewind()
        }
        pub(crate) fn sync_all(&self) -> io::Result<()> {
            self.0.sync_all()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_writes_restarts_and_refuses_a_second_create_new() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        let mut f = WriteFile::create_new(&p).unwrap();
        f.write_all(b"hello world").unwrap();
        f.restart().unwrap();
        f.write_all(b"bye").unwrap();
        f.sync_all().unwrap();
        drop(f);
        assert_eq!(std::fs::read(&p).unwrap(), b"bye");
        let e = WriteFile::create_new(&p).err().unwrap();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        let mut f = WriteFile::create(&p).unwrap();
        f.write_all(b"x").unwrap();
        drop(f);
        assert_eq!(std::fs::read(&p).unwrap(), b"x");
        WriteFile::open_existing(&p).unwrap().sync_all().unwrap();
        assert_eq!(
            std::fs::read(&p).unwrap(),
            b"x",
            "opened for a flush, unchanged"
        );
        let gone = d.path().join("missing");
        let e = WriteFile::open_existing(&gone).err().unwrap();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }

    /// Linux stamps a file's ctime at every truncation, even one to the
    /// size it has: an unchanged ctime shows that no truncation was made.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_restart_before_any_write_does_not_truncate() {
        use std::os::unix::fs::MetadataExt;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("download");
        let ctime = |p: &Path| {
            let m = std::fs::metadata(p).unwrap();
            (m.ctime(), m.ctime_nsec())
        };
        let mut f = WriteFile::create_new(&p).unwrap();
        let created = ctime(&p);
        std::thread::sleep(std::time::Duration::from_millis(20));
        f.restart().unwrap();
        f.restart().unwrap();
        assert_eq!(ctime(&p), created, "a fresh file was truncated");
        f.write_all(b"partial").unwrap();
        let written = ctime(&p);
        std::thread::sleep(std::time::Duration::from_millis(20));
        f.restart().unwrap();
        assert_ne!(ctime(&p), written, "a written file must be emptied");
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 0);
        let emptied = ctime(&p);
        std::thread::sleep(std::time::Duration::from_millis(20));
        f.restart().unwrap();
        assert_eq!(ctime(&p), emptied, "an emptied file was truncated again");
        f.write_all(b"whole").unwrap();
        drop(f);
        assert_eq!(std::fs::read(&p).unwrap(), b"whole");
    }
}
