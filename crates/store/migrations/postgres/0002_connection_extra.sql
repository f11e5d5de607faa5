-- Connection settings outside `options` (display_name, metadata, realms, ...).
ALTER TABLE connections ADD COLUMN extra JSONB NOT NULL DEFAULT '{}';
