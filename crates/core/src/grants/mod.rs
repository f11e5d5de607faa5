//! The rules of the token endpoint's grants: `client_credentials` (a machine's token) and
//! `user` (a person's tokens, for every grant that ends with one).

pub mod client_credentials;
pub mod user;
