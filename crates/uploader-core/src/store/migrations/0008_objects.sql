-- What each key holds now, as far as this workstation knows: the upload it made (or found
-- there) last. One row per key, so a key has one current photo; a row goes when the person
-- deletes the photo, and the deletion then names the upload it means.
CREATE TABLE objects (
    object_key  TEXT    PRIMARY KEY,
    job_id      INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    variant     TEXT    NOT NULL,
    sha256      TEXT    NOT NULL CHECK (length(sha256) = 64),
    bytes       INTEGER NOT NULL CHECK (bytes > 0),
    etag        TEXT,
    -- The upload's own id, stored with the object as its `object-id` metadata; NULL for
    -- objects uploaded before uploads had one.
    object_id   TEXT    CHECK (object_id IS NULL OR length(object_id) = 32),
    uploaded_at INTEGER NOT NULL
);
CREATE INDEX objects_by_job ON objects (job_id, variant);

-- Each variant's upload id, drawn when it is staged. Variants uploaded before have none.
ALTER TABLE variants ADD COLUMN object_id TEXT
    CHECK (object_id IS NULL OR length(object_id) = 32);
UPDATE variants SET object_id = lower(hex(randomblob(16))) WHERE state = 'staged';

-- Each key's newest upload not removed since.
INSERT INTO objects (object_key, job_id, variant, sha256, bytes, etag, uploaded_at)
    SELECT v.object_key, v.job_id, v.name, v.sha256, v.bytes, v.etag, j.updated_at
    FROM variants v JOIN jobs j ON j.id = v.job_id
    WHERE v.state = 'uploaded' AND v.removed_at IS NULL
      AND v.job_id = (SELECT MAX(w.job_id) FROM variants w
                      WHERE w.object_key = v.object_key AND w.state = 'uploaded'
                        AND w.removed_at IS NULL)
    GROUP BY v.object_key;

-- The outbox learns which object each deletion means, and that a deletion can lose the race
-- to a later upload of its key (`superseded`, with why in `last_error`).
CREATE TABLE deletion_outbox_new (
    id               TEXT    PRIMARY KEY CHECK (length(id) = 36),
    object_key       TEXT    NOT NULL CHECK (length(object_key) > 0),
    reason           TEXT    NOT NULL,
    state            TEXT    NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'sending', 'synced', 'done', 'superseded', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts     INTEGER NOT NULL DEFAULT 10 CHECK (max_attempts > 0),
    next_attempt_at  INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    synced_at        INTEGER,
    -- The upload meant (its `object-id`), or for older objects its SHA-256; neither for a
    -- key this workstation never recorded (then: whatever was stored before `created_at`).
    object_id        TEXT    CHECK (object_id IS NULL OR length(object_id) = 32),
    sha256           TEXT    CHECK (sha256 IS NULL OR length(sha256) = 64),
    CHECK (state NOT IN ('dead', 'superseded') OR last_error IS NOT NULL),
    CHECK ((lease_owner IS NULL) = (lease_expires_at IS NULL)),
    CHECK ((lease_owner IS NOT NULL) = (state = 'sending'))
);
INSERT INTO deletion_outbox_new (id, object_key, reason, state, attempts, max_attempts,
                                 next_attempt_at, last_error, lease_owner, lease_expires_at,
                                 created_at, updated_at, synced_at)
    SELECT id, object_key, reason,
           CASE WHEN state = 'done' AND last_error LIKE 'superseded%' THEN 'superseded'
                ELSE state END,
           attempts, max_attempts, next_attempt_at, last_error, lease_owner, lease_expires_at,
           created_at, updated_at, synced_at
    FROM deletion_outbox;
DROP TABLE deletion_outbox;
ALTER TABLE deletion_outbox_new RENAME TO deletion_outbox;
CREATE INDEX deletion_outbox_due ON deletion_outbox (state, next_attempt_at);
CREATE INDEX deletion_outbox_by_key ON deletion_outbox (object_key, state);
CREATE INDEX deletion_outbox_by_created ON deletion_outbox (created_at, id);
