//! Files only their user can read. The data folder holds the queue (paths, SKUs, server
//! errors), staged photos not yet published, previews and logs; on a shared Unix machine none
//! of it is for other accounts. Folders are made 0700 and files 0600 here; what libraries
//! create themselves (SQLite's -wal and -shm take the database file's mode, the log appender's
//! daily files) is covered by [`restrict_new_files`], which each `main` calls first. On
//! Windows the per-user AppData folders are private already, so these are plain calls there.

use std::io::Write as _;
use std::path::Path;

/// From now on, files and folders this process creates get no group or other permissions
/// (umask 077), whoever creates them. Called first in each `main`, before any thread starts.
pub fn restrict_new_files() {
    #[cfg(unix)]
    // SAFETY: umask only sets the process's file mode creation mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
}

/// Creates `dir` and its missing parents; `dir` itself is made (or made again) 0700, so a
/// folder left readable by an older version becomes private too. Parents keep their modes.
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)
}

/// Writes `bytes` to a new or truncated file at `path`, readable by its user only.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = options().truncate(true).open(path)?;
    restrict(&file)?;
    file.write_all(bytes)
}

/// Makes `path` if it is not there (empty, 0600), and makes an existing one 0600, together
/// with SQLite's `-wal` and `-shm` beside it: SQLite gives those the database file's mode.
pub fn prepare_database(path: &Path) -> std::io::Result<()> {
    let file = options().truncate(false).open(path)?;
    restrict(&file)?;
    for suffix in ["-wal", "-shm"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        if let Ok(file) = std::fs::File::options().append(true).open(&side) {
            restrict(&file)?;
        }
    }
    Ok(())
}

fn options() -> std::fs::OpenOptions {
    let mut options = std::fs::File::options();
    options.write(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// An existing file keeps its mode when opened: it is set on the open file, so a file
/// swapped in between is never the one changed.
fn restrict(file: &std::fs::File) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn folders_files_and_databases_are_made_private_even_when_they_existed_open() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("a/data");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
        create_dir(&data).unwrap();
        assert_eq!(mode(&data), 0o700);
        create_dir(&dir.path().join("b/new")).unwrap();
        assert_eq!(mode(&dir.path().join("b/new")), 0o700);

        let file = data.join("bundle.txt");
        std::fs::write(&file, "old").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        write(&file, b"new").unwrap();
        assert_eq!(
            (mode(&file), std::fs::read(&file).unwrap()),
            (0o600, b"new".to_vec())
        );

        let db = data.join("uploader.sqlite3");
        let wal = data.join("uploader.sqlite3-wal");
        std::fs::write(&wal, "").unwrap();
        std::fs::set_permissions(&wal, std::fs::Permissions::from_mode(0o644)).unwrap();
        prepare_database(&db).unwrap();
        assert_eq!((mode(&db), mode(&wal)), (0o600, 0o600));
        assert!(!data.join("uploader.sqlite3-shm").exists());
    }
}
