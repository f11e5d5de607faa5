//! The CLI's resource commands (`gatehouse apps|apis|users|connections|roles|logs ...`):
//! a Management API client for a running server. It asks the server's discovery document
//! for its issuer (the audience is `<issuer>api/v2/`), takes a token with the bootstrap
//! client's credentials (from the environment or a `--config` file: a profile per file),
//! and prints what the API answers as a table or as JSON. Every rule is the server's: the
//! CLI only shapes requests and output.

use anyhow::{Context as _, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::Value;

/// The Management API resources the CLI knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// Applications (`/clients`).
    Apps,
    /// APIs (`/resource-servers`).
    Apis,
    /// Users (`/users`).
    Users,
    /// Connections (`/connections`).
    Connections,
    /// Roles (`/roles`).
    Roles,
    /// Tenant log events (`/logs`).
    Logs,
}

impl Resource {
    fn path(self) -> &'static str {
        match self {
            Resource::Apps => "clients",
            Resource::Apis => "resource-servers",
            Resource::Users => "users",
            Resource::Connections => "connections",
            Resource::Roles => "roles",
            Resource::Logs => "logs",
        }
    }

    /// The columns of the table view.
    fn columns(self) -> &'static [&'static str] {
        match self {
            Resource::Apps => &["client_id", "name", "app_type"],
            Resource::Apis => &["id", "name", "identifier"],
            Resource::Users => &["user_id", "email", "name", "logins_count", "blocked"],
            Resource::Connections => &["id", "name", "strategy"],
            Resource::Roles => &["id", "name", "description"],
            Resource::Logs => &["date", "type", "description", "user_id", "client_id"],
        }
    }
}

/// What to do with a resource.
#[derive(Debug, Subcommand)]
pub enum Verb {
    /// List them (`--q` searches users and logs with Auth0's query syntax).
    List {
        /// Auth0 search query (users, logs).
        #[arg(long)]
        q: Option<String>,
        /// Page size (Auth0's `per_page`).
        #[arg(long, default_value_t = 50)]
        per_page: u32,
        /// Page, from 0.
        #[arg(long, default_value_t = 0)]
        page: u32,
    },
    /// Show one.
    Show {
        /// Its id.
        id: String,
    },
    /// Create one from a JSON body, as the Management API takes it.
    Create {
        /// The body, e.g. '{"name":"My app","app_type":"spa"}'.
        #[arg(long)]
        json: String,
    },
    /// Change one with a JSON body (PATCH).
    Update {
        /// Its id.
        id: String,
        /// The changes.
        #[arg(long)]
        json: String,
    },
    /// Delete one.
    Delete {
        /// Its id.
        id: String,
    },
}

/// How answers are printed.
#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum Output {
    /// Aligned columns (lists) or one field per line (one item).
    #[default]
    Table,
    /// The API's JSON, pretty-printed.
    Json,
}

/// A resource command's arguments.
#[derive(Debug, Args)]
pub struct ResourceArgs {
    /// What to do.
    #[command(subcommand)]
    pub verb: Verb,
    /// table or json.
    #[arg(long, value_enum, default_value_t = Output::Table, global = true)]
    pub output: Output,
}

/// Where the server is and who the CLI is to it.
pub struct Target {
    /// The server's base URL (its issuer, or where it listens).
    pub base: String,
    /// Client credentials of a client with Management API scopes.
    pub credentials: Option<(String, String)>,
}

/// Runs one resource command against the server, printing its answer.
pub async fn run(target: Target, resource: Resource, args: ResourceArgs) -> anyhow::Result<()> {
    let client = Client::connect(target).await?;
    let path = resource.path();
    let (answer, single) = match args.verb {
        Verb::List { q, per_page, page } => {
            let mut query = vec![
                ("per_page", per_page.to_string()),
                ("page", page.to_string()),
            ];
            if let Some(q) = q {
                query.push(("q", q));
            }
            let query = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(query)
                .finish();
            (
                client
                    .call(reqwest::Method::GET, &format!("/{path}?{query}"), None)
                    .await?,
                false,
            )
        }
        Verb::Show { id } => (
            client
                .call(reqwest::Method::GET, &item(path, &id), None)
                .await?,
            true,
        ),
        Verb::Create { json } => {
            let body = parse_body(&json)?;
            (
                client
                    .call(reqwest::Method::POST, &format!("/{path}"), Some(body))
                    .await?,
                true,
            )
        }
        Verb::Update { id, json } => {
            let body = parse_body(&json)?;
            (
                client
                    .call(reqwest::Method::PATCH, &item(path, &id), Some(body))
                    .await?,
                true,
            )
        }
        Verb::Delete { id } => {
            client
                .call(reqwest::Method::DELETE, &item(path, &id), None)
                .await?;
            println!("deleted {id}");
            return Ok(());
        }
    };
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&answer)?),
        Output::Table if single => print!("{}", fields(&answer)),
        Output::Table => print!("{}", table(resource, &answer)),
    }
    Ok(())
}

/// A new administrator, and where they set their password.
#[derive(Debug, Clone)]
pub struct NewAdmin {
    /// Their user id.
    pub user_id: String,
    /// The one-time set-password link.
    pub link: String,
    /// Where they sign in afterwards.
    pub dashboard: String,
}

/// `gatehouse admin create --email`: an administrator (a user of the administrators'
/// connection) with a password nobody knows, and a one-time link to set their own.
pub async fn create_admin(target: Target, email: &str) -> anyhow::Result<NewAdmin> {
    let client = Client::connect(target).await?;
    let placeholder = crate::crypto::placeholder_password();
    let user = client
        .call(
            reqwest::Method::POST,
            "/users",
            Some(gatehouse_core::admin::new_admin(email, &placeholder)),
        )
        .await?;
    let user_id = user["user_id"]
        .as_str()
        .ok_or_else(|| anyhow!("the server answered no user_id"))?;
    let ticket = client
        .call(
            reqwest::Method::POST,
            "/tickets/password-change",
            Some(gatehouse_core::admin::invitation(user_id, &client.issuer)),
        )
        .await?;
    let link = ticket["ticket"]
        .as_str()
        .ok_or_else(|| anyhow!("the server answered no ticket"))?;
    Ok(NewAdmin {
        user_id: user_id.to_owned(),
        link: link.to_owned(),
        dashboard: format!("{}admin/", client.issuer),
    })
}

fn item(path: &str, id: &str) -> String {
    let id: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
    format!("/{path}/{id}")
}

fn parse_body(json: &str) -> anyhow::Result<Value> {
    let body: Value = serde_json::from_str(json).context("--json is not JSON")?;
    if !body.is_object() {
        bail!("--json must be a JSON object");
    }
    Ok(body)
}

/// A Management API session: the base URL and a token.
struct Client {
    http: reqwest::Client,
    api: String,
    token: String,
    issuer: String,
}

impl Client {
    /// Reads the server's issuer from its discovery document and takes a token for its
    /// Management API with the client credentials.
    async fn connect(target: Target) -> anyhow::Result<Self> {
        let (id, secret) = target.credentials.ok_or_else(|| {
            anyhow!(
                "no credentials: set GATEHOUSE_BOOTSTRAP_CLIENT_ID and \
                 GATEHOUSE_BOOTSTRAP_CLIENT_SECRET (or bootstrap_client_id and \
                 bootstrap_client_secret in a --config file)"
            )
        })?;
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()?;
        let base = target.base.trim_end_matches('/').to_owned();
        let discovery: Value = http
            .get(format!("{base}/.well-known/openid-configuration"))
            .send()
            .await
            .with_context(|| format!("cannot reach gatehouse at {base}"))?
            .error_for_status()
            .with_context(|| format!("{base} is not a gatehouse server"))?
            .json()
            .await?;
        let issuer = discovery["issuer"]
            .as_str()
            .ok_or_else(|| anyhow!("{base}'s discovery document has no issuer"))?;
        let audience = format!("{issuer}api/v2/");
        let response = http
            .post(format!("{base}/oauth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", id.as_str()),
                ("client_secret", secret.as_str()),
                ("audience", audience.as_str()),
            ])
            .send()
            .await?;
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        let Some(token) = answer["access_token"].as_str() else {
            bail!(
                "no Management API token ({status}): {}",
                answer["error_description"]
                    .as_str()
                    .unwrap_or("no description")
            );
        };
        Ok(Client {
            http,
            api: format!("{base}/api/v2"),
            token: token.to_owned(),
            issuer: issuer.to_owned(),
        })
    }

    /// One call; an error answer becomes the API's message.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.api))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        let answer: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if !status.is_success() {
            let message = answer["message"].as_str().unwrap_or("no message");
            bail!("{status}: {message}");
        }
        Ok(answer)
    }
}

/// A cell: strings as they are, absent as `-`, anything else as JSON.
fn cell(value: &Value) -> String {
    match value {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A list as aligned columns (the list may be wrapped in `{"<path>": [...]}` with totals).
fn table(resource: Resource, answer: &Value) -> String {
    let rows: &[Value] = answer
        .as_array()
        .or_else(|| answer[resource.path()].as_array())
        .map_or(&[], Vec::as_slice);
    let columns = resource.columns();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| columns.iter().map(|c| cell(&row[*c])).collect())
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .chain([c.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |values: Vec<String>| {
        let padded: Vec<String> = values
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v:<w$}"))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(columns.iter().map(|c| c.to_uppercase()).collect());
    for row in cells {
        out.push_str(&line(row));
    }
    out
}

/// One item as `field: value` lines, in the API's order.
fn fields(answer: &Value) -> String {
    match answer.as_object() {
        Some(object) => object
            .iter()
            .map(|(k, v)| format!("{k}: {}\n", cell(v)))
            .collect(),
        None => format!("{}\n", cell(answer)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_align_columns_and_mark_absent_fields() {
        let apps = json!([
            {"client_id": "abc", "name": "A long application name", "app_type": "spa"},
            {"client_id": "defghi", "name": "B"},
        ]);
        assert_eq!(
            table(Resource::Apps, &apps),
            "CLIENT_ID  NAME                     APP_TYPE\n\
             abc        A long application name  spa\n\
             defghi     B                        -\n"
        );
        // Lists with totals wrap the rows under the resource's name.
        let wrapped = json!({"users": [{"user_id": "auth0|1", "logins_count": 3}], "total": 1});
        assert!(table(Resource::Users, &wrapped).contains("auth0|1  -      -     3"));
    }

    #[test]
    fn one_item_is_a_field_per_line_and_ids_are_escaped_in_paths() {
        assert_eq!(
            fields(&json!({"id": "rol_1", "name": "x"})),
            "id: rol_1\nname: x\n"
        );
        assert_eq!(item("users", "auth0|1"), "/users/auth0%7C1");
        assert!(parse_body("[1]").is_err());
        assert!(parse_body("{").is_err());
    }
}
