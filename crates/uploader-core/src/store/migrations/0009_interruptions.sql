-- How many times a render of this job ended with no outcome (its process died or stalled):
-- a file that crashes the decoder is failed after a few, instead of crashing every start.
ALTER TABLE jobs ADD COLUMN interruptions INTEGER NOT NULL DEFAULT 0 CHECK (interruptions >= 0);
