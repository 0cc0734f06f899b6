//! Numbered migrations; `PRAGMA user_version` records how many have been applied.

use rusqlite::Connection;

/// In order; never edit one that has shipped, add the next number instead.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_jobs", include_str!("migrations/0001_jobs.sql")),
    (
        "0002_job_warnings",
        include_str!("migrations/0002_job_warnings.sql"),
    ),
    ("0003_queue", include_str!("migrations/0003_queue.sql")),
    (
        "0004_state_moves",
        include_str!("migrations/0004_state_moves.sql"),
    ),
    (
        "0005_deletions",
        include_str!("migrations/0005_deletions.sql"),
    ),
    ("0006_review", include_str!("migrations/0006_review.sql")),
    (
        "0007_preferences",
        include_str!("migrations/0007_preferences.sql"),
    ),
    ("0008_objects", include_str!("migrations/0008_objects.sql")),
    (
        "0009_interruptions",
        include_str!("migrations/0009_interruptions.sql"),
    ),
    (
        "0010_variant_crc32c",
        include_str!("migrations/0010_variant_crc32c.sql"),
    ),
];

/// Why the schema could not be brought up to date.
#[derive(Debug)]
pub(super) enum Failure {
    Sql(rusqlite::Error),
    /// A newer program has used this database: its schema is version `found`, this program
    /// knows `known`.
    TooNew {
        found: usize,
        known: usize,
    },
}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Self {
        Failure::Sql(e)
    }
}

/// Applies the migrations not applied yet, all in one exclusive transaction that reads the
/// version inside it: processes that open a new database at once wait for each other, and
/// the later ones find the work done.
pub(super) fn apply(conn: &mut Connection) -> Result<(), Failure> {
    let known = MIGRATIONS.len();
    let version = |conn: &Connection| -> rusqlite::Result<usize> {
        conn.pragma_query_value(None, "user_version", |r| r.get(0))
    };
    // Most opens find the schema current: no write lock for them.
    let found = version(conn)?;
    if found == known {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)?;
    let done = version(&tx)?;
    if done > known {
        return Err(Failure::TooNew { found: done, known });
    }
    for (_, sql) in &MIGRATIONS[done..] {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", known)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::clock::SystemClock;
    use crate::store::Store;

    #[test]
    fn migrations_apply_to_a_new_file_and_again_to_an_up_to_date_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        for _ in 0..2 {
            let store = Store::open(&path, Arc::new(SystemClock)).unwrap();
            let version: usize = store
                .conn()
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .unwrap();
            assert_eq!(version, super::MIGRATIONS.len());
        }
    }

    #[test]
    fn processes_opening_a_new_database_at_once_all_find_it_migrated() {
        for _ in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("db.sqlite3");
            let start = std::sync::Barrier::new(6);
            let opened: Vec<_> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..6)
                    .map(|_| {
                        s.spawn(|| {
                            start.wait();
                            Store::open(&path, Arc::new(SystemClock)).map(drop)
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            for outcome in opened {
                outcome.unwrap();
            }
        }
    }

    #[test]
    fn a_database_from_a_newer_version_is_refused_with_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        drop(Store::open(&path, Arc::new(SystemClock)).unwrap());
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", super::MIGRATIONS.len() + 1)
            .unwrap();
        drop(conn);
        let Err(e) = Store::open(&path, Arc::new(SystemClock)) else {
            panic!("a newer schema was opened");
        };
        let text = e.to_string();
        assert_eq!(e.code(), "store_too_new");
        assert!(text.contains("newer version"), "{text}");
        assert!(text.contains("db.sqlite3"), "{text}");
    }

    #[test]
    fn every_transaction_takes_the_write_lock_when_it_begins() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite3"), Arc::new(SystemClock)).unwrap();
        let mut conn = store.conn();
        let tx = conn.transaction().unwrap();
        // Only a writer may run this statement inside a transaction without writing yet.
        assert!(!tx.is_autocommit());
        let other = rusqlite::Connection::open(dir.path().join("db.sqlite3")).unwrap();
        let blocked = other.execute_batch("BEGIN IMMEDIATE; COMMIT;");
        assert!(
            blocked.is_err(),
            "a second writer began beside an open transaction"
        );
    }

    #[test]
    fn the_database_runs_in_wal_mode_and_syncs_every_commit() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite3"), Arc::new(SystemClock)).unwrap();
        let mode: String = store
            .conn()
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        // FULL (2): a commit is on disk when it returns, so a power cut keeps what the user
        // was told is queued; NORMAL (1) may roll the last commits back.
        let synchronous: i64 = store
            .conn()
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        assert_eq!(synchronous, 2);
    }

    /// A new database with batch 1 in it, for inserting jobs by hand.
    fn with_batch() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite3"), Arc::new(SystemClock)).unwrap();
        store
            .conn()
            .execute("INSERT INTO batches (id, created_at) VALUES (1, 0)", [])
            .unwrap();
        (dir, store)
    }

    #[test]
    fn the_schema_refuses_unknown_states_and_leases_outside_leased_states() {
        let (_dir, store) = with_batch();
        let conn = store.conn();
        let insert = |state: &str, owner: Option<&str>, expires: Option<i64>| {
            conn.execute(
                "INSERT INTO jobs (batch_id, source_path, sku, state, lease_owner, lease_expires_at, created_at, updated_at)
                 VALUES (1, 'a', 'b', ?1, ?2, ?3, 0, 0)",
                rusqlite::params![state, owner, expires],
            )
        };
        let cases: [(&str, Option<&str>, Option<i64>, bool); 6] = [
            ("queued", None, None, true),
            ("lost", None, None, false),
            ("uploading", Some("w"), Some(5), true),
            ("uploading", None, None, false),
            ("staged", Some("w"), Some(5), false),
            ("processing", Some("w"), None, false),
        ];
        for (state, owner, expires, ok) in cases {
            assert_eq!(
                insert(state, owner, expires).is_ok(),
                ok,
                "{state} {owner:?} {expires:?}"
            );
        }
        let failed_without_reason = conn.execute(
            "INSERT INTO jobs (batch_id, source_path, sku, state, created_at, updated_at) VALUES (1, 'a', 'b', 'failed', 0, 0)",
            [],
        );
        assert!(failed_without_reason.is_err());
    }

    #[test]
    fn the_schema_allows_exactly_the_state_moves_the_queue_lists() {
        use crate::queue::JobState;
        let (_dir, store) = with_batch();
        let conn = store.conn();
        // Lease and reason as each state's CHECKs ask, so only the trigger can refuse.
        let leased = |s: JobState| matches!(s, JobState::Processing | JobState::Uploading);
        for from in JobState::ALL {
            for to in JobState::ALL {
                conn.execute("DELETE FROM jobs", []).unwrap();
                conn.execute(
                    "INSERT INTO jobs (id, batch_id, source_path, sku, state, lease_owner,
                                       lease_expires_at, last_error, created_at, updated_at)
                     VALUES (1, 1, 'a', 'b', ?1, ?2, ?3, 'why', 0, 0)",
                    rusqlite::params![
                        from.as_str(),
                        leased(from).then_some("w"),
                        leased(from).then_some(5)
                    ],
                )
                .unwrap();
                let moved = conn.execute(
                    "UPDATE jobs SET state = ?1, lease_owner = ?2, lease_expires_at = ?3 WHERE id = 1",
                    rusqlite::params![
                        to.as_str(),
                        leased(to).then_some("w"),
                        leased(to).then_some(5)
                    ],
                );
                let allowed = from == to || from.can_become(to);
                assert_eq!(moved.is_ok(), allowed, "{from} -> {to}: {moved:?}");
            }
        }
    }

    #[test]
    fn jobs_recorded_before_the_queue_migration_carry_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        {
            let mut conn = rusqlite::Connection::open(&path).unwrap();
            conn.pragma_update(None, "foreign_keys", "ON").unwrap();
            let tx = conn.transaction().unwrap();
            for (_, sql) in &super::MIGRATIONS[..2] {
                tx.execute_batch(sql).unwrap();
            }
            tx.pragma_update(None, "user_version", 2).unwrap();
            tx.execute_batch(
                "INSERT INTO jobs (id, source_path, sku, state, bytes_total, bytes_done, created_at, updated_at)
                   VALUES (1, 'a.jpg', 'A', 'uploaded', 10, 10, 5, 6),
                          (2, 'b.jpg', 'B', 'uploading', 10, 0, 5, 6);
                 INSERT INTO variants (job_id, name, object_key, content_type, width, height, bytes, sha256, staged_path, state)
                   VALUES (1, 'large', 'products/A/a.jpg', 'image/jpeg', 1, 1, 10, printf('%064d', 0), NULL, 'uploaded'),
                          (2, 'large', 'products/B/b.jpg', 'image/jpeg', 1, 1, 10, printf('%064d', 0), '/s/b', 'staged');",
            )
            .unwrap();
            tx.commit().unwrap();
        }
        let store = Store::open(&path, Arc::new(SystemClock)).unwrap();
        let jobs = store.jobs().unwrap();
        let states: Vec<_> = jobs
            .iter()
            .map(|j| (j.id, j.state, j.variants.len()))
            .collect();
        use crate::queue::JobState;
        assert_eq!(
            states,
            [(1, JobState::Uploaded, 1), (2, JobState::Staged, 1)]
        );
        // The interrupted send's outcome is unknown: it is checked before being sent again.
        assert!(jobs[1].variants[0].attempted);
        let fk: i64 = store
            .conn()
            .query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(fk, 0);
    }
}
