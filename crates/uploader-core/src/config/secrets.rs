//! Secrets the settings refer to but never hold, so they are never written to the config
//! file, shown in a window or logged.

use crate::{Error, Result};

/// The workstation's backend token, for backend mode.
pub const ENV_BACKEND_TOKEN: &str = "CATALOG_UPLOADER_BACKEND_TOKEN";

/// The backend token from the environment. `env` reads a variable.
pub fn backend_token(env: &dyn Fn(&str) -> Option<String>) -> Result<String> {
    env(ENV_BACKEND_TOKEN)
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            Error::config(
                ENV_BACKEND_TOKEN,
                "backend mode needs this workstation's token: ask an admin for one \
                 (`uploader-backend token create --name <workstation>`) and set \
                 CATALOG_UPLOADER_BACKEND_TOKEN",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_blank_token_names_the_variable() {
        for value in [None, Some("  ")] {
            let e = backend_token(&|_| value.map(str::to_string)).unwrap_err();
            assert!(e.to_string().contains(ENV_BACKEND_TOKEN), "{e}");
        }
        assert_eq!(backend_token(&|_| Some(" cu_x \n".into())).unwrap(), "cu_x");
    }
}
