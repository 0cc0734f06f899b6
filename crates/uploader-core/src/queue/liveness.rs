//! Which lease owners are alive. Every process that opens a data folder holds a lock on a
//! file named for its owner id, for as long as it lives; the OS releases it when the process
//! dies, however it dies. A lease whose owner's lock can be taken was left by a dead process
//! and may be taken back at once; a live owner's leases are never taken (the app, `uploader
//! upload` and `uploader status` may all run at once on one folder).

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Ends the names of owners' lock files. A file is created under another name and renamed to
/// this one only once locked, so a lock file is never seen unlocked while its owner lives.
const LOCKED: &str = ".lock";
const BEING_MADE: &str = ".new";

/// This process's lock, held until it is dropped.
#[derive(Debug)]
pub struct OwnerLock {
    _file: File,
}

/// The folder of owners' lock files in a data folder.
pub fn folder(data_dir: &Path) -> PathBuf {
    data_dir.join("owners")
}

fn file_name(owner: &str) -> String {
    // Owner ids are a pid and a UUID: safe as file names on every OS.
    format!("{owner}{LOCKED}")
}

impl OwnerLock {
    /// Locks `owner`'s file in `data_dir`.
    pub fn take(data_dir: &Path, owner: &str) -> Result<Self> {
        let dir = folder(data_dir);
        crate::private::create_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        let made = dir.join(format!("{}{BEING_MADE}", file_name(owner)));
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&made)
            .map_err(|e| Error::io(&made, e))?;
        file.lock().map_err(|e| Error::io(&made, e))?;
        let path = dir.join(file_name(owner));
        std::fs::rename(&made, &path).map_err(|e| Error::io(&path, e))?;
        Ok(Self { _file: file })
    }
}

/// Whether `owner`'s process is gone: its lock file is missing or can be locked. A lock file
/// found unlocked is removed (its owner is gone for good).
pub fn is_gone(data_dir: &Path, owner: &str) -> Result<bool> {
    let path = folder(data_dir).join(file_name(owner));
    let file = match File::options().write(true).open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(true),
        Err(e) => return Err(Error::io(&path, e)),
    };
    match file.try_lock() {
        Ok(()) => {
            // Removed while locked, so no other process can think it locked a live owner's.
            let _ = std::fs::remove_file(&path);
            Ok(true)
        }
        Err(TryLockError::WouldBlock) => Ok(false),
        Err(TryLockError::Error(e)) => Err(Error::io(&path, e)),
    }
}

/// Removes the lock files of owners that are gone and hold no lease (crashed processes that
/// had nothing in hand), so the folder does not grow.
pub fn sweep(data_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(folder(data_dir)) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(owner) = name.to_str().and_then(|n| n.strip_suffix(LOCKED)) else {
            continue;
        };
        let _ = is_gone(data_dir, owner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_owner_is_not_gone_and_a_dropped_one_is() {
        let dir = tempfile::tempdir().unwrap();
        let lock = OwnerLock::take(dir.path(), "1-a").unwrap();
        assert!(!is_gone(dir.path(), "1-a").unwrap());
        drop(lock);
        assert!(is_gone(dir.path(), "1-a").unwrap());
        // Its file went with it.
        assert!(!folder(dir.path()).join("1-a.lock").exists());
    }

    #[test]
    fn an_owner_without_a_lock_file_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        assert!(is_gone(dir.path(), "2-b").unwrap());
    }

    #[test]
    fn a_sweep_removes_only_the_files_of_owners_that_are_gone() {
        let dir = tempfile::tempdir().unwrap();
        let alive = OwnerLock::take(dir.path(), "1-a").unwrap();
        drop(OwnerLock::take(dir.path(), "2-b").unwrap());
        sweep(dir.path());
        let mut left: Vec<_> = std::fs::read_dir(folder(dir.path()))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["1-a.lock"]);
        drop(alive);
    }
}
