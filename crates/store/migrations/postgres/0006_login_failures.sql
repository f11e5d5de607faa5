-- Brute-force protection: consecutive failed logins per user and source address.
CREATE TABLE login_failures (
    user_id       TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    ip            TEXT NOT NULL,
    failures      INTEGER NOT NULL,
    last_failure  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, ip)
);
