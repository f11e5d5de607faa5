-- One-time tickets sent by email (password reset, email verification), stored hashed.
CREATE TABLE tickets (
    ticket_hash  BYTEA PRIMARY KEY,
    kind         TEXT NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    used_at      TIMESTAMPTZ
);
