-- What a person types to log in must be unique within a connection: email, username, phone.
-- Kept lower-cased on the identity row so a unique index can enforce it.
ALTER TABLE identities ADD COLUMN login_email TEXT;
ALTER TABLE identities ADD COLUMN login_username TEXT;
ALTER TABLE identities ADD COLUMN login_phone TEXT;
CREATE UNIQUE INDEX identities_login_email ON identities (connection, login_email);
CREATE UNIQUE INDEX identities_login_username ON identities (connection, login_username);
CREATE UNIQUE INDEX identities_login_phone ON identities (connection, login_phone);
