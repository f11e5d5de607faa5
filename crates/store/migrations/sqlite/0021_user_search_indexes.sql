-- The Management API's user searches on a large tenant (bench/million-users.sh, plans in
-- bench/README.md). email:"x" compares LOWER(email), and email:x* is a range of it
-- (crates/store/src/user_query.rs), which SQLite reads from this expression index.
CREATE INDEX users_email_lower ON users (LOWER(email));
-- users-by-email also finds users by a linked identity's email; identities_login_email
-- leads with the connection, which that lookup does not know.
CREATE INDEX identities_email ON identities (login_email);
