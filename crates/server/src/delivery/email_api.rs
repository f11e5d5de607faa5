//! Email providers that are plain HTTPS APIs: SendGrid (`POST /v3/mail/send`, a bearer key),
//! Mailgun (`POST /v3/<domain>/messages`, basic auth `api:<key>`) and Amazon SES (`POST
//! /v2/email/outbound-emails`, signed with AWS Signature Version 4). Their base URLs are
//! settings (`GATEHOUSE_SENDGRID_API_URL`, `GATEHOUSE_MAILGUN_API_URL`,
//! `GATEHOUSE_SES_API_URL`) so a test or a proxy can stand in for them; the keys live sealed
//! with the provider's other credentials.

use anyhow::Context;
use serde_json::{Value, json};

use super::email::Outgoing;
use crate::AppState;

/// Mailgun's EU region.
const MAILGUN_EU: &str = "https://api.eu.mailgun.net";
/// Mailgun's default (US) region, the setting's default.
const MAILGUN_US: &str = "https://api.mailgun.net";

/// A `Name <address>` mailbox as its address and display name.
fn mailbox(from: &str) -> (String, Option<String>) {
    match (from.rfind('<'), from.rfind('>')) {
        (Some(open), Some(close)) if open < close => {
            let name = from[..open].trim().trim_matches('"').trim();
            (
                from[open + 1..close].trim().to_owned(),
                (!name.is_empty()).then(|| name.to_owned()),
            )
        }
        _ => (from.trim().to_owned(), None),
    }
}

/// Sends `mail` from `from` through SendGrid with the sealed `credentials`.
pub async fn sendgrid(
    state: &AppState,
    credentials: &Value,
    from: &str,
    mail: &Outgoing<'_>,
) -> anyhow::Result<()> {
    let key = credentials["api_key"].as_str().context("api_key")?;
    let (address, name) = mailbox(from);
    let mut sender = json!({ "email": address });
    if let Some(n) = name {
        sender["name"] = json!(n);
    }
    let mut content = vec![json!({"type": "text/plain", "value": mail.text})];
    if let Some(html) = &mail.html {
        content.push(json!({"type": "text/html", "value": html}));
    }
    let body = json!({
        "personalizations": [{"to": [{"email": mail.to}]}],
        "from": sender,
        "subject": mail.subject,
        "content": content,
    });
    let url = format!(
        "{}/v3/mail/send",
        state.config.sendgrid_api_url.trim_end_matches('/')
    );
    let response = state
        .http
        .post(&url)
        .bearer_auth(key)
        .json(&body)
        .timeout(std::time::Duration::from_secs(30))
        .send()
        .await
        .with_context(|| format!("SendGrid at {url}"))?;
    check(response, "SendGrid").await
}

/// Sends `mail` from `from` through Mailgun with the sealed `credentials` (`api_key`,
/// `domain`, and `region: "eu"` for Mailgun's EU API).
pub async fn mailgun(
    state: &AppState,
    credentials: &Value,
    from: &str,
    mail: &Outgoing<'_>,
) -> anyhow::Result<()> {
    let key = credentials["api_key"].as_str().context("api_key")?;
    let domain = credentials["domain"].as_str().context("domain")?;
    let configured = state.config.mailgun_api_url.trim_end_matches('/');
    let base = match credentials["region"].as_str() {
        Some("eu") if configured == MAILGUN_US => MAILGUN_EU,
        _ => configured,
    };
    let url = format!("{base}/v3/{domain}/messages");
    let mut form = vec![
        ("from", from.to_owned()),
        ("to", mail.to.to_owned()),
        ("subject", mail.subject.to_owned()),
        ("text", mail.text.clone()),
    ];
    if let Some(html) = &mail.html {
        form.push(("html", html.clone()));
    }
    let response = state
        .http
        .post(&url)
        .basic_auth("api", Some(key))
        .form(&form)
        .timeout(std::time::Duration::from_secs(30))
        .send()
        .await
        .with_context(|| format!("Mailgun at {url}"))?;
    check(response, "Mailgun").await
}

/// Sends `mail` from `from` through Amazon SES with the sealed `credentials` (Auth0's
/// `accessKeyId`, `secretAccessKey` and `region`).
pub async fn ses(
    state: &AppState,
    credentials: &Value,
    from: &str,
    mail: &Outgoing<'_>,
) -> anyhow::Result<()> {
    let key_id = credentials["accessKeyId"].as_str().context("accessKeyId")?;
    let secret = credentials["secretAccessKey"]
        .as_str()
        .context("secretAccessKey")?;
    let region = credentials["region"].as_str().context("region")?;
    let base = match &state.config.ses_api_url {
        Some(configured) => configured.trim_end_matches('/').to_owned(),
        None => format!("https://email.{region}.amazonaws.com"),
    };
    let path = "/v2/email/outbound-emails";
    let url = reqwest::Url::parse(&format!("{base}{path}")).context("SES URL")?;
    // The Host header reqwest sends: the port only when it is not the scheme's.
    let host = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        (None, _) => anyhow::bail!("SES URL has no host"),
    };
    let utf8 = |data: &str| json!({"Data": data, "Charset": "UTF-8"});
    let mut content = json!({"Text": utf8(&mail.text)});
    if let Some(html) = &mail.html {
        content["Html"] = utf8(html);
    }
    let body = serde_json::to_vec(&json!({
        "FromEmailAddress": from,
        "Destination": {"ToAddresses": [mail.to]},
        "Content": {"Simple": {"Subject": utf8(mail.subject), "Body": content}},
    }))?;
    let amz_date = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .context("date")?;
    let signer = super::sigv4::Signer {
        access_key_id: key_id,
        secret,
        region,
        service: "ses",
        amz_date: &amz_date,
    };
    let authorization = signer.authorization(&super::sigv4::Request {
        method: "POST",
        path,
        query: "",
        headers: &[
            ("content-type", "application/json"),
            ("host", &host),
            ("x-amz-date", &amz_date),
        ],
        body: &body,
    });
    let response = state
        .http
        .post(url)
        .header("content-type", "application/json")
        .header("x-amz-date", &amz_date)
        .header("authorization", authorization)
        .body(body)
        .timeout(std::time::Duration::from_secs(30))
        .send()
        .await
        .context("Amazon SES")?;
    check(response, "Amazon SES").await
}

async fn check(response: reqwest::Response, provider: &str) -> anyhow::Result<()> {
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    // The provider's words, bounded: they say what to fix (a bad key, an unverified sender).
    let text = response.text().await.unwrap_or_default();
    let text: String = text.chars().take(300).collect();
    anyhow::bail!("{provider} answered {status}: {text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailboxes_split_into_address_and_name() {
        assert_eq!(
            mailbox("Acme <hello@acme.example>"),
            ("hello@acme.example".into(), Some("Acme".into()))
        );
        assert_eq!(
            mailbox("\"Acme, Inc\" <a@b.example>"),
            ("a@b.example".into(), Some("Acme, Inc".into()))
        );
        assert_eq!(mailbox("plain@b.example"), ("plain@b.example".into(), None));
    }
}
