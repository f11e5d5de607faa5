//! Passwordless login (connections of strategy `email` and `sms`): `/passwordless/start`
//! sends a one-time code or magic link; the code is redeemed by the
//! `http://auth0.com/oauth/grant-type/passwordless/otp` grant (`oauth::grants`) or on the login pages, the
//! link at `/passwordless/verify_redirect`.

pub mod link;
pub mod start;
