-- Role-based access control: roles, their permissions, and users' roles and direct permissions.
CREATE TABLE roles (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    description  TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE role_permissions (
    role_id                     TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    resource_server_identifier  TEXT NOT NULL REFERENCES resource_servers (identifier) ON DELETE CASCADE,
    permission_name             TEXT NOT NULL,
    PRIMARY KEY (role_id, resource_server_identifier, permission_name)
);

CREATE TABLE user_roles (
    user_id  TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    role_id  TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role_id)
);
CREATE INDEX user_roles_role ON user_roles (role_id);

CREATE TABLE user_permissions (
    user_id                     TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    resource_server_identifier  TEXT NOT NULL REFERENCES resource_servers (identifier) ON DELETE CASCADE,
    permission_name             TEXT NOT NULL,
    PRIMARY KEY (user_id, resource_server_identifier, permission_name)
);
