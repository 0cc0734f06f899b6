//! `uploader credentials set|clear`: secrets go from the terminal or a pipe straight into the
//! OS keyring, never through the command line, a file of ours or the output.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use uploader_core::config::{
    AWS_KEYS_ENTRY, AwsKeys, BACKEND_TOKEN_ENTRY, OsKeyring, SecretStore, store_backend_token,
};

/// Reads secrets from the terminal (prompting, the secret unechoed) or one per line from a pipe.
struct Input {
    terminal: bool,
    lines: std::io::Lines<std::io::StdinLock<'static>>,
}

impl Input {
    fn new() -> Self {
        let stdin = std::io::stdin();
        Self {
            terminal: stdin.is_terminal(),
            lines: stdin.lock().lines(),
        }
    }

    /// The next answer; `hidden` ones are not echoed on a terminal.
    fn ask(&mut self, prompt: &str, hidden: bool) -> anyhow::Result<String> {
        if self.terminal {
            if hidden {
                return Ok(rpassword::prompt_password(format!("{prompt}: "))?);
            }
            eprint!("{prompt}: ");
            std::io::stderr().flush()?;
        }
        match self.lines.next() {
            Some(line) => Ok(line?),
            None => anyhow::bail!(
                "standard input ended before the {prompt}: pipe one value per line \
                 (`uploader credentials set < keys.txt`) or run it in a terminal"
            ),
        }
    }
}

/// Stores the AWS keys, or the backend token when `token`.
pub fn set(token: bool) -> anyhow::Result<ExitCode> {
    let mut input = Input::new();
    let store = OsKeyring;
    if token {
        let value = input.ask("backend token", true)?;
        store_backend_token(&store, &value)?;
        eprintln!("the backend token is stored in {}", OsKeyring::describe());
    } else {
        let id = input.ask("AWS access key id", false)?;
        let secret = input.ask("AWS secret access key", true)?;
        let keys = AwsKeys::new(&id, &secret)?;
        keys.store(&store)?;
        eprintln!(
            "AWS key {} is stored in {}; `uploader credentials test` tries it",
            uploader_core::transport::mask(&keys.access_key_id),
            OsKeyring::describe()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Removes the AWS keys and the backend token.
pub fn clear() -> anyhow::Result<ExitCode> {
    for (entry, what) in [
        (AWS_KEYS_ENTRY, "the AWS keys"),
        (BACKEND_TOKEN_ENTRY, "the backend token"),
    ] {
        clear_one(entry, what)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Removes one secret, saying whether there was one.
pub fn clear_one(entry: &str, what: &str) -> anyhow::Result<()> {
    let removed = OsKeyring
        .delete(entry)
        .map_err(|e| anyhow::anyhow!("cannot reach the keyring: {e}"))?;
    if removed {
        eprintln!("{what}: removed from the keyring");
    } else {
        eprintln!("{what}: the keyring held none");
    }
    Ok(())
}
