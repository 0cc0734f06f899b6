-- One job per source file; one variant per object to upload.
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY,
    source_path TEXT    NOT NULL,
    sku         TEXT    NOT NULL,
    state       TEXT    NOT NULL
        CHECK (state IN ('queued', 'processing', 'uploading', 'uploaded', 'failed')),
    bytes_total INTEGER NOT NULL DEFAULT 0 CHECK (bytes_total >= 0),
    bytes_done  INTEGER NOT NULL DEFAULT 0 CHECK (bytes_done BETWEEN 0 AND bytes_total),
    last_error  TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    CHECK ((state = 'failed') = (last_error IS NOT NULL))
);
CREATE INDEX jobs_by_state ON jobs (state, id);

CREATE TABLE variants (
    job_id       INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    object_key   TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    width        INTEGER NOT NULL CHECK (width > 0),
    height       INTEGER NOT NULL CHECK (height > 0),
    bytes        INTEGER NOT NULL CHECK (bytes > 0),
    sha256       TEXT    NOT NULL CHECK (length(sha256) = 64),
    staged_path  TEXT,
    state        TEXT    NOT NULL CHECK (state IN ('staged', 'uploaded')),
    PRIMARY KEY (job_id, name)
);
CREATE INDEX variants_by_key ON variants (object_key);
