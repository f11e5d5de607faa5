-- What a user allowed a third-party client: scopes per audience ('' when no API).
CREATE TABLE consents (
    user_id     TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    client_id   TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    audience    TEXT NOT NULL,
    scope       JSONB NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, client_id, audience)
);
