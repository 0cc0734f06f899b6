//! The support bundle: one text file an admin can send, written by `uploader doctor` and the
//! app's Settings. It says what support asks first (versions, settings and where each came
//! from, credentials, queue and outbox, the connection test, recent log lines) and holds no
//! secret: settings hold none by design, credentials are masked, and every secret this process
//! can find (keyring, environment) is cut out of the text before it is written.

use std::fmt::Write as _;

use crate::Uploader;
use crate::config::{
    AwsKeys, BACKEND_TOKEN_ENTRY, ConfigOverrides, ENV_BACKEND_TOKEN, OsKeyring, SecretStore,
    explain,
};
use crate::transport::CredentialStatus;

/// Log lines the bundle carries.
const LOG_LINES: usize = 300;

/// What stands where a secret was.
const REMOVED: &str = "[secret removed]";

/// `text` with every occurrence of each secret (shorter than 6 characters: too likely to be
/// ordinary text, and too weak to matter) replaced, and every presigned URL's signature
/// removed whether or not this process knows the keys that made it.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = super::without_signatures(text);
    for secret in secrets.iter().filter(|s| s.len() >= 6) {
        out = out.replace(secret.as_str(), REMOVED);
    }
    out
}

/// The secrets this process can know of: the keyring's and the environment's.
fn known_secrets() -> Vec<String> {
    let mut secrets: Vec<String> = [
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        ENV_BACKEND_TOKEN,
    ]
    .iter()
    .filter_map(|k| std::env::var(k).ok())
    .collect();
    if let Ok(Some(keys)) = AwsKeys::stored(&OsKeyring) {
        secrets.push(keys.secret_access_key);
    }
    if let Ok(Some(token)) = OsKeyring.get(BACKEND_TOKEN_ENTRY) {
        secrets.push(token.trim().to_string());
    }
    secrets
}

/// Where the app writes a support bundle: the Downloads folder, else home.
pub fn bundle_folder() -> Option<std::path::PathBuf> {
    let user = directories::UserDirs::new()?;
    Some(
        user.download_dir()
            .unwrap_or_else(|| user.home_dir())
            .to_path_buf(),
    )
}

/// `YYYYMMDD-HHMMSS` in UTC, for file names.
pub fn utc_stamp(at: std::time::SystemTime) -> String {
    let secs = at
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// A URL with any `user:password@` taken out.
fn without_userinfo(value: &str) -> String {
    let Some((scheme, rest)) = value.split_once("://") else {
        return value.to_string();
    };
    let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
    match authority.rfind('@') {
        Some(at) => format!("{scheme}://{REMOVED}@{}", &rest[at + 1..]),
        None => value.to_string(),
    }
}

/// The bundle's start: versions, the system, each setting and where it came from.
fn head(program: &str, flags: &ConfigOverrides) -> String {
    let mut out = String::new();
    let now = std::time::SystemTime::now();
    let _ = writeln!(out, "# Catalog Uploader support bundle\n");
    let _ = writeln!(out, "written:  {}", httpdate::fmt_http_date(now));
    let _ = writeln!(out, "program:  {program}");
    let _ = writeln!(out, "core:     {}", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(
        out,
        "system:   {} {} ({})",
        std::env::consts::OS,
        std::env::consts::ARCH,
        os_release()
    );

    let _ = writeln!(out, "\n## Settings (value, and where it came from)\n");
    match explain(flags, &|k| std::env::var(k).ok()) {
        Ok(settings) => {
            for s in settings {
                let value = without_userinfo(&s.value);
                let _ = writeln!(out, "{} = {value}    # {}", s.name, s.source);
            }
        }
        Err(e) => {
            let _ = writeln!(out, "cannot be read: {e}");
        }
    }

    out
}

/// The bundle's end: recent log lines.
fn tail(out: &mut String) {
    let log_dir = super::log_dir();
    let _ = writeln!(out, "\n## Recent log lines\n");
    match log_dir.as_deref() {
        Some(dir) => {
            let _ = writeln!(out, "from {}\n", dir.display());
            for line in super::recent_lines(dir, LOG_LINES) {
                let _ = writeln!(out, "{line}");
            }
        }
        None => {
            let _ = writeln!(out, "no log folder");
        }
    }
}

/// The bundle of a workstation whose settings or database cannot be opened: what is known,
/// and why the rest is not.
pub fn support_bundle_unopened(program: &str, flags: &ConfigOverrides, why: &str) -> String {
    let mut out = head(program, flags);
    let _ = writeln!(out, "\n## Credentials\n");
    let _ = writeln!(out, "keyring:  {}", OsKeyring::describe());
    let _ = writeln!(out, "\n## Not opened\n");
    let _ = writeln!(out, "{why}");
    tail(&mut out);
    redact(&out, &known_secrets())
}

impl Uploader {
    /// The support bundle's text. `program` names the front end and its version; `flags` are
    /// its command-line settings, so that each setting's source is told right.
    pub async fn support_bundle(&self, program: &str, flags: &ConfigOverrides) -> String {
        let mut out = head(program, flags);
        let _ = writeln!(out, "\n## Credentials\n");
        let _ = writeln!(out, "keyring:  {}", OsKeyring::describe());
        let _ = match self.credentials().await {
            CredentialStatus::Configured { detail } => {
                writeln!(out, "status:   configured, {detail}")
            }
            CredentialStatus::Missing { reason } => {
                writeln!(out, "status:   not configured: {reason}")
            }
        };

        let _ = writeln!(out, "\n## Queue\n");
        match self.store.job_counts() {
            Ok(counts) if counts.is_empty() => {
                let _ = writeln!(out, "no jobs");
            }
            Ok(counts) => {
                for (state, n) in counts {
                    let _ = writeln!(out, "{state}: {n}");
                }
            }
            Err(e) => {
                let _ = writeln!(out, "cannot read the database: {e}");
            }
        }

        let _ = writeln!(out, "\n## Deletion outbox\n");
        match self.backlog().await {
            Ok(b) => {
                let l = &b.local;
                let _ = writeln!(
                    out,
                    "here: {} pending, {} sending, {} synced, {} done, {} dead (backlog {}, alert above {}{})",
                    l.pending,
                    l.sending,
                    l.synced,
                    l.done,
                    l.dead,
                    b.local_backlog,
                    b.alert_threshold,
                    if b.alert { ": ALERT" } else { "" }
                );
                if let Some(up) = &b.upstream {
                    let _ = writeln!(out, "backend queue: {up:?}");
                }
                if let Some(e) = &b.upstream_error {
                    let _ = writeln!(out, "backend queue: not read: {e}");
                }
            }
            Err(e) => {
                let _ = writeln!(out, "cannot read the outbox: {e}");
            }
        }

        let _ = writeln!(out, "\n## Connection test\n");
        let report = self.test_connection().await;
        let _ = writeln!(out, "{} (probe {})", report.destination, report.key);
        for step in &report.steps {
            let _ = writeln!(
                out,
                "{} {} ({} ms) {}",
                if step.failure.is_none() {
                    "ok  "
                } else {
                    "FAIL"
                },
                step.name,
                step.millis,
                step.note
            );
        }
        if let Some(d) = report.diagnosis() {
            let _ = writeln!(
                out,
                "diagnosis: {} ({}): {}. {}",
                d.problem, d.cause, d.fix, d.detail
            );
        }

        tail(&mut out);
        redact(&out, &known_secrets())
    }
}

/// The distribution's name on Linux, else nothing more than the OS family.
fn os_release() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        })
        .unwrap_or_else(|| std::env::consts::FAMILY.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_cut_out_wherever_they_appear() {
        let text = "key=wJalrXUtnFEMI token=cu_0123456789 again wJalrXUtnFEMI short=abc";
        let secrets = vec!["wJalrXUtnFEMI".into(), "cu_0123456789".into(), "abc".into()];
        assert_eq!(
            redact(text, &secrets),
            "key=[secret removed] token=[secret removed] again [secret removed] short=abc"
        );
    }

    #[test]
    fn presigned_urls_are_cut_from_a_bundle_even_when_the_keys_are_unknown() {
        let text = "log: cannot reach S3: error sending request for url \
                    (http://127.0.0.1:1/bucket/products/SKU1/a.jpg?X-Amz-Credential=AKIA%2Fx\
                    &X-Amz-Security-Token=tok&X-Amz-Signature=0123abcdef)\n\
                    copied by hand: X-Amz-Signature=fedcba9876";
        let out = redact(text, &[]);
        for leaked in [
            "X-Amz-Credential=AKIA",
            "tok",
            "0123abcdef",
            "fedcba9876",
            "?",
        ] {
            assert!(!out.contains(leaked), "{leaked} in {out}");
        }
        assert!(
            out.contains("http://127.0.0.1:1/bucket/products/SKU1/a.jpg)"),
            "{out}"
        );
    }

    #[test]
    fn a_url_loses_its_user_and_password() {
        for (url, shown) in [
            (
                "https://admin:hunter2@backend.example.com/v1",
                "https://[secret removed]@backend.example.com/v1",
            ),
            ("http://127.0.0.1:8333", "http://127.0.0.1:8333"),
            ("https://example.com/a@b", "https://example.com/a@b"),
            ("products/", "products/"),
        ] {
            assert_eq!(without_userinfo(url), shown, "{url}");
        }
    }

    #[test]
    fn stamps_are_utc_calendar_times() {
        use std::time::{Duration, UNIX_EPOCH};
        for (secs, stamp) in [
            (0, "19700101-000000"),
            (951_782_400, "20000229-000000"),
            (1_795_945_962, "20261129-095242"),
        ] {
            assert_eq!(utc_stamp(UNIX_EPOCH + Duration::from_secs(secs)), stamp);
        }
    }
}
