-- Workstation tokens, stored as SHA-256 hashes: the token itself is shown once.
CREATE TABLE tokens (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    hash TEXT NOT NULL UNIQUE CHECK (length(hash) = 64),
    created_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER,
    last_used_at_ms INTEGER
);

-- One live token per workstation; a revoked one's name can be given a new token.
CREATE UNIQUE INDEX tokens_live_name ON tokens (name) WHERE revoked_at_ms IS NULL;

-- Objects the catalog knows: one row per key, registered after the upload was checked.
CREATE TABLE uploads (
    key TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
    size INTEGER NOT NULL CHECK (size >= 0),
    etag TEXT,
    sku TEXT,
    variant TEXT,
    original_name TEXT,
    width INTEGER,
    height INTEGER,
    token_id INTEGER NOT NULL REFERENCES tokens (id),
    registered_at_ms INTEGER NOT NULL
);
