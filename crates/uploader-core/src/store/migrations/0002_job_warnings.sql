-- What a finished job should tell the user without failing it (a photo too small for a
-- variant, say): one warning per line, empty when none.
ALTER TABLE jobs ADD COLUMN warnings TEXT NOT NULL DEFAULT '';
