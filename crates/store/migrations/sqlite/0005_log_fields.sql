-- Log fields Auth0 shows at the top level of a log event.
ALTER TABLE logs ADD COLUMN client_name TEXT;
ALTER TABLE logs ADD COLUMN audience TEXT;
ALTER TABLE logs ADD COLUMN scope TEXT;
ALTER TABLE logs ADD COLUMN user_agent TEXT;
CREATE INDEX logs_type ON logs (type, date);
