-- gatehouse schema, PostgreSQL dialect. Keep table and column names identical to sqlite/0001.

CREATE TABLE tenant (
    id          SMALLINT PRIMARY KEY CHECK (id = 1),
    settings    JSONB NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE clients (
    client_id      TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    app_type       TEXT NOT NULL,
    is_system      BOOLEAN NOT NULL DEFAULT FALSE,
    secret_hash    BYTEA,
    secret_sealed  BYTEA,
    settings       JSONB NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX clients_created_at ON clients (created_at, client_id);

CREATE TABLE resource_servers (
    id                    TEXT PRIMARY KEY,
    identifier            TEXT NOT NULL UNIQUE,
    name                  TEXT NOT NULL,
    is_system             BOOLEAN NOT NULL DEFAULT FALSE,
    scopes                JSONB NOT NULL,
    signing_alg           TEXT NOT NULL,
    token_lifetime        BIGINT NOT NULL,
    allow_offline_access  BOOLEAN NOT NULL DEFAULT FALSE,
    extra                 JSONB NOT NULL,
    created_at            TIMESTAMPTZ NOT NULL
);

CREATE TABLE client_grants (
    id          TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    audience    TEXT NOT NULL REFERENCES resource_servers (identifier) ON DELETE CASCADE,
    scope       JSONB NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (client_id, audience)
);
CREATE INDEX client_grants_audience ON client_grants (audience);

CREATE TABLE connections (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    strategy    TEXT NOT NULL,
    options     JSONB NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
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
    email_verified  BOOLEAN NOT NULL DEFAULT FALSE,
    username        TEXT,
    phone_number    TEXT,
    phone_verified  BOOLEAN NOT NULL DEFAULT FALSE,
    profile         JSONB NOT NULL,
    user_metadata   JSONB NOT NULL,
    app_metadata    JSONB NOT NULL,
    blocked         BOOLEAN NOT NULL DEFAULT FALSE,
    logins_count    BIGINT NOT NULL DEFAULT 0,
    last_login      TIMESTAMPTZ,
    last_ip         TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
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
    is_social         BOOLEAN NOT NULL DEFAULT FALSE,
    profile_data      JSONB NOT NULL,
    password_hash     TEXT,
    created_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (connection, provider_user_id),
    UNIQUE (owner_id, position)
);
CREATE INDEX identities_owner ON identities (owner_id);

CREATE TABLE sessions (
    id_hash              BYTEA PRIMARY KEY,
    user_id              TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    connection           TEXT NOT NULL,
    data                 JSONB NOT NULL,
    created_at           TIMESTAMPTZ NOT NULL,
    last_interaction_at  TIMESTAMPTZ NOT NULL,
    expires_at           TIMESTAMPTZ NOT NULL,
    revoked_at           TIMESTAMPTZ
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE authorization_codes (
    code_hash     BYTEA PRIMARY KEY,
    client_id     TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    user_id       TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    connection    TEXT NOT NULL,
    redirect_uri  TEXT NOT NULL,
    data          JSONB NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL,
    consumed_at   TIMESTAMPTZ
);
CREATE INDEX authorization_codes_expires ON authorization_codes (expires_at);

CREATE TABLE refresh_tokens (
    token_hash       BYTEA PRIMARY KEY,
    family_id        TEXT NOT NULL,
    client_id        TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    user_id          TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    connection       TEXT NOT NULL,
    audience         TEXT,
    scope            TEXT NOT NULL,
    data             JSONB NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    expires_at       TIMESTAMPTZ,
    idle_expires_at  TIMESTAMPTZ,
    rotated_at       TIMESTAMPTZ,
    revoked_at       TIMESTAMPTZ
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id, client_id);

CREATE TABLE signing_keys (
    kid                 TEXT PRIMARY KEY,
    alg                 TEXT NOT NULL,
    state               TEXT NOT NULL CHECK (state IN ('next', 'current', 'previous', 'retired')),
    public_jwk          JSONB NOT NULL,
    sealed_private_key  BYTEA NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL
);
-- At most one next, one current and one previous key.
CREATE UNIQUE INDEX signing_keys_one_per_state ON signing_keys (state) WHERE state <> 'retired';

CREATE TABLE logs (
    log_id       TEXT PRIMARY KEY,
    date         TIMESTAMPTZ NOT NULL,
    type         TEXT NOT NULL,
    description  TEXT,
    client_id    TEXT,
    user_id      TEXT,
    connection   TEXT,
    ip           TEXT,
    details      JSONB NOT NULL
);
CREATE INDEX logs_date ON logs (date, log_id);
CREATE INDEX logs_user ON logs (user_id, date);
