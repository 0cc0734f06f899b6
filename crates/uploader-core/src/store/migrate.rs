//! Numbered migrations; `PRAGMA user_version` records how many have been applied.

use rusqlite::Connection;

/// In order; never edit one that has shipped, add the next number instead.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_jobs", include_str!("migrations/0001_jobs.sql")),
    (
        "0002_job_warnings",
        include_str!("migrations/0002_job_warnings.sql"),
    ),
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

    #[test]
    fn states_outside_the_list_are_refused_by_the_schema() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite3"), Arc::new(SystemClock)).unwrap();
        let err = store.conn().execute(
            "INSERT INTO jobs (source_path, sku, state, created_at, updated_at) VALUES ('a', 'b', 'lost', 0, 0)",
            [],
        );
        assert!(err.is_err());
    }
}
