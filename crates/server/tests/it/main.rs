//! Black-box tests of the gatehouse server over real HTTP, on SQLite and (when
//! `GATEHOUSE_TEST_DATABASE_URL` is set) PostgreSQL.

mod binary;
mod helpers;
mod keys;
mod lifecycle;
mod operations;
mod token;
mod well_known;
