-- The durable queue: batches; jobs with attempts, backoff and a lease; variants that remember
-- whether a send was tried and which multipart upload they belong to; the parts the server
-- confirmed; and the deletion outbox.

CREATE TABLE batches (
    id         INTEGER PRIMARY KEY,
    label      TEXT    NOT NULL DEFAULT '',
    paused     INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    created_at INTEGER NOT NULL
);
-- Jobs recorded before batches existed form one batch.
INSERT INTO batches (id, label, created_at)
    SELECT 1, 'earlier uploads', MIN(created_at) FROM jobs HAVING COUNT(*) > 0;

-- `staged`: rendered and waiting to be sent (also between attempts). `processing` and
-- `uploading` hold a lease: the owner and when it lapses. A paused job keeps its state.
CREATE TABLE jobs_new (
    id               INTEGER PRIMARY KEY,
    batch_id         INTEGER NOT NULL REFERENCES batches (id),
    source_path      TEXT    NOT NULL,
    source_size      INTEGER NOT NULL DEFAULT 0 CHECK (source_size >= 0),
    source_mtime     INTEGER NOT NULL DEFAULT 0,
    sku              TEXT    NOT NULL,
    -- Uploaded byte for byte, not through the image pipeline (`uploader upload --as-is`).
    as_is            INTEGER NOT NULL DEFAULT 0 CHECK (as_is IN (0, 1)),
    state            TEXT    NOT NULL CHECK (state IN
        ('queued', 'processing', 'staged', 'uploading', 'uploaded', 'failed', 'cancelled')),
    paused           INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts     INTEGER NOT NULL DEFAULT 10 CHECK (max_attempts > 0),
    next_attempt_at  INTEGER NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    bytes_total      INTEGER NOT NULL DEFAULT 0 CHECK (bytes_total >= 0),
    bytes_done       INTEGER NOT NULL DEFAULT 0 CHECK (bytes_done BETWEEN 0 AND bytes_total),
    last_error       TEXT,
    warnings         TEXT    NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    CHECK (state <> 'failed' OR last_error IS NOT NULL),
    CHECK ((lease_owner IS NULL) = (lease_expires_at IS NULL)),
    CHECK ((lease_owner IS NOT NULL) = (state IN ('processing', 'uploading')))
);
-- Work in flight when this version was installed starts again.
INSERT INTO jobs_new (id, batch_id, source_path, sku, state, bytes_total, bytes_done,
                      last_error, warnings, created_at, updated_at)
    SELECT id, 1, source_path, sku,
           CASE state WHEN 'processing' THEN 'queued' WHEN 'uploading' THEN 'staged' ELSE state END,
           bytes_total, bytes_done, last_error, warnings, created_at, updated_at
    FROM jobs;

-- `attempted`: a send was started, so after a crash the outcome is unknown and the server is
-- asked (HEAD) before sending again. `upload_id`: the multipart upload in progress.
CREATE TABLE variants_new (
    job_id       INTEGER NOT NULL REFERENCES jobs_new (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    object_key   TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    -- 0 × 0 for a file uploaded as it is.
    width        INTEGER NOT NULL CHECK (width >= 0),
    height       INTEGER NOT NULL CHECK (height >= 0),
    bytes        INTEGER NOT NULL CHECK (bytes > 0),
    sha256       TEXT    NOT NULL CHECK (length(sha256) = 64),
    staged_path  TEXT,
    state        TEXT    NOT NULL CHECK (state IN ('staged', 'uploaded')),
    attempted    INTEGER NOT NULL DEFAULT 0 CHECK (attempted IN (0, 1)),
    upload_id    TEXT,
    etag         TEXT,
    PRIMARY KEY (job_id, name),
    CHECK (state = 'staged' OR upload_id IS NULL)
);
INSERT INTO variants_new (job_id, name, object_key, content_type, width, height, bytes, sha256,
                          staged_path, state, attempted)
    SELECT job_id, name, object_key, content_type, width, height, bytes, sha256, staged_path,
           state, 1
    FROM variants;

DROP TABLE variants;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
ALTER TABLE variants_new RENAME TO variants;
CREATE INDEX jobs_by_state ON jobs (state, next_attempt_at, id);
CREATE INDEX jobs_by_batch ON jobs (batch_id, id);
CREATE INDEX jobs_by_source ON jobs (source_path);
CREATE INDEX variants_by_key ON variants (object_key, sha256);

-- One row per part the server confirmed, for the variant's current multipart upload.
-- ListParts does not return per-part checksums on every store, so they are kept here.
CREATE TABLE parts (
    job_id      INTEGER NOT NULL,
    variant     TEXT    NOT NULL,
    upload_id   TEXT    NOT NULL,
    part_number INTEGER NOT NULL CHECK (part_number BETWEEN 1 AND 10000),
    bytes       INTEGER NOT NULL CHECK (bytes > 0),
    etag        TEXT    NOT NULL,
    crc32c      TEXT    NOT NULL,
    PRIMARY KEY (job_id, variant, part_number),
    FOREIGN KEY (job_id, variant) REFERENCES variants (job_id, name) ON DELETE CASCADE
);

-- Deletions waiting to reach the backend (backend mode) or S3 (direct mode). `id` is a UUID,
-- the idempotency key upstream.
CREATE TABLE deletion_outbox (
    id               TEXT    PRIMARY KEY CHECK (length(id) = 36),
    object_key       TEXT    NOT NULL CHECK (length(object_key) > 0),
    reason           TEXT    NOT NULL,
    state            TEXT    NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'sending', 'synced', 'done', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts     INTEGER NOT NULL DEFAULT 10 CHECK (max_attempts > 0),
    next_attempt_at  INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    CHECK (state <> 'dead' OR last_error IS NOT NULL),
    CHECK ((lease_owner IS NULL) = (lease_expires_at IS NULL)),
    CHECK ((lease_owner IS NOT NULL) = (state = 'sending'))
);
CREATE INDEX deletion_outbox_due ON deletion_outbox (state, next_attempt_at);
