-- Actions' execution records (`GET /actions/executions/{id}`), kept ten days as Auth0 keeps
-- them, then swept.
CREATE TABLE action_executions (
    id          TEXT PRIMARY KEY,
    data        TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX action_executions_expires ON action_executions (expires_at);
