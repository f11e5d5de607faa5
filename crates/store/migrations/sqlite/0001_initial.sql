-- gatehouse schema, SQLite dialect. Keep table and column names identical to postgres/0001.

CREATE TABLE tenant (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    settings    TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE clients (
    client_id      TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    app_type       TEXT NOT NULL,
    is_system      INTEGER NOT NULL DEFAULT 0,
    secret_hash    BLOB,
    secret_sealed  BLOB,
    settings       TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX clients_created_at ON clients (created_at, client_id);

CREATE TABLE resource_servers (
    id                    TEXT PRIMARY KEY,
    identifier            TEXT NOT NULL UNIQUE,
    name                  TEXT NOT NULL,
    is_system             INTEGER NOT NULL DEFAULT 0,
    scopes                TEXT NOT NULL,
    signing_alg           TEXT NOT NULL,
    token_lifetime        INTEGER NOT NULL,
    allow_offline_access  INTEGER NOT NULL DEFAULT 0,
    extra                 TEXT NOT NULL,
    created_at            TEXT NOT NULL
);

CREATE TABLE client_grants (
    id          TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    audience    TEXT NOT NULL REFERENCES resource_servers (identifier) ON DELETE CASCADE,
    scope       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (client_id, audience)
);
CREATE INDEX client_grants_audience ON client_grants (audience);

CREATE TABLE connections (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    strategy    TEXT NOT NULL,
    options     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE connection_clients (
    connection_id  TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    client_id      TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    PRIMARY KEY (connection_id, client_id)
);
CREATE INDEX connection_clients_client ON connection_clients (client_id);

CREATE TABLE users (
    user_id         TEXT PRIMARY KEY,
    email           TEXT,
    email_verified  INTEGER NOT NULL DEFAULT 0,
    username        TEXT,
    phone_number    TEXT,
    phone_verified  INTEGER NOT NULL DEFAULT 0,
    profile         TEXT NOT NULL,
    user_metadata   TEXT NOT NULL,
    app_metadata    TEXT NOT NULL,
    blocked         INTEGER NOT NULL DEFAULT 0,
    logins_count    INTEGER NOT NULL DEFAULT 0,
    last_login      TEXT,
    last_ip         TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX users_email ON users (email);
CREATE INDEX users_created_at ON users (created_at, user_id);

-- An identity is one way to prove one is a user; (connection, provider_user_id) is unique
-- across the tenant, and position 0 is the owner's primary identity.
CREATE TABLE identities (
    connection        TEXT NOT NULL REFERENCES connections (name) ON DELETE CASCADE,
    provider_user_id  TEXT NOT NULL,
    owner_id          TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    position          INTEGER NOT NULL,
    provider          TEXT NOT NULL,
    is_social         INTEGER NOT NULL DEFAULT 0,
    profile_data      TEXT NOT NULL,
    password_hash     TEXT,
    created_at        TEXT NOT NULL,
    PRIMARY KEY (connection, provider_user_id),
    UNIQUE (owner_id, position)
);
CREATE INDEX identities_owner ON identities (owner_id);

CREATE TABLE sessions (
    id_hash              BLOB PRIMARY KEY,
    user_id              TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    connection           TEXT NOT NULL,
    data                 TEXT NOT NULL,
    created_at           TEXT NOT NULL,
    last_interaction_at  TEXT NOT NULL,
    expires_at           TEXT NOT NULL,
    revoked_at           TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE authorization_codes (
    code_hash     BLOB PRIMARY KEY,
    client_id     TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    user_id       TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    connection    TEXT NOT NULL,
    redirect_uri  TEXT NOT NULL,
    data          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    consumed_at   TEXT
);
CREATE INDEX authorization_codes_expires ON authorization_codes (expires_at);

CREATE TABLE refresh_tokens (
    token_hash       BLOB PRIMARY KEY,
    family_id        TEXT NOT NULL,
    client_id        TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    user_id          TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    connection       TEXT NOT NULL,
    audience         TEXT,
    scope            TEXT NOT NULL,
    data             TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    expires_at       TEXT,
    idle_expires_at  TEXT,
    rotated_at       TEXT,
    revoked_at       TEXT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id, client_id);

CREATE TABLE signing_keys (
    kid                 TEXT PRIMARY KEY,
    alg                 TEXT NOT NULL,
    state               TEXT NOT NULL CHECK (state IN ('next', 'current', 'previous', 'retired')),
    public_jwk          TEXT NOT NULL,
    sealed_private_key  BLOB NOT NULL,
    created_at          TEXT NOT NULL
);
-- At most one next, one current and one previous key.
CREATE UNIQUE INDEX signing_keys_one_per_state ON signing_keys (state) WHERE state <> 'retired';

CREATE TABLE logs (
    log_id       TEXT PRIMARY KEY,
    date         TEXT NOT NULL,
    type         TEXT NOT NULL,
    description  TEXT,
    client_id    TEXT,
    user_id      TEXT,
    connection   TEXT,
    ip           TEXT,
    details      TEXT NOT NULL
);
CREATE INDEX logs_date ON logs (date, log_id);
CREATE INDEX logs_user ON logs (user_id, date);
