//! Outgoing email (text, or HTML with a text alternative) through the tenant's SMTP provider (lettre). Port 465 speaks TLS from the
//! start, a loopback host may be plain (a local relay or a test server), anything else must
//! upgrade with STARTTLS: credentials never cross a network in the clear. Only the outbox
//! worker sends: requests queue their mail.

use anyhow::Context;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::AppState;

/// One mail: plain text, and HTML beside it when a template made one.
pub struct Outgoing<'a> {
    /// A mailbox such as `Acme <id@acme.test>`; else the provider's default address.
    pub from: Option<&'a str>,
    /// The recipient.
    pub to: &'a str,
    /// The subject.
    pub subject: &'a str,
    /// The text.
    pub text: String,
    /// The HTML alternative.
    pub html: Option<String>,
}

/// Sends `mail`; an error when no enabled provider is configured.
pub async fn send(state: &AppState, mail: Outgoing<'_>) -> anyhow::Result<()> {
    let tenant = state.catalog.tenant().await?;
    let provider = tenant
        .email_provider
        .as_ref()
        .filter(|p| p.enabled)
        .context("no enabled email provider")?;
    let creds = crate::secrets::open_email_credentials(&state.sealer, provider)?;
    let default_from = provider
        .default_from_address
        .as_deref()
        .unwrap_or("no-reply@localhost");
    // A template's sender when it is a mailbox, else the provider's default address.
    let from = mail
        .from
        .filter(|f| f.parse::<Mailbox>().is_ok())
        .unwrap_or(default_from)
        .to_owned();
    match provider.name.as_str() {
        "sendgrid" => super::email_api::sendgrid(state, &creds, &from, &mail).await,
        "mailgun" => super::email_api::mailgun(state, &creds, &from, &mail).await,
        "ses" => super::email_api::ses(state, &creds, &from, &mail).await,
        _ => smtp(&creds, &from, mail).await,
    }
}

/// Sends `mail` from `from` through the SMTP server in `creds`.
async fn smtp(creds: &serde_json::Value, from: &str, mail: Outgoing<'_>) -> anyhow::Result<()> {
    let Outgoing {
        to,
        subject,
        text,
        html,
        ..
    } = mail;
    let host = creds["smtp_host"].as_str().context("smtp_host")?;
    let port = u16::try_from(creds["smtp_port"].as_i64().context("smtp_port")?)?;
    let user = creds["smtp_user"].as_str().unwrap_or_default();
    let pass = creds["smtp_pass"].as_str().unwrap_or_default();
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    let builder = if port == 465 {
        AsyncSmtpTransport::<Tokio1Executor>::relay(host)?
    } else if loopback {
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
    } else {
        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)?
    };
    // Bounded well below the outbox's claim lease, so no other replica takes over (and sends
    // again) a message this one is still sending.
    let mut builder = builder
        .port(port)
        .timeout(Some(std::time::Duration::from_secs(30)));
    if !user.is_empty() {
        builder = builder.credentials(Credentials::new(user.to_owned(), pass.to_owned()));
    }
    let from: Mailbox = from.parse().context("default_from_address")?;
    let headers = Message::builder()
        .from(from)
        .to(to.parse().context("recipient")?)
        .subject(subject);
    // lettre picks the transfer encodings (quoted-printable for long lines) itself.
    let message = match html {
        Some(html) => headers.multipart(MultiPart::alternative_plain_html(text, html))?,
        None => headers.header(ContentType::TEXT_PLAIN).body(text)?,
    };
    builder.build().send(message).await?;
    Ok(())
}
