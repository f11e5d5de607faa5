//! Universal Login: the `/u/*` pages' handlers (login, sign-up, consent, passwordless,
//! password reset and its request, email verification, unblock). The templates and branding are in
//! `pages`, the login flow they complete in `authn` and `oauth::authorization_response`.

pub mod bound_form;
pub mod forgot;
pub mod login;
pub mod passwordless;
pub mod reset;
pub mod unblock;
pub mod upstream;
pub mod verify;
