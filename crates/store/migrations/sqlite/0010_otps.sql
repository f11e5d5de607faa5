-- Passwordless one-time codes, hashed; one live code per connection and recipient.
CREATE TABLE otps (
    id           TEXT PRIMARY KEY,
    connection   TEXT NOT NULL,
    recipient    TEXT NOT NULL,
    code_hash    BLOB NOT NULL,
    client_id    TEXT NOT NULL,
    send         TEXT NOT NULL,
    auth_params  TEXT NOT NULL,
    attempts     INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    used_at      TEXT
);
CREATE UNIQUE INDEX otps_recipient ON otps (connection, recipient);
