//! Secrets the settings refer to but never hold, so they are never written to the config
//! file, shown in a window or logged. The backend token lives in the OS keyring (Windows
//! Credential Manager, macOS Keychain, the Secret Service on Linux); the environment can
//! override it, for scripts and CI.

use crate::{Error, Result};

/// The workstation's backend token, when set in the environment (it wins over the keyring).
pub const ENV_BACKEND_TOKEN: &str = "CATALOG_UPLOADER_BACKEND_TOKEN";

/// The keyring service every secret of the app is filed under.
const KEYRING_SERVICE: &str = "catalog-uploader";
/// The keyring entry of the backend token.
pub const BACKEND_TOKEN_ENTRY: &str = "backend-token";

/// Where secrets are kept. Errors are in plain words.
pub trait SecretStore {
    fn get(&self, name: &str) -> std::result::Result<Option<String>, String>;
    fn set(&self, name: &str, value: &str) -> std::result::Result<(), String>;
    /// Whether there was one to delete.
    fn delete(&self, name: &str) -> std::result::Result<bool, String>;
}

/// The OS keyring.
pub struct OsKeyring;

impl OsKeyring {
    fn entry(name: &str) -> std::result::Result<keyring::Entry, String> {
        keyring::Entry::new(KEYRING_SERVICE, name).map_err(|e| e.to_string())
    }
}

impl SecretStore for OsKeyring {
    fn get(&self, name: &str) -> std::result::Result<Option<String>, String> {
        match Self::entry(name)?.get_password() {
            Ok(value) => Ok(Some(value)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    fn set(&self, name: &str, value: &str) -> std::result::Result<(), String> {
        Self::entry(name)?
            .set_password(value)
            .map_err(|e| e.to_string())
    }

    fn delete(&self, name: &str) -> std::result::Result<bool, String> {
        match Self::entry(name)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// The backend token: from the environment if set there, else from `store`.
pub fn backend_token(
    env: &dyn Fn(&str) -> Option<String>,
    store: &dyn SecretStore,
) -> Result<String> {
    if let Some(token) = env(ENV_BACKEND_TOKEN)
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
    {
        return Ok(token);
    }
    let missing = |why: String| {
        Error::config(
            ENV_BACKEND_TOKEN,
            format!(
                "backend mode needs this workstation's token, and {why}: ask an admin for one \
                 (`uploader-backend token create --name <workstation>`) and store it with \
                 `uploader token set`, or set CATALOG_UPLOADER_BACKEND_TOKEN"
            ),
        )
    };
    match store.get(BACKEND_TOKEN_ENTRY) {
        Ok(Some(token)) if !token.trim().is_empty() => Ok(token.trim().to_string()),
        Ok(_) => Err(missing("the keyring holds none".into())),
        Err(e) => Err(missing(format!("the keyring cannot be read ({e})"))),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use super::*;

    /// Secrets in memory, for tests.
    #[derive(Default)]
    struct MemoryStore(Mutex<HashMap<String, String>>, Option<String>);

    impl SecretStore for MemoryStore {
        fn get(&self, name: &str) -> std::result::Result<Option<String>, String> {
            if let Some(e) = &self.1 {
                return Err(e.clone());
            }
            Ok(self.0.lock().unwrap().get(name).cloned())
        }
        fn set(&self, name: &str, value: &str) -> std::result::Result<(), String> {
            self.0.lock().unwrap().insert(name.into(), value.into());
            Ok(())
        }
        fn delete(&self, name: &str) -> std::result::Result<bool, String> {
            Ok(self.0.lock().unwrap().remove(name).is_some())
        }
    }

    #[test]
    fn the_token_comes_from_the_environment_first_then_the_keyring() {
        let store = MemoryStore::default();
        store.set(BACKEND_TOKEN_ENTRY, " cu_keyring \n").unwrap();
        let from_env = |_: &str| Some("cu_env".to_string());
        assert_eq!(backend_token(&from_env, &store).unwrap(), "cu_env");
        let blank_env = |_: &str| Some("  ".to_string());
        assert_eq!(backend_token(&blank_env, &store).unwrap(), "cu_keyring");
    }

    #[test]
    fn no_token_anywhere_names_the_variable_and_the_command() {
        let nothing = |_: &str| None;
        let empty = MemoryStore::default();
        let broken = MemoryStore(Mutex::default(), Some("no Secret Service on D-Bus".into()));
        for (store, why) in [
            (&empty, "holds none"),
            (&broken, "no Secret Service on D-Bus"),
        ] {
            let e = backend_token(&nothing, store).unwrap_err().to_string();
            assert!(e.contains(ENV_BACKEND_TOKEN), "{e}");
            assert!(e.contains("uploader token set"), "{e}");
            assert!(e.contains(why), "{e}");
        }
    }
}
