-- The moves a job may make, as `JobState::can_become` lists them: the database refuses any
-- other, whatever code runs the UPDATE. Leased work that stops goes back to where it was
-- claimed from; a failed job is retried by queueing it again; cancelling ends any job that has
-- not finished.
CREATE TRIGGER jobs_state_moves BEFORE UPDATE OF state ON jobs
WHEN OLD.state <> NEW.state AND NOT (
       (OLD.state = 'queued'     AND NEW.state IN ('processing', 'cancelled'))
    OR (OLD.state = 'processing' AND NEW.state IN ('staged', 'queued', 'failed', 'cancelled'))
    OR (OLD.state = 'staged'     AND NEW.state IN ('uploading', 'cancelled'))
    OR (OLD.state = 'uploading'  AND NEW.state IN ('uploaded', 'staged', 'failed', 'cancelled'))
    OR (OLD.state = 'failed'     AND NEW.state IN ('queued', 'cancelled'))
)
BEGIN
    SELECT RAISE(ABORT, 'a job cannot make this state move');
END;
