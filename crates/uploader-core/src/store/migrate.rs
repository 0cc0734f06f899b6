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
];

pub(super) fn apply(conn: &mut Connection) -> rusqlite::Result<()> {
    let done: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (n, (_, sql)) in MIGRATIONS.iter().enumerate().skip(done) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", n + 1)?;
        tx.commit()?;
    }
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
    fn the_database_runs_in_wal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite3"), Arc::new(SystemClock)).unwrap();
        let mode: String = store
            .conn()
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
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
