-- One-time values (an upstream login's state; later SAML assertion ids), by hash, kept until
-- they would have expired anyway.
CREATE TABLE used_once (
    key_hash    BLOB PRIMARY KEY,
    expires_at  TEXT NOT NULL
);
CREATE INDEX used_once_expiry ON used_once (expires_at);
