//! Opening and reading a file the user named. Only regular files are read: a device such as
//! `/dev/zero` never ends and a FIFO blocks until a writer comes, so either would hang a run or
//! fill memory. Every read is bounded by the size limit, so a file that grows after it was
//! looked at is refused too.

use std::io::Read as _;
use std::path::Path;

/// Why a source file was not read, in words for the user (the caller names the file).
pub const NOT_REGULAR: &str = "not a regular file";

/// Opens `path` for reading if it is a regular file (after following links). The check is on
/// the opened file, so a file swapped in after a look at its name is caught too; on Unix the
/// open itself does not wait for a FIFO's writer.
pub fn open(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::File::options();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path)?;
    if file.metadata()?.file_type().is_file() {
        Ok(file)
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            NOT_REGULAR,
        ))
    }
}

/// The whole of a regular file of at most `max_bytes`; otherwise why not, in words.
pub fn read_limited(path: &Path, max_bytes: u64) -> Result<Vec<u8>, String> {
    let file = open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::InvalidInput => e.to_string(),
        _ => format!("cannot open: {e}"),
    })?;
    let len = file
        .metadata()
        .map_err(|e| format!("cannot open: {e}"))?
        .len();
    if len > max_bytes {
        return Err(too_large(max_bytes));
    }
    let mut bytes = Vec::with_capacity(len as usize + 1);
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_large(max_bytes));
    }
    Ok(bytes)
}

/// The refusal of a file over the limit.
pub(crate) fn too_large(max_bytes: u64) -> String {
    format!(
        "larger than the limit of {} MB (limits.max_file_mb)",
        max_bytes / 1_000_000
    )
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// Runs `read` on a thread and waits at most 5 s: a read that would hang fails the test.
    fn within_5s(path: &Path, max_bytes: u64) -> Result<Vec<u8>, String> {
        let (sent, received) = std::sync::mpsc::channel();
        let path = path.to_path_buf();
        std::thread::spawn(move || {
            let _ = sent.send(read_limited(&path, max_bytes));
        });
        received
            .recv_timeout(std::time::Duration::from_secs(5))
            .unwrap_or_else(|_| panic!("reading hung"))
    }

    #[test]
    fn devices_fifos_folders_and_links_to_devices_are_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe.jpg");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let link = dir.path().join("zero.jpg");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let folder = dir.path().join("folder.jpg");
        std::fs::create_dir(&folder).unwrap();
        for path in [Path::new("/dev/zero"), &fifo, &link, &folder] {
            assert_eq!(
                within_5s(path, 1_000_000),
                Err(NOT_REGULAR.to_string()),
                "{}",
                path.display()
            );
        }
    }

    #[test]
    fn a_file_over_the_limit_is_refused_and_one_at_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.jpg");
        std::fs::write(&file, vec![7u8; 2_000_001]).unwrap();
        assert_eq!(
            within_5s(&file, 2_000_000),
            Err("larger than the limit of 2 MB (limits.max_file_mb)".to_string())
        );
        assert_eq!(within_5s(&file, 2_000_001).unwrap().len(), 2_000_001);
    }
}
