-- When a job was last saved: an import saves its counts as it goes, so one that stopped
-- saving long ago died with its process (its file was only in memory) and is failed by the
-- sweeper instead of staying "processing" for ever.
ALTER TABLE jobs ADD COLUMN updated_at TIMESTAMPTZ;
UPDATE jobs SET updated_at = created_at;
