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
}

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

    pub(crate) fn bytes_per_second(&self) -> Option<f64> {
        self.max_mb_per_second.map(|mb| mb * 1_000_000.0)
    }
}

impl Uploader {
    /// The choices in force.
    pub fn preferences(&self) -> Result<EffectivePreferences> {
        Ok(match self.store.preferences()? {
            Some(preferences) => EffectivePreferences {
                preferences,
                saved: true,
            },
            None => EffectivePreferences {
                preferences: Preferences::from_config(&self.config),
                saved: false,
            },
        })
    }

    /// Saves the user's choices and applies them to the uploads running now.
    pub async fn set_preferences(&self, preferences: Preferences) -> Result<EffectivePreferences> {
        preferences.validate(&self.config)?;
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
}
