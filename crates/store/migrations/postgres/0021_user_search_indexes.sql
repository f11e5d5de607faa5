-- The Management API's user searches on a large tenant (bench/million-users.sh, plans in
-- bench/README.md). email:"x" and email:x* compare LOWER(email): text_pattern_ops lets the
-- prefix's LIKE use the index whatever the database's collation, and serves = as well.
CREATE INDEX users_email_lower ON users (LOWER(email) text_pattern_ops);
-- users-by-email also finds users by a linked identity's email; identities_login_email
-- leads with the connection, which that lookup does not know.
CREATE INDEX identities_email ON identities (login_email);
-- Until the table is next analyzed PostgreSQL has no statistics on LOWER(email) and guesses
-- that thousands of users share an email, so it would rather walk users_created_at for the
-- first page than use the new index (bench/README.md, "A million users"). Analyzing here
-- (a sample of 30,000 rows; under a second for a million users) makes the index count at
-- once.
ANALYZE users;
ANALYZE identities;
