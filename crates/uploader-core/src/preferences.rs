//! The user's own settings (the settings screen): how many uploads at once, a bandwidth cap and
//! which variants the gallery shows. They are kept in the workstation's database over the config
//! file's values, so the app and the CLI on one workstation agree, and a change applies to the
//! uploads already running.

use crate::config::Config;
use crate::{Error, Result, Uploader};

/// Uploads in flight at once: the same bounds as `upload.concurrency`.
pub const CONCURRENCY: std::ops::RangeInclusive<usize> = 1..=64;

#[derive(Debug, Clone, PartialEq)]
pub struct Preferences {
    /// Requests in flight at once.
    pub concurrency: usize,
    /// The upload bandwidth cap in megabytes per second; `None`: no cap.
    pub max_mb_per_second: Option<f64>,
    /// Variants the gallery leaves out, by name; a variant added later is shown.
    pub hidden_variants: Vec<String>,
}

/// The choices in force and whether the user made them (or the config file did).
#[derive(Debug, Clone, PartialEq)]
pub struct EffectivePreferences {
    pub preferences: Preferences,
    pub saved: bool,
    /// Of [`LOCKABLE`], the settings the admin's policy locks.
    pub locked: Vec<String>,
}

/// The settings here an admin's policy can lock.
pub const LOCKABLE: [&str; 2] = ["upload.concurrency", "upload.max_mb_per_second"];

impl Preferences {
    /// What the config file says, before anyone chose otherwise.
    pub fn from_config(config: &Config) -> Self {
        Self {
            concurrency: config.upload.concurrency,
            max_mb_per_second: config.upload.max_mb_per_second,
            hidden_variants: Vec::new(),
        }
    }

    /// Names the setting at fault, as the config file would.
    pub fn validate(&self, config: &Config) -> Result<()> {
        if !CONCURRENCY.contains(&self.concurrency) {
            return Err(Error::config(
                "upload.concurrency",
                format!(
                    "must be between {} and {} uploads at once",
                    CONCURRENCY.start(),
                    CONCURRENCY.end()
                ),
            ));
        }
        if let Some(rate) = self.max_mb_per_second
            && !(rate.is_finite() && rate >= 0.01)
        {
            return Err(Error::config(
                "upload.max_mb_per_second",
                "must be a number of at least 0.01 (megabytes per second), or no limit",
            ));
        }
        if let Some(unknown) = self
            .hidden_variants
            .iter()
            .find(|name| !config.variants.iter().any(|v| &v.name == *name))
        {
            return Err(Error::config(
                "hidden_variants",
                format!("there is no variant `{unknown}`"),
            ));
        }
        if config
            .variants
            .iter()
            .all(|v| self.hidden_variants.contains(&v.name))
        {
            return Err(Error::config(
                "hidden_variants",
                "at least one variant must be shown",
            ));
        }
        Ok(())
    }

    /// These choices with every locked setting at the config's (the policy's) value.
    pub fn within_locks(mut self, config: &Config) -> Self {
        let locked = |name: &str| config.locked.iter().any(|l| l == name);
        if locked("upload.concurrency") {
            self.concurrency = config.upload.concurrency;
        }
        if locked("upload.max_mb_per_second") {
            self.max_mb_per_second = config.upload.max_mb_per_second;
        }
        self
    }

    /// Refuses a change to a locked setting, naming it and the policy.
    fn check_locks(&self, config: &Config) -> Result<()> {
        let held = self.clone().within_locks(config);
        let changed = [
            ("upload.concurrency", held.concurrency != self.concurrency),
            (
                "upload.max_mb_per_second",
                held.max_mb_per_second != self.max_mb_per_second,
            ),
        ];
        match changed.iter().find(|(_, changed)| *changed) {
            Some((name, _)) => Err(Error::config(
                *name,
                format!(
                    "locked by the admin's policy ({}): it cannot be changed here",
                    config
                        .policy
                        .as_ref()
                        .map_or("the policy file".into(), |p| p.display().to_string())
                ),
            )),
            None => Ok(()),
        }
    }

    pub(crate) fn bytes_per_second(&self) -> Option<f64> {
        self.max_mb_per_second.map(|mb| mb * 1_000_000.0)
    }
}

impl Uploader {
    /// The choices in force.
    pub fn preferences(&self) -> Result<EffectivePreferences> {
        let saved = self.store.preferences()?;
        Ok(EffectivePreferences {
            saved: saved.is_some(),
            preferences: saved
                .unwrap_or_else(|| Preferences::from_config(&self.config))
                .within_locks(&self.config),
            locked: LOCKABLE
                .iter()
                .filter(|name| self.config.locked.iter().any(|l| l == *name))
                .map(|name| name.to_string())
                .collect(),
        })
    }

    /// Saves the user's choices and applies them to the uploads running now.
    pub async fn set_preferences(&self, preferences: Preferences) -> Result<EffectivePreferences> {
        preferences.validate(&self.config)?;
        preferences.check_locks(&self.config)?;
        self.store.set_preferences(&preferences)?;
        self.apply(&preferences);
        self.preferences()
    }

    /// Forgets the user's choices: the config file's values hold again.
    pub async fn reset_preferences(&self) -> Result<EffectivePreferences> {
        self.store.clear_preferences()?;
        self.apply(&Preferences::from_config(&self.config));
        self.preferences()
    }

    fn apply(&self, preferences: &Preferences) {
        self.slots.resize(preferences.concurrency);
        self.throttle.set_rate(preferences.bytes_per_second());
        // A larger pool may have work to start now.
        self.wake.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chosen(concurrency: usize, rate: Option<f64>, hidden: &[&str]) -> Preferences {
        Preferences {
            concurrency,
            max_mb_per_second: rate,
            hidden_variants: hidden.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn choices_out_of_bounds_name_their_setting() {
        let config = Config::default();
        let names: Vec<String> = config.variants.iter().map(|v| v.name.clone()).collect();
        let all: Vec<&str> = names.iter().map(String::as_str).collect();
        for (preferences, setting) in [
            (chosen(0, None, &[]), "upload.concurrency"),
            (chosen(65, None, &[]), "upload.concurrency"),
            (chosen(4, Some(0.0), &[]), "upload.max_mb_per_second"),
            (chosen(4, Some(f64::NAN), &[]), "upload.max_mb_per_second"),
            (chosen(4, None, &["poster"]), "hidden_variants"),
            (chosen(4, None, &all), "hidden_variants"),
        ] {
            match preferences.validate(&config) {
                Err(Error::Config { setting: s, .. }) => assert_eq!(s, setting, "{preferences:?}"),
                other => panic!("{preferences:?}: {other:?}"),
            }
        }
        assert!(chosen(1, Some(0.5), &all[1..]).validate(&config).is_ok());
        assert!(chosen(64, None, &[]).validate(&config).is_ok());
    }

    #[test]
    fn a_setting_the_admin_locked_keeps_the_policys_value_and_cannot_be_changed() {
        let mut config = Config::default();
        config.upload.concurrency = 4;
        config.locked = vec!["upload.concurrency".into()];
        config.policy = Some("/etc/catalog-uploader/policy.toml".into());
        // A choice saved before the lock gives way to it.
        let saved = chosen(12, Some(2.0), &[]).within_locks(&config);
        assert_eq!((saved.concurrency, saved.max_mb_per_second), (4, Some(2.0)));
        match chosen(12, None, &[]).check_locks(&config) {
            Err(Error::Config { setting, reason }) => {
                assert_eq!(setting, "upload.concurrency");
                assert!(
                    reason.contains("/etc/catalog-uploader/policy.toml"),
                    "{reason}"
                );
            }
            other => panic!("{other:?}"),
        }
        // What is not locked stays the user's.
        assert!(
            chosen(4, Some(0.5), &["thumb"])
                .check_locks(&config)
                .is_ok()
        );
    }
}
