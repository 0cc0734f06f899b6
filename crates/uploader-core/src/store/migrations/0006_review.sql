-- The source file's SHA-256, recorded when it is rendered: the review sheet warns when a new
-- file has the content of a photo already uploaded, whatever its name.
ALTER TABLE jobs ADD COLUMN source_sha256 TEXT
    CHECK (source_sha256 IS NULL OR length(source_sha256) = 64);
CREATE INDEX jobs_by_source_size ON jobs (source_size) WHERE source_sha256 IS NOT NULL;

-- "Replace this photo" from the gallery: once this job is uploaded, that job's image is removed
-- (its keys this job did not overwrite are queued for deletion).
ALTER TABLE jobs ADD COLUMN replaces_job INTEGER REFERENCES jobs (id);
