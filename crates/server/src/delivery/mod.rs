//! Delivery of queued messages: email through the tenant's provider (SMTP, or SendGrid and
//! Mailgun's HTTP APIs), SMS through a
//! passwordless connection's gateway or Twilio, logout tokens to applications' back-channel
//! logout URLs. Only the outbox worker calls these:
//! requests queue their messages, so no response waits on a relay or a gateway.

pub mod backchannel;
pub mod email;
pub mod email_api;
pub mod sigv4;
pub mod sms;
