//! Secrets the settings refer to but never hold, so they are never written to the config
//! file, shown in a window or logged. Direct mode's AWS keys and the backend token live in the
//! OS keyring ([`super::OsKeyring`]); the environment can override the token, for scripts and
//! CI, and the AWS chain stands in for keys the keyring lacks.

use crate::{Error, Result};

/// The workstation's backend token, when set in the environment (it wins over the keyring).
pub const ENV_BACKEND_TOKEN: &str = "CATALOG_UPLOADER_BACKEND_TOKEN";

/// The keyring entry of the backend token.
pub const BACKEND_TOKEN_ENTRY: &str = "backend-token";
/// The keyring entry of direct mode's AWS keys: one entry, so the id and the secret are
/// always set and cleared together.
pub const AWS_KEYS_ENTRY: &str = "aws-keys";

/// Where secrets are kept. Errors are in plain words.
pub trait SecretStore {
    fn get(&self, name: &str) -> std::result::Result<Option<String>, String>;
    fn set(&self, name: &str, value: &str) -> std::result::Result<(), String>;
    /// Whether there was one to delete.
    fn delete(&self, name: &str) -> std::result::Result<bool, String>;
}

/// Direct mode's AWS keys as the keyring holds them. Debug output hides the secret.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AwsKeys {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for AwsKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsKeys")
            .field(
                "access_key_id",
                &crate::transport::mask(&self.access_key_id),
            )
            .field("secret_access_key", &"…")
            .finish()
    }
}

impl AwsKeys {
    /// Checks what an admin typed or piped: both present, neither with inner blanks (a
    /// pasted line break or a key pasted twice).
    pub fn new(access_key_id: &str, secret_access_key: &str) -> Result<Self> {
        let check = |name: &str, value: &str| -> Result<String> {
            let value = value.trim();
            if value.is_empty() {
                return Err(Error::config(name, "is empty"));
            }
            if value.chars().any(char::is_whitespace) {
                return Err(Error::config(
                    name,
                    "holds a space or line break: paste the key alone",
                ));
            }
            Ok(value.to_string())
        };
        Ok(Self {
            access_key_id: check("access key id", access_key_id)?,
            secret_access_key: check("secret access key", secret_access_key)?,
        })
    }

    /// Stores the keys in `store`, replacing any.
    pub fn store(&self, store: &dyn SecretStore) -> Result<()> {
        let value = serde_json::to_string(self)
            .map_err(|e| Error::config(AWS_KEYS_ENTRY, e.to_string()))?;
        store
            .set(AWS_KEYS_ENTRY, &value)
            .map_err(|e| Error::config(AWS_KEYS_ENTRY, format!("the keyring refused them: {e}")))
    }

    /// The keys `store` holds, if any.
    pub fn stored(store: &dyn SecretStore) -> Result<Option<Self>> {
        let value = store.get(AWS_KEYS_ENTRY).map_err(|e| {
            Error::config(AWS_KEYS_ENTRY, format!("the keyring cannot be read ({e})"))
        })?;
        value
            .map(|v| {
                serde_json::from_str(&v).map_err(|_| {
                    Error::config(
                        AWS_KEYS_ENTRY,
                        "the keyring's entry is not keys this app stored: set them again \
                         with `uploader credentials set`",
                    )
                })
            })
            .transpose()
    }
}

/// Checks the backend token an admin typed or piped, and stores it in `store`.
pub fn store_backend_token(store: &dyn SecretStore, token: &str) -> Result<()> {
    let token = token.trim();
    if token.is_empty() || token.chars().any(char::is_whitespace) {
        return Err(Error::config(
            BACKEND_TOKEN_ENTRY,
            "is empty or holds a space: paste the token `uploader-backend token create` printed",
        ));
    }
    store
        .set(BACKEND_TOKEN_ENTRY, token)
        .map_err(|e| Error::config(BACKEND_TOKEN_ENTRY, format!("the keyring refused it: {e}")))
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
                 `uploader credentials set --token` (or `uploader token set`), or set \
                 CATALOG_UPLOADER_BACKEND_TOKEN"
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

    #[test]
    fn aws_keys_are_stored_as_one_entry_and_read_back() {
        let store = MemoryStore::default();
        assert_eq!(AwsKeys::stored(&store).unwrap(), None);
        let keys = AwsKeys::new(" AKIAIOSFODNN7EXAMPLE\n", "wJalr/K7MDENG+bPxRfiCY\n").unwrap();
        keys.store(&store).unwrap();
        assert_eq!(AwsKeys::stored(&store).unwrap(), Some(keys.clone()));
        assert_eq!(keys.access_key_id, "AKIAIOSFODNN7EXAMPLE");
        let shown = format!("{keys:?}");
        assert!(!shown.contains("wJalr"), "{shown}");
        assert!(shown.contains("AKIA…MPLE"), "{shown}");
    }

    #[test]
    fn unusable_aws_keys_are_refused_naming_which() {
        for (id, secret, named) in [
            ("", "s3cret", "access key id"),
            ("AKIA", "  ", "secret access key"),
            ("AKIA AKIA", "s3cret", "access key id"),
            ("AKIA", "s3c\nret", "secret access key"),
        ] {
            let e = AwsKeys::new(id, secret).unwrap_err().to_string();
            assert!(e.contains(named), "{id:?}/{secret:?}: {e}");
        }
    }

    #[test]
    fn a_foreign_or_unreadable_keyring_entry_is_an_error_not_missing_keys() {
        let store = MemoryStore::default();
        store.set(AWS_KEYS_ENTRY, "AKIA:s3cr3tvalue").unwrap();
        let e = AwsKeys::stored(&store).unwrap_err().to_string();
        assert!(e.contains("uploader credentials set"), "{e}");
        assert!(!e.contains("s3cr3tvalue"), "{e}");
        let broken = MemoryStore(Mutex::default(), Some("no Secret Service on D-Bus".into()));
        let e = AwsKeys::stored(&broken).unwrap_err().to_string();
        assert!(e.contains("no Secret Service on D-Bus"), "{e}");
    }
}
