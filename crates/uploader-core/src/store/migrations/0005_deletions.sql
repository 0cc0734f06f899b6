-- Deletions: an uploaded variant can be removed (its key then waits in the outbox), a job
-- can replace its SKU's earlier photos, and the outbox remembers when a row reached the
-- backend.
ALTER TABLE variants ADD COLUMN removed_at INTEGER;
ALTER TABLE jobs ADD COLUMN replaces INTEGER NOT NULL DEFAULT 0 CHECK (replaces IN (0, 1));
ALTER TABLE deletion_outbox ADD COLUMN synced_at INTEGER;
CREATE INDEX deletion_outbox_by_key ON deletion_outbox (object_key, state);
CREATE INDEX deletion_outbox_by_created ON deletion_outbox (created_at, id);
CREATE INDEX jobs_by_sku ON jobs (sku, state);
