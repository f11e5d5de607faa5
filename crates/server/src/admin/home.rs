//! The home page (charts of the last 30 days from the logs, and the counts people look for
//! first) and the getting-started page (what to do next, and quickstart snippets filled
//! with an application's real domain and client id).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use time::{Duration, Time};

use super::api::Api;
use super::charts::{Chart, chart};
use super::page::{Flash, Shell, internal, render};
use super::session::Admin;
use crate::AppState;

/// Days the home page charts.
const DAYS: i64 = 30;

#[derive(Template)]
#[template(path = "admin/home.html")]
struct Home {
    shell: Shell,
    charts: Vec<Chart>,
    active_users: i64,
    applications: usize,
    users_total: i64,
}

#[derive(Deserialize)]
struct Total {
    total: i64,
}

/// `GET /admin/`.
pub async fn home(
    State(state): State<AppState>,
    admin: Admin,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let api = Api::new(&state, &admin);
    let now = state.clock.now();
    let start = (now.date() - Duration::days(DAYS - 1))
        .with_time(Time::MIDNIGHT)
        .assume_utc();
    // Events still in the writer's buffer count too, as on `/logs`.
    state.logs.flush().await;
    let counts = match state
        .stores
        .logs
        .daily_counts(
            &gatehouse_core::log_type::DAILY_TYPES,
            start,
            start + Duration::days(DAYS),
        )
        .await
    {
        Ok(c) => c,
        Err(e) => return internal(e.into()),
    };
    let series = |pick: fn(&gatehouse_core::store::DailyCount) -> i64| -> Vec<(String, i64)> {
        (0..DAYS)
            .map(|i| {
                let key = (start + Duration::days(i)).date().to_string();
                let value = counts.iter().find(|c| c.day == key).map_or(0, pick);
                (key, value)
            })
            .collect()
    };
    let charts = vec![
        chart("Logins", "logins", &series(|c| c.logins), false),
        chart("Sign-ups", "signups", &series(|c| c.signups), false),
        chart("Failures", "failures", &series(|c| c.failures), true),
        chart("Active users", "active", &series(|c| c.active_users), false),
    ];
    let active_users = api.get::<i64>("/stats/active-users").await.unwrap_or(0);
    let applications = api
        .get::<Vec<serde_json::Value>>("/clients?fields=client_id&per_page=100")
        .await
        .map_or(0, |v| v.len());
    let users_total = api
        .get::<Total>("/users?per_page=1&include_totals=true&search_engine=v3")
        .await
        .map_or(0, |t| t.total);
    render(&Home {
        shell: Shell::new(&admin, "", Flash::from_query(&q)),
        charts,
        active_users,
        applications,
        users_total,
    })
}

/// An application in the picker.
#[derive(Deserialize)]
struct AppSummary {
    client_id: String,
    name: String,
    #[serde(default)]
    app_type: Option<String>,
    #[serde(default)]
    callbacks: Vec<String>,
    #[serde(default)]
    web_origins: Vec<String>,
}

#[derive(Template)]
#[template(path = "admin/start.html")]
struct Start {
    shell: Shell,
    apps: Vec<AppSummary>,
    chosen: Option<AppSummary>,
    snippets: Vec<Snippet>,
    issuer: String,
    domain: String,
}

/// A quickstart: a name, a note and the code, filled in.
pub struct Snippet {
    /// Element id (the copy button's target).
    pub id: &'static str,
    /// Which SDK.
    pub title: &'static str,
    /// Where it goes.
    pub note: &'static str,
    /// The code.
    pub code: String,
}

/// What Auth0's SDKs call the domain: the host for an https issuer (they add `https://`),
/// else the whole origin (auth0-spa-js and auth0-react keep an explicit `http://`).
pub fn sdk_domain(issuer: &str) -> String {
    let origin = issuer.trim_end_matches('/');
    origin.strip_prefix("https://").unwrap_or(origin).to_owned()
}

/// The quickstarts for an application at `issuer`.
pub fn snippets(issuer: &str, client_id: &str, callback: &str, origin: &str) -> Vec<Snippet> {
    let domain = sdk_domain(issuer);
    vec![
        Snippet {
            id: "spa-js",
            title: "auth0-spa-js",
            note: "npm install @auth0/auth0-spa-js. A single-page app; examples/spa-api is a whole one.",
            code: format!(
                "import {{ createAuth0Client }} from \"@auth0/auth0-spa-js\";\n\nconst auth0 = await createAuth0Client({{\n  domain: \"{domain}\",\n  clientId: \"{client_id}\",\n  authorizationParams: {{ redirect_uri: \"{callback}\" }},\n}});\n\nif (location.search.includes(\"code=\")) {{\n  await auth0.handleRedirectCallback();\n  history.replaceState({{}}, \"\", \"/\");\n}}\nif (!(await auth0.isAuthenticated())) await auth0.loginWithRedirect();\nconsole.log(await auth0.getUser());"
            ),
        },
        Snippet {
            id: "react",
            title: "auth0-react",
            note: "npm install @auth0/auth0-react",
            code: format!(
                "import {{ Auth0Provider, useAuth0 }} from \"@auth0/auth0-react\";\n\nroot.render(\n  <Auth0Provider\n    domain=\"{domain}\"\n    clientId=\"{client_id}\"\n    authorizationParams={{{{ redirect_uri: \"{origin}\" }}}}\n  >\n    <App />\n  </Auth0Provider>\n);\n\nfunction App() {{\n  const {{ isAuthenticated, loginWithRedirect, user }} = useAuth0();\n  return isAuthenticated ? <p>{{user.email}}</p> : <button onClick={{() => loginWithRedirect()}}>Log in</button>;\n}}"
            ),
        },
        Snippet {
            id: "nextjs",
            title: "nextjs-auth0 (.env.local)",
            note: "npm install @auth0/nextjs-auth0. A regular web application with a client secret (shown on the application's page).",
            code: format!(
                "AUTH0_DOMAIN={domain}\nAUTH0_CLIENT_ID={client_id}\nAUTH0_CLIENT_SECRET=<the application's client secret>\nAUTH0_SECRET=<openssl rand -hex 32>\nAPP_BASE_URL={origin}"
            ),
        },
        Snippet {
            id: "python",
            title: "auth0-python",
            note: "pip install auth0-python. Tokens for a machine-to-machine application.",
            code: format!(
                "from auth0.authentication import GetToken\n\ntoken = GetToken(\"{domain}\", \"{client_id}\", client_secret=\"<secret>\")\nanswer = token.client_credentials(audience=\"<your API's identifier>\")\nprint(answer[\"access_token\"])"
            ),
        },
        Snippet {
            id: "oidc",
            title: "Any OpenID Connect client",
            note: "Discovery finds everything else; use the authorization code flow with PKCE.",
            code: format!(
                "issuer:        {issuer}\ndiscovery:     {issuer}.well-known/openid-configuration\nclient_id:     {client_id}\nredirect_uri:  {callback}\nscope:         openid profile email"
            ),
        },
    ]
}

/// `GET /admin/start`.
pub async fn start(
    State(state): State<AppState>,
    admin: Admin,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let api = Api::new(&state, &admin);
    let apps: Vec<AppSummary> = match api
        .get("/clients?fields=client_id,name,app_type,callbacks,web_origins&per_page=100")
        .await
    {
        Ok(a) => a,
        Err(e) => return super::page::back("/admin/", Err(e.message)),
    };
    let apps: Vec<AppSummary> = apps
        .into_iter()
        .filter(|a| a.client_id != state.dashboard_client_id.as_str())
        .collect();
    let wanted = q.get("client_id");
    let chosen = wanted
        .and_then(|id| apps.iter().position(|a| &a.client_id == id))
        .or_else(|| {
            apps.iter()
                .position(|a| a.app_type.as_deref() == Some("spa"))
        });
    let (chosen, apps) = match chosen {
        Some(i) => {
            let mut apps = apps;
            let c = apps.remove(i);
            (Some(c), apps)
        }
        None => (None, apps),
    };
    let snippets = chosen.as_ref().map_or_else(Vec::new, |c| {
        let callback = c
            .callbacks
            .first()
            .cloned()
            .unwrap_or_else(|| "http://localhost:3000".to_owned());
        let origin = c
            .web_origins
            .first()
            .cloned()
            .unwrap_or_else(|| callback.clone());
        snippets(&state.issuer, &c.client_id, &callback, &origin)
    });
    render(&Start {
        shell: Shell::new(&admin, "start", Flash::from_query(&q)),
        apps,
        chosen,
        snippets,
        issuer: state.issuer.clone(),
        domain: sdk_domain(&state.issuer),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_domains_are_hosts_for_https_and_origins_for_http() {
        assert_eq!(sdk_domain("https://id.example/"), "id.example");
        assert_eq!(
            sdk_domain("http://127.0.0.1:8080/"),
            "http://127.0.0.1:8080"
        );
    }

    #[test]
    fn snippets_carry_the_real_values() {
        let s = snippets(
            "https://id.example/",
            "abc123",
            "https://app/cb",
            "https://app",
        );
        assert!(s.iter().all(|s| s.code.contains("abc123")));
        assert!(s[0].code.contains("domain: \"id.example\""));
        assert!(s[0].code.contains("redirect_uri: \"https://app/cb\""));
        assert!(
            s[4].code
                .contains("https://id.example/.well-known/openid-configuration")
        );
    }
}
