-- What this workstation's user chose on the settings screen, over the config file's values.
-- One row or none (none: the config file's values hold).
CREATE TABLE preferences (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    concurrency INTEGER NOT NULL CHECK (concurrency BETWEEN 1 AND 64),
    -- 0: no cap.
    max_mb_per_second REAL NOT NULL CHECK (max_mb_per_second = 0 OR max_mb_per_second >= 0.01),
    -- A JSON array of variant names the gallery leaves out; variants added later are shown.
    hidden_variants TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(hidden_variants)),
    updated_at INTEGER NOT NULL
);
