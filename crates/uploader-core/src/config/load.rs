//! Layering: defaults, then the TOML file, then the environment, then flags; later wins.

use std::path::{Path, PathBuf};

use super::policy::{apply, lookup, read_policy};
use super::{AppDirs, Config, Mode};
use crate::{Error, Result};

/// Names the config file instead of the per-OS default.
pub const ENV_CONFIG: &str = "CATALOG_UPLOADER_CONFIG";
/// Where the database and staged files live.
pub const ENV_DATA_DIR: &str = "CATALOG_UPLOADER_DATA_DIR";
/// `true`/`false`: path-style addressing, for S3-compatible servers.
pub const ENV_PATH_STYLE: &str = "CATALOG_UPLOADER_S3_PATH_STYLE";
/// The key prefix, `products/` by default.
pub const ENV_KEY_PREFIX: &str = "CATALOG_UPLOADER_KEY_PREFIX";

/// `direct` or `backend`.
pub const ENV_MODE: &str = "CATALOG_UPLOADER_MODE";
/// The backend's address, for backend mode.
pub const ENV_BACKEND_URL: &str = "CATALOG_UPLOADER_BACKEND_URL";

/// What flags say; `None` leaves the layer below in force.
#[derive(Debug, Clone, Default)]
pub struct ConfigOverrides {
    pub config_file: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub bucket: Option<String>,
    pub region: Option<String>,
    pub endpoint: Option<String>,
    pub prefix: Option<String>,
    pub path_style: Option<bool>,
    pub mode: Option<Mode>,
    pub backend_url: Option<String>,
}

/// Builds the effective config. `env` reads a variable; pass `|k| std::env::var(k).ok()`.
/// The result is not validated, so that a window can open and say what is missing.
pub fn load(flags: &ConfigOverrides, env: &dyn Fn(&str) -> Option<String>) -> Result<Config> {
    let layers = layers(flags, env)?;
    finish(layers)
}

/// Where an effective value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    File(PathBuf),
    /// The admin's policy file; `locked` when nothing else may change it.
    Policy {
        path: PathBuf,
        locked: bool,
    },
    Environment,
    Flag,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Default => write!(f, "default"),
            Source::File(path) => write!(f, "config file {}", path.display()),
            Source::Policy { path, locked } => write!(
                f,
                "admin's policy {}{}",
                path.display(),
                if *locked { ", locked" } else { "" }
            ),
            Source::Environment => write!(f, "environment"),
            Source::Flag => write!(f, "flag"),
        }
    }
}

/// One effective setting: its dotted name, its value as the config file would write it, and
/// the layer it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Explained {
    pub name: String,
    pub value: String,
    pub source: Source,
}

/// Every effective setting and where it came from, for `uploader config show`.
pub fn explain(
    flags: &ConfigOverrides,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Explained>> {
    let layers = layers(flags, env)?;
    let stages: Vec<(Source, toml::Table)> = layers
        .stages
        .iter()
        .map(|(source, config)| Ok((source.clone(), to_table(config)?)))
        .collect::<Result<_>>()?;
    let locked = layers
        .policy
        .as_ref()
        .map(|p| p.locked.clone())
        .unwrap_or_default();
    let config = finish(layers)?;
    let mut names = Vec::new();
    leaves(&to_table(&config)?, "", &mut names);
    Ok(names
        .into_iter()
        .map(|(name, value)| {
            // The last layer that changed it; a locked setting is the policy's even at its default.
            let changed_by = stages
                .windows(2)
                .rev()
                .find(|w| lookup(&w[0].1, &name) != lookup(&w[1].1, &name))
                .map(|w| w[1].0.clone());
            let source = match (changed_by, locked.contains(&name), &config.policy) {
                (_, true, Some(path)) => Source::Policy {
                    path: path.clone(),
                    locked: true,
                },
                (Some(source), _, _) => source,
                (None, _, _) => Source::Default,
            };
            Explained {
                name,
                value,
                source,
            }
        })
        .collect())
}

/// Dotted names and displayed values of every leaf; a list of tables (the variants) is one
/// leaf, shown by its names.
fn leaves(table: &toml::Table, prefix: &str, out: &mut Vec<(String, String)>) {
    for (key, value) in table {
        let name = format!("{prefix}{key}");
        match value {
            toml::Value::Table(inner) => leaves(inner, &format!("{name}."), out),
            toml::Value::Array(items) if items.iter().all(toml::Value::is_table) => {
                let names: Vec<String> = items
                    .iter()
                    .map(|i| i.get("name").map_or("?".into(), |n| n.to_string()))
                    .collect();
                out.push((name, format!("[{}]", names.join(", "))));
            }
            other => out.push((name, other.to_string())),
        }
    }
}

/// The config after each layer, in order: defaults, the user's file, the admin's policy, the
/// environment, flags (layers that are absent are left out).
struct Layers {
    stages: Vec<(Source, Config)>,
    policy: Option<super::Policy>,
    dirs: Result<AppDirs>,
}

fn layers(flags: &ConfigOverrides, env: &dyn Fn(&str) -> Option<String>) -> Result<Layers> {
    let env = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    let dirs = AppDirs::detect();
    let mut stages = vec![(Source::Default, Config::default())];

    let named = flags
        .config_file
        .clone()
        .or_else(|| env(ENV_CONFIG).map(PathBuf::from));
    let user_file = match (&named, &dirs) {
        (Some(path), _) => Some(path.clone()),
        (None, Ok(dirs)) if dirs.config_file.exists() => Some(dirs.config_file.clone()),
        _ => None,
    };
    let mut table = match &user_file {
        Some(path) => {
            let table = read_table(path)?;
            let config = table.clone().try_into().map_err(|e: toml::de::Error| {
                Error::config(
                    path.display().to_string(),
                    format!("invalid config file: {e}"),
                )
            })?;
            stages.push((Source::File(path.clone()), config));
            table
        }
        None => toml::Table::new(),
    };
    let policy = read_policy(&env)?;
    if let Some(policy) = &policy {
        table = apply(table, policy);
        let config = table.try_into().map_err(|e: toml::de::Error| {
            Error::config(
                policy.path.display().to_string(),
                format!("invalid settings in the admin's policy: {e}"),
            )
        })?;
        stages.push((
            Source::Policy {
                path: policy.path.clone(),
                locked: false,
            },
            config,
        ));
    }

    let mut config = stages.last().map(|(_, c)| c.clone()).unwrap_or_default();
    let s3 = &mut config.s3;
    let overlay = |slot: &mut String, value: Option<String>| {
        if let Some(v) = value {
            *slot = v;
        }
    };
    overlay(&mut s3.bucket, env("AWS_S3_BUCKET_NAME"));
    overlay(
        &mut s3.region,
        env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION")),
    );
    overlay(&mut s3.prefix, env(ENV_KEY_PREFIX));
    if let Some(e) = env("AWS_ENDPOINT_URL_S3").or_else(|| env("AWS_ENDPOINT_URL")) {
        s3.endpoint = Some(e);
    }
    if let Some(v) = env(ENV_PATH_STYLE) {
        s3.path_style = Some(parse_bool(ENV_PATH_STYLE, &v)?);
    }
    if let Some(mode) = env(ENV_MODE) {
        config.mode = mode.parse()?;
    }
    if let Some(url) = env(ENV_BACKEND_URL) {
        config.backend.url = Some(url);
    }
    if let Some(d) = env(ENV_DATA_DIR) {
        config.data_dir = Some(PathBuf::from(d));
    }
    stages.push((Source::Environment, config.clone()));

    let s3 = &mut config.s3;
    overlay(&mut s3.bucket, flags.bucket.clone());
    overlay(&mut s3.region, flags.region.clone());
    overlay(&mut s3.prefix, flags.prefix.clone());
    if flags.endpoint.is_some() {
        s3.endpoint = flags.endpoint.clone();
    }
    if flags.path_style.is_some() {
        s3.path_style = flags.path_style;
    }
    if flags.data_dir.is_some() {
        config.data_dir = flags.data_dir.clone();
    }
    if let Some(mode) = flags.mode {
        config.mode = mode;
    }
    if flags.backend_url.is_some() {
        config.backend.url = flags.backend_url.clone();
    }
    stages.push((Source::Flag, config));
    Ok(Layers {
        stages,
        policy,
        dirs,
    })
}

/// The last layer's config, checked against the policy's locks and completed.
fn finish(layers: Layers) -> Result<Config> {
    let Layers {
        mut stages,
        policy,
        dirs,
    } = layers;
    // The files' config: the last stage before the environment and flags.
    let from_files = to_table(&stages[stages.len() - 3].1)?;
    let mut config = stages.pop().map(|(_, c)| c).unwrap_or_default();
    if let Some(policy) = &policy {
        let now = to_table(&config)?;
        for name in &policy.locked {
            if lookup(&from_files, name) != lookup(&now, name) {
                return Err(Error::config(
                    name,
                    format!(
                        "locked by the admin's policy ({}): the environment or a flag cannot change it",
                        policy.path.display()
                    ),
                ));
            }
        }
        config.locked = policy.locked.clone();
        config.policy = Some(policy.path.clone());
    }
    let s3 = &mut config.s3;
    if !s3.prefix.is_empty() && !s3.prefix.ends_with('/') {
        s3.prefix.push('/');
    }
    if config.data_dir.is_none() {
        config.data_dir = Some(dirs?.data_dir);
    }
    Ok(config)
}

fn read_table(path: &Path) -> Result<toml::Table> {
    let setting = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::config(&setting, format!("cannot read the config file: {e}")))?;
    toml::from_str(&text).map_err(|e| Error::config(setting, format!("invalid config file: {e}")))
}

fn to_table(config: &Config) -> Result<toml::Table> {
    toml::Table::try_from(config).map_err(|e| Error::config("config", e.to_string()))
}

fn parse_bool(setting: &str, value: &str) -> Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(Error::config(
            setting,
            format!("`{value}` is not true or false"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::config::{ENV_POLICY, Fit};

    fn load_with(flags: &ConfigOverrides, vars: &[(&str, &str)]) -> Result<Config> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        load(flags, &|k| vars.get(k).cloned())
    }

    fn isolated() -> (tempfile::TempDir, ConfigOverrides) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(&file, "").unwrap();
        let flags = ConfigOverrides {
            config_file: Some(file),
            data_dir: Some(dir.path().join("data")),
            ..Default::default()
        };
        (dir, flags)
    }

    #[test]
    fn company_env_names_fill_the_s3_settings() {
        let (_d, flags) = isolated();
        let c = load_with(
            &flags,
            &[
                ("AWS_S3_BUCKET_NAME", "catalog"),
                ("AWS_REGION", "eu-west-1"),
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000"),
            ],
        )
        .unwrap();
        assert_eq!(c.s3.bucket, "catalog");
        assert_eq!(c.s3.region, "eu-west-1");
        assert_eq!(c.s3.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert!(c.s3.uses_path_style());
        assert_eq!(c.s3.prefix, "products/");
    }

    #[test]
    fn flags_beat_env_and_env_beats_the_file() {
        let (dir, mut flags) = isolated();
        let file = dir.path().join("config.toml");
        std::fs::write(
            &file,
            "[s3]\nbucket = \"from-file\"\nregion = \"file-region\"\nprefix = \"file/\"\n",
        )
        .unwrap();
        flags.bucket = Some("from-flag".into());
        let c = load_with(
            &flags,
            &[
                ("AWS_S3_BUCKET_NAME", "from-env"),
                ("AWS_REGION", "env-region"),
            ],
        )
        .unwrap();
        assert_eq!(c.s3.bucket, "from-flag");
        assert_eq!(c.s3.region, "env-region");
        assert_eq!(c.s3.prefix, "file/");
    }

    #[test]
    fn mode_and_backend_come_from_the_environment_then_flags() {
        let (_d, mut flags) = isolated();
        let c = load_with(
            &flags,
            &[
                (ENV_MODE, "backend"),
                (ENV_BACKEND_URL, "http://127.0.0.1:8080"),
            ],
        )
        .unwrap();
        assert_eq!(c.mode, Mode::Backend);
        assert_eq!(c.backend.url.as_deref(), Some("http://127.0.0.1:8080"));
        flags.mode = Some(Mode::Direct);
        let c = load_with(&flags, &[(ENV_MODE, "backend")]).unwrap();
        assert_eq!(c.mode, Mode::Direct);
        let e = load_with(&flags, &[(ENV_MODE, "sideways")]).unwrap_err();
        assert!(e.to_string().contains("mode"), "{e}");
    }

    #[test]
    fn a_prefix_without_slash_gets_one() {
        let (_d, flags) = isolated();
        let c = load_with(&flags, &[(ENV_KEY_PREFIX, "shop")]).unwrap();
        assert_eq!(c.s3.prefix, "shop/");
    }

    #[test]
    fn path_style_switch_is_parsed_or_named_when_wrong() {
        let (_d, flags) = isolated();
        let c = load_with(
            &flags,
            &[
                ("AWS_ENDPOINT_URL", "http://x:1"),
                (ENV_PATH_STYLE, "false"),
            ],
        )
        .unwrap();
        assert!(!c.s3.uses_path_style());
        let err = load_with(&flags, &[(ENV_PATH_STYLE, "maybe")]).unwrap_err();
        assert!(err.to_string().contains(ENV_PATH_STYLE), "{err}");
    }

    #[test]
    fn a_broken_config_file_is_named_with_the_reason() {
        let (dir, flags) = isolated();
        std::fs::write(dir.path().join("config.toml"), "[s3]\nbucket = 3\n").unwrap();
        let err = load_with(&flags, &[]).unwrap_err().to_string();
        assert!(
            err.contains("config.toml") && err.contains("invalid config file"),
            "{err}"
        );
    }

    #[test]
    fn a_named_config_file_that_is_missing_is_an_error() {
        let (dir, mut flags) = isolated();
        flags.config_file = Some(dir.path().join("nope.toml"));
        assert!(load_with(&flags, &[]).is_err());
    }

    #[test]
    fn variants_come_from_the_file() {
        let (dir, flags) = isolated();
        std::fs::write(
            dir.path().join("config.toml"),
            "[[variant]]\nname = \"zoom\"\nlongest_edge = 3000\n[[variant]]\nname = \"card\"\nlongest_edge = 600\nquality = 70\n[[variant]]\nname = \"square\"\nwidth = 1000\nheight = 1000\nfit = \"pad\"\nbackground = \"#f0f0f0\"\n",
        )
        .unwrap();
        let c = load_with(&flags, &[]).unwrap();
        let v: Vec<_> = c
            .variants
            .iter()
            .map(|v| (v.name.as_str(), v.longest_edge, v.quality))
            .collect();
        assert_eq!(v[..2], [("zoom", Some(3000), 85), ("card", Some(600), 70)]);
        let square = &c.variants[2];
        assert_eq!(
            (square.target_box(), square.fit, square.background_rgba()),
            ((1000, 1000), Fit::Pad, [240, 240, 240, 255])
        );
        assert!(c.validate_rendering().is_ok());
    }

    /// The user's file and the admin's policy, in a dir of their own.
    fn with_policy(user: &str, policy: &str) -> (tempfile::TempDir, ConfigOverrides, String) {
        let (dir, flags) = isolated();
        std::fs::write(dir.path().join("config.toml"), user).unwrap();
        let policy_file = dir.path().join("policy.toml");
        std::fs::write(&policy_file, policy).unwrap();
        let named = policy_file.display().to_string();
        (dir, flags, named)
    }

    const POLICY: &str = "lock = [\"s3.bucket\", \"upload.concurrency\", \"limits.max_file_mb\"]\n\
                          [s3]\nbucket = \"catalog\"\nregion = \"eu-west-1\"\n\
                          [upload]\nconcurrency = 4\n";

    #[test]
    fn the_admins_policy_sets_and_locks_settings_over_the_users_file() {
        let user = "[s3]\nbucket = \"mine\"\nregion = \"us-east-1\"\n\
                    [upload]\nconcurrency = 16\n[limits]\nmax_file_mb = 999\n";
        let (_dir, flags, policy) = with_policy(user, POLICY);
        let config = load_with(&flags, &[(ENV_POLICY, &policy)]).unwrap();
        assert_eq!(config.s3.bucket, "catalog");
        assert_eq!(config.upload.concurrency, 4);
        // Locked without a value: the default, whatever the user's file says.
        assert_eq!(
            config.limits.max_file_mb,
            Config::default().limits.max_file_mb
        );
        // Set but not locked: the policy's value, which the environment may still change.
        assert_eq!(config.s3.region, "eu-west-1");
        let moved = load_with(
            &flags,
            &[(ENV_POLICY, &policy), ("AWS_REGION", "eu-central-1")],
        );
        assert_eq!(moved.unwrap().s3.region, "eu-central-1");
        assert_eq!(
            config.locked,
            ["s3.bucket", "upload.concurrency", "limits.max_file_mb"]
        );
    }

    #[test]
    fn a_locked_setting_cannot_be_changed_by_the_environment_or_a_flag() {
        let (_dir, flags, policy) = with_policy("", POLICY);
        let by_env = load_with(
            &flags,
            &[(ENV_POLICY, &policy), ("AWS_S3_BUCKET_NAME", "other")],
        );
        let by_flag = load_with(
            &ConfigOverrides {
                bucket: Some("other".into()),
                ..flags.clone()
            },
            &[(ENV_POLICY, &policy)],
        );
        for refused in [by_env, by_flag] {
            match refused {
                Err(Error::Config { setting, reason }) => {
                    assert_eq!(setting, "s3.bucket");
                    assert!(reason.contains("locked by the admin's policy"), "{reason}");
                    assert!(reason.contains(&policy), "{reason}");
                }
                other => panic!("{other:?}"),
            }
        }
        // The same value is no change.
        let same = load_with(
            &flags,
            &[(ENV_POLICY, &policy), ("AWS_S3_BUCKET_NAME", "catalog")],
        );
        assert_eq!(same.unwrap().s3.bucket, "catalog");
    }

    #[test]
    fn a_broken_policy_file_is_named() {
        for (text, said) in [
            ("lock = \"s3.bucket\"\n", "not a list"),
            ("lock = [3]\n", "not a setting name"),
            ("[s3]\nbucket = 3\n", "admin's policy"),
        ] {
            let (_dir, flags, policy) = with_policy("", text);
            let e = load_with(&flags, &[(ENV_POLICY, &policy)])
                .unwrap_err()
                .to_string();
            assert!(e.contains(said), "{text}: {e}");
        }
    }

    #[test]
    fn a_policy_file_that_cannot_be_checked_read_or_parsed_is_an_error_not_no_policy() {
        let (dir, flags) = isolated();
        let base = dir.path();
        std::fs::write(base.join("a-file"), "").unwrap();
        std::fs::create_dir(base.join("a-folder.toml")).unwrap();
        std::fs::write(base.join("invalid.toml"), "lock = [\n").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(base.join("loop.toml"), base.join("loop.toml")).unwrap();
        let mut cases = vec![
            (base.join("a-file/policy.toml"), "cannot check"),
            (base.join("a-folder.toml"), "cannot read"),
            (base.join("invalid.toml"), "invalid"),
        ];
        if cfg!(unix) {
            cases.push((base.join("loop.toml"), "cannot check"));
        }
        for (path, said) in cases {
            let named = path.display().to_string();
            let e = load_with(&flags, &[(ENV_POLICY, &named)])
                .unwrap_err()
                .to_string();
            assert!(e.contains(&named) && e.contains(said), "{named}: {e}");
        }
        let missing = base.join("none/policy.toml").display().to_string();
        assert!(load_with(&flags, &[(ENV_POLICY, &missing)]).is_ok());
    }

    #[test]
    fn config_show_names_the_layer_each_value_came_from() {
        let (_dir, flags, policy) = with_policy("[s3]\nregion = \"eu-north-1\"\n", POLICY);
        let flags = ConfigOverrides {
            endpoint: Some("http://127.0.0.1:8333".into()),
            ..flags
        };
        let vars: HashMap<String, String> = [
            (ENV_POLICY.to_string(), policy.clone()),
            (ENV_KEY_PREFIX.to_string(), "shop".to_string()),
        ]
        .into();
        let shown = explain(&flags, &|k| vars.get(k).cloned()).unwrap();
        let source = |name: &str| {
            shown
                .iter()
                .find(|s| s.name == name)
                .unwrap_or_else(|| panic!("{name} is not shown"))
                .clone()
        };
        let policy_path = PathBuf::from(&policy);
        assert_eq!(
            source("s3.bucket").source,
            Source::Policy {
                path: policy_path.clone(),
                locked: true
            }
        );
        assert_eq!(source("s3.bucket").value, "\"catalog\"");
        // The policy sets it, unlocked; the user's file said otherwise before it.
        assert_eq!(
            source("s3.region").source,
            Source::Policy {
                path: policy_path.clone(),
                locked: false
            }
        );
        // Locked at its default.
        assert!(matches!(
            source("limits.max_file_mb").source,
            Source::Policy { locked: true, .. }
        ));
        assert_eq!(source("s3.prefix").source, Source::Environment);
        assert_eq!(source("s3.prefix").value, "\"shop/\"");
        assert_eq!(source("s3.endpoint").source, Source::Flag);
        assert_eq!(source("upload.part_size_mb").source, Source::Default);
        assert_eq!(source("variant").value, "[\"large\", \"thumb\"]");
    }
}
