//! The settings screen's choices, one row over the config file's values.

use rusqlite::{OptionalExtension, params};

use super::Store;
use crate::Result;
use crate::preferences::Preferences;

impl Store {
    /// The saved choices, or `None` when the config file's values hold.
    pub fn preferences(&self) -> Result<Option<Preferences>> {
        let conn = self.conn();
        let row = conn
            .query_row(
                "SELECT concurrency, max_mb_per_second, hidden_variants FROM preferences",
                [],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, f64>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                },
            )
            .optional()?;
        Ok(row.map(|(concurrency, rate, hidden)| Preferences {
            concurrency: concurrency.max(1) as usize,
            max_mb_per_second: (rate > 0.0).then_some(rate),
            // Written by `set_preferences` only; a hand-edited value shows every variant.
            hidden_variants: serde_json::from_str(&hidden).unwrap_or_default(),
        }))
    }

    pub fn set_preferences(&self, preferences: &Preferences) -> Result<()> {
        let hidden = serde_json::to_string(&preferences.hidden_variants)
            .map_err(|e| crate::Error::config("hidden_variants", e.to_string()))?;
        self.conn().execute(
            "INSERT INTO preferences (id, concurrency, max_mb_per_second, hidden_variants, updated_at)
             VALUES (1, ?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET concurrency = ?1, max_mb_per_second = ?2,
                 hidden_variants = ?3, updated_at = ?4",
            params![
                preferences.concurrency as i64,
                preferences.max_mb_per_second.unwrap_or(0.0),
                hidden,
                self.now_ms()
            ],
        )?;
        Ok(())
    }

    /// Back to the config file's values.
    pub fn clear_preferences(&self) -> Result<()> {
        self.conn().execute("DELETE FROM preferences", [])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::SystemClock;

    #[test]
    fn saved_choices_round_trip_and_clearing_returns_to_none() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite3"), Arc::new(SystemClock)).unwrap();
        assert_eq!(store.preferences().unwrap(), None);
        for chosen in [
            Preferences {
                concurrency: 3,
                max_mb_per_second: Some(2.5),
                hidden_variants: vec!["original".into()],
            },
            Preferences {
                concurrency: 12,
                max_mb_per_second: None,
                hidden_variants: vec![],
            },
        ] {
            store.set_preferences(&chosen).unwrap();
            assert_eq!(store.preferences().unwrap(), Some(chosen));
        }
        store.clear_preferences().unwrap();
        assert_eq!(store.preferences().unwrap(), None);
    }

    #[test]
    fn the_table_refuses_values_out_of_range() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite3"), Arc::new(SystemClock)).unwrap();
        for (concurrency, rate) in [(0, 0.0), (65, 0.0), (4, -1.0), (4, 0.001)] {
            let refused = store.set_preferences(&Preferences {
                concurrency,
                max_mb_per_second: Some(rate),
                hidden_variants: vec![],
            });
            assert!(refused.is_err(), "{concurrency} {rate}");
        }
    }
}
