-- The deletion queue of the company's S3 guide, with its columns (`id`, `s3_key`,
-- `attempts`, `max_attempts`, `last_error`, `created_at`) and what a sure drain needs:
-- `next_attempt_at` (backoff) and a lease. Times are milliseconds since the Unix epoch.
-- A processed row moves to `s3_deletion_history` in the same transaction, so the guide's
-- monitoring query (rows with `attempts < max_attempts`) counts exactly the backlog; a row
-- out of attempts stays here, visible, with its `last_error`.
CREATE TABLE s3_deletion_queue (
    id               TEXT    PRIMARY KEY CHECK (length(id) = 36),
    s3_key           TEXT    NOT NULL CHECK (length(s3_key) BETWEEN 1 AND 1024),
    reason           TEXT    NOT NULL DEFAULT '',
    workstation      TEXT    NOT NULL DEFAULT '',
    requested_at     INTEGER,
    attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts     INTEGER NOT NULL DEFAULT 10 CHECK (max_attempts > 0),
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    next_attempt_at  INTEGER NOT NULL DEFAULT 0,
    -- Always NULL here: processed rows live in the history.
    processed_at     INTEGER CHECK (processed_at IS NULL),
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    CHECK (attempts <= max_attempts),
    CHECK ((lease_owner IS NULL) = (lease_expires_at IS NULL))
);
CREATE INDEX s3_deletion_queue_due ON s3_deletion_queue (next_attempt_at, created_at)
    WHERE attempts < max_attempts;

CREATE TABLE s3_deletion_history (
    id           TEXT    PRIMARY KEY CHECK (length(id) = 36),
    s3_key       TEXT    NOT NULL,
    reason       TEXT    NOT NULL,
    workstation  TEXT    NOT NULL,
    requested_at INTEGER,
    attempts     INTEGER NOT NULL,
    max_attempts INTEGER NOT NULL,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    processed_at INTEGER NOT NULL
);

-- Each deletion worker's last round, for health and stats.
CREATE TABLE deletion_workers (
    owner      TEXT    PRIMARY KEY,
    started_at INTEGER NOT NULL,
    seen_at    INTEGER NOT NULL
);
