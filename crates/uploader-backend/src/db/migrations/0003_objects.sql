-- The catalog records which upload each key holds (its `object-id`) and which workstation
-- made it; re-registering the same bytes as a new upload refreshes both.
ALTER TABLE uploads ADD COLUMN object_id TEXT CHECK (object_id IS NULL OR length(object_id) = 32);
ALTER TABLE uploads ADD COLUMN workstation TEXT NOT NULL DEFAULT '';
UPDATE uploads SET workstation = COALESCE((SELECT name FROM tokens WHERE id = uploads.token_id), '');

-- Each deletion names the object it means: the upload's `object-id`, or for objects stored
-- before uploads had one, its SHA-256. The worker deletes the key only if it still holds
-- that object; otherwise the row ends `superseded`, with why.
ALTER TABLE s3_deletion_queue ADD COLUMN object_id TEXT
    CHECK (object_id IS NULL OR length(object_id) = 32);
ALTER TABLE s3_deletion_queue ADD COLUMN sha256 TEXT
    CHECK (sha256 IS NULL OR length(sha256) = 64);
ALTER TABLE s3_deletion_history ADD COLUMN object_id TEXT;
ALTER TABLE s3_deletion_history ADD COLUMN sha256 TEXT;
-- `deleted` (also: the object was already gone) or `superseded` (nothing deleted).
ALTER TABLE s3_deletion_history ADD COLUMN outcome TEXT NOT NULL DEFAULT 'deleted'
    CHECK (outcome IN ('deleted', 'superseded'));
UPDATE s3_deletion_history SET outcome = 'superseded' WHERE last_error LIKE 'not deleted:%';

-- What a workstation's token may act on. `own`: only objects that workstation created
-- (overwrite, delete, abort an upload); `any`: every object under the prefix (an admin, or
-- two studios re-shooting the same SKUs).
ALTER TABLE tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'own' CHECK (scope IN ('own', 'any'));

-- Every signing, by whom: the audit trail, and who a key belongs to before its upload is
-- registered. One row per key signed (a multipart upload: once, at its start).
CREATE TABLE signings (
    id          INTEGER PRIMARY KEY,
    s3_key      TEXT    NOT NULL,
    workstation TEXT    NOT NULL,
    token_id    INTEGER NOT NULL REFERENCES tokens (id),
    -- `put` or `multipart`.
    kind        TEXT    NOT NULL CHECK (kind IN ('put', 'multipart')),
    object_id   TEXT,
    upload_id   TEXT,
    signed_at   INTEGER NOT NULL
);
CREATE INDEX signings_by_key ON signings (s3_key, id);
CREATE INDEX signings_by_upload ON signings (upload_id) WHERE upload_id IS NOT NULL;
