-- Mail and SMS waiting to be sent by a background worker, so requests never wait on (or
-- reveal anything through) an SMTP session or a gateway call. The message itself is sealed
-- (it carries codes and links); only what the worker and the per-recipient limits need is
-- in the clear, and the recipient only as a keyed hash.
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    channel         TEXT NOT NULL,
    connection      TEXT,
    recipient_hash  BYTEA NOT NULL,
    sealed          BYTEA NOT NULL,
    state           TEXT NOT NULL,
    attempts        BIGINT NOT NULL,
    due_at          TIMESTAMPTZ NOT NULL,
    claimed_by      TEXT,
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ
);
CREATE INDEX outbox_due ON outbox (state, due_at);
CREATE INDEX outbox_recipient ON outbox (kind, recipient_hash, created_at);
