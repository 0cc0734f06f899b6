//! The machine policy: a file the admin owns that sets settings over the user's config file and
//! can lock them, so that neither the user's file, the environment, flags nor the app's
//! Settings screen can change them. Same shape as the config file, plus `lock`:
//!
//! ```toml
//! lock = ["mode", "s3.bucket", "upload.concurrency"]
//! mode = "direct"
//! [s3]
//! bucket = "catalog"
//! ```
//!
//! A locked setting the policy gives no value keeps its default.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Names another policy file, in debug builds only (tests): a user cannot step around the
/// admin's policy in the builds staff run.
pub const ENV_POLICY: &str = "CATALOG_UPLOADER_POLICY";

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Policy {
    pub path: PathBuf,
    /// The settings it sets, shaped like the config file.
    pub table: toml::Table,
    /// Dotted setting names (`s3.bucket`) nobody else may change.
    pub locked: Vec<String>,
}

/// The per-OS place an admin puts the policy. On Windows the ProgramData folder comes from
/// the known-folder API, never from the `ProgramData` variable, which the user can change.
pub fn policy_path() -> PathBuf {
    if cfg!(windows) {
        program_data()
            .unwrap_or_else(|| PathBuf::from("C:\\ProgramData"))
            .join("Catalog Uploader")
            .join("policy.toml")
    } else if cfg!(target_os = "macos") {
        PathBuf::from("/Library/Application Support/Catalog Uploader/policy.toml")
    } else {
        PathBuf::from("/etc/catalog-uploader/policy.toml")
    }
}

/// FOLDERID_ProgramData as the system knows it.
#[cfg(windows)]
fn program_data() -> Option<PathBuf> {
    use std::os::windows::ffi::OsStringExt as _;
    use windows_sys::Win32::System::Com::CoTaskMemFree;
    use windows_sys::Win32::UI::Shell::{FOLDERID_ProgramData, SHGetKnownFolderPath};
    let mut wide: windows_sys::core::PWSTR = std::ptr::null_mut();
    // SAFETY: the GUID is a static; on success `wide` is a NUL-terminated string the shell
    // allocated, read once and freed with CoTaskMemFree (which also takes the null of a failure).
    unsafe {
        let status =
            SHGetKnownFolderPath(&FOLDERID_ProgramData, 0, std::ptr::null_mut(), &mut wide);
        let path = (status == 0 && !wide.is_null()).then(|| {
            let len = (0..).take_while(|&i| *wide.add(i) != 0).count();
            PathBuf::from(std::ffi::OsString::from_wide(std::slice::from_raw_parts(
                wide, len,
            )))
        });
        CoTaskMemFree(wide as *const _);
        path
    }
}

#[cfg(not(windows))]
fn program_data() -> Option<PathBuf> {
    None
}

/// The policy in force, if there is one. Only a file that is certainly not there means none:
/// one that cannot be looked at, read or parsed is an error naming it (fail closed), or a user
/// could switch the admin's policy off by making it unreadable.
pub fn read_policy(env: &dyn Fn(&str) -> Option<String>) -> Result<Option<Policy>> {
    let path = match env(ENV_POLICY).filter(|_| cfg!(debug_assertions)) {
        Some(named) => PathBuf::from(named),
        None => policy_path(),
    };
    match std::fs::metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::config(
            path.display().to_string(),
            format!("cannot check the admin's policy file: {e}"),
        )),
        Ok(_) => read(&path).map(Some),
    }
}

fn read(path: &Path) -> Result<Policy> {
    let setting = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::config(
            &setting,
            format!("cannot read the admin's policy file: {e}"),
        )
    })?;
    let mut table: toml::Table = toml::from_str(&text)
        .map_err(|e| Error::config(&setting, format!("invalid admin's policy file: {e}")))?;
    let locked = match table.remove("lock") {
        None => Vec::new(),
        Some(toml::Value::Array(names)) => names
            .into_iter()
            .map(|n| match n {
                toml::Value::String(name) => Ok(name),
                other => Err(Error::config(
                    format!("{setting}: lock"),
                    format!("`{other}` is not a setting name such as \"s3.bucket\""),
                )),
            })
            .collect::<Result<_>>()?,
        Some(other) => {
            return Err(Error::config(
                format!("{setting}: lock"),
                format!("`{other}` is not a list of setting names"),
            ));
        }
    };
    Ok(Policy {
        path: path.to_path_buf(),
        table,
        locked,
    })
}

/// `table` with `policy` laid over it (tables merged, other values replaced), and locked
/// settings the policy leaves unset taken out of `table`, so they keep their defaults.
pub fn apply(mut table: toml::Table, policy: &Policy) -> toml::Table {
    for name in &policy.locked {
        remove(&mut table, name);
    }
    merge(&mut table, &policy.table);
    table
}

fn merge(into: &mut toml::Table, over: &toml::Table) {
    for (key, value) in over {
        match (into.get_mut(key), value) {
            (Some(toml::Value::Table(inner)), toml::Value::Table(over_inner)) => {
                merge(inner, over_inner)
            }
            _ => {
                into.insert(key.clone(), value.clone());
            }
        }
    }
}

fn remove(table: &mut toml::Table, dotted: &str) {
    match dotted.split_once('.') {
        None => {
            table.remove(dotted);
        }
        Some((head, rest)) => {
            if let Some(toml::Value::Table(inner)) = table.get_mut(head) {
                remove(inner, rest);
            }
        }
    }
}

/// The value at a dotted name in a config serialised as TOML.
pub fn lookup<'a>(table: &'a toml::Table, dotted: &str) -> Option<&'a toml::Value> {
    match dotted.split_once('.') {
        None => table.get(dotted),
        Some((head, rest)) => match table.get(head) {
            Some(toml::Value::Table(inner)) => lookup(inner, rest),
            _ => None,
        },
    }
}
