//! The OS keyring, where the workstation's secrets live: Windows Credential Manager, the macOS
//! Keychain, and on Linux the Secret Service, or the kernel's keyutils store where no Secret
//! Service answers (a headless box, a minimal desktop). Which one is chosen once per process.

use std::sync::OnceLock;

use keyring::credential::CredentialBuilder;

use super::SecretStore;

/// The keyring service every secret of the app is filed under.
const KEYRING_SERVICE: &str = "catalog-uploader";

/// Files the app's secrets under another keyring service, so tests never touch a developer's
/// real entries. Read only by debug builds: a release build's secrets have one home.
pub const ENV_KEYRING_SERVICE: &str = "CATALOG_UPLOADER_KEYRING_SERVICE";

/// Readies the keyring for this process; call first thing in `main`, before any thread starts.
///
/// On Linux, a process started outside a login session (a service, CI, a remote shell without
/// `pam_keyinit`) has no session keyring of its own, and keyutils then refuses to link keys
/// into the user's persistent keyring, which is what carries them from one process to the
/// next. Such a process joins a fresh session keyring, inherited by the threads it starts.
pub fn prepare_keyring() {
    #[cfg(target_os = "linux")]
    {
        const KEYCTL_GET_KEYRING_ID: libc::c_long = 0;
        const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
        const KEY_SPEC_SESSION_KEYRING: libc::c_long = -3;
        const KEY_SPEC_USER_SESSION_KEYRING: libc::c_long = -5;
        // SAFETY: keyctl with integer arguments and a null name only looks up keyrings or
        // gives this thread a new, empty session keyring.
        unsafe {
            let id = |spec: libc::c_long| {
                libc::syscall(
                    libc::SYS_keyctl,
                    KEYCTL_GET_KEYRING_ID,
                    spec,
                    0 as libc::c_long,
                )
            };
            let session = id(KEY_SPEC_SESSION_KEYRING);
            if session >= 0 && session == id(KEY_SPEC_USER_SESSION_KEYRING) {
                libc::syscall(
                    libc::SYS_keyctl,
                    KEYCTL_JOIN_SESSION_KEYRING,
                    std::ptr::null::<libc::c_char>(),
                );
            }
        }
    }
}

/// The OS keyring.
pub struct OsKeyring;

/// The store this process uses, and its name in plain words.
struct Chosen {
    builder: Box<CredentialBuilder>,
    name: &'static str,
    /// Whether what is stored survives a reboot.
    lasting: bool,
}

fn service() -> String {
    std::env::var(ENV_KEYRING_SERVICE)
        .ok()
        .filter(|s| cfg!(debug_assertions) && !s.trim().is_empty())
        .unwrap_or_else(|| KEYRING_SERVICE.to_string())
}

fn chosen() -> &'static Chosen {
    static CHOSEN: OnceLock<Chosen> = OnceLock::new();
    CHOSEN.get_or_init(|| {
        let chosen = choose();
        tracing::info!(store = chosen.name, "keyring");
        chosen
    })
}

#[cfg(target_os = "linux")]
fn choose() -> Chosen {
    // The Secret Service keeps secrets across reboots; keyutils only in kernel memory. Ask the
    // Secret Service for an entry: "no such entry" means it answers.
    let secret_service = keyring::secret_service::default_credential_builder();
    let answers = secret_service
        .build(None, &service(), "probe")
        .and_then(|c| c.get_password())
        .map_or_else(|e| matches!(e, keyring::Error::NoEntry), |_| true);
    if answers {
        Chosen {
            builder: secret_service,
            name: "the Secret Service",
            lasting: true,
        }
    } else {
        Chosen {
            builder: keyring::keyutils::default_credential_builder(),
            name: "the kernel keyring (keyutils)",
            lasting: false,
        }
    }
}

#[cfg(target_os = "windows")]
fn choose() -> Chosen {
    Chosen {
        builder: keyring::windows::default_credential_builder(),
        name: "Windows Credential Manager",
        lasting: true,
    }
}

#[cfg(target_os = "macos")]
fn choose() -> Chosen {
    Chosen {
        builder: keyring::macos::default_credential_builder(),
        name: "the macOS Keychain",
        lasting: true,
    }
}

#[cfg(not(any(target_os = "linux", target_os = "windows", target_os = "macos")))]
fn choose() -> Chosen {
    Chosen {
        builder: keyring::mock::default_credential_builder(),
        name: "no keyring (this OS has none the app knows; nothing is kept)",
        lasting: false,
    }
}

impl OsKeyring {
    fn entry(name: &str) -> std::result::Result<keyring::Entry, String> {
        let credential = chosen()
            .builder
            .build(None, &service(), name)
            .map_err(|e| e.to_string())?;
        Ok(keyring::Entry::new_with_credential(credential))
    }

    /// Which store holds the secrets, in plain words, with a warning when it forgets them
    /// at reboot.
    pub fn describe() -> String {
        let chosen = chosen();
        if chosen.lasting {
            chosen.name.to_string()
        } else {
            format!(
                "{} (kept in memory only: lost at reboot; install a Secret Service such as \
                 gnome-keyring for lasting storage)",
                chosen.name
            )
        }
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
