-- Passwordless one-time codes, hashed; one live code per connection and recipient.
CREATE TABLE otps (
    id           TEXT PRIMARY KEY,
    connection   TEXT NOT NULL,
    recipient    TEXT NOT NULL,
    code_hash    BYTEA NOT NULL,
    client_id    TEXT NOT NULL,
    send         TEXT NOT NULL,
    auth_params  JSONB NOT NULL,
    attempts     BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    used_at      TIMESTAMPTZ
);
CREATE UNIQUE INDEX otps_recipient ON otps (connection, recipient);
