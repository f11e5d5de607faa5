//! A bounded mixed load (client credentials, password logins, sign-ups, refresh rotation,
//! Management writes) and the ledger of what the client saw acknowledged, refused, or lost
//! without an answer (a cut connection, a 5xx): the last may or may not have happened.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::process::{BOOTSTRAP_ID, BOOTSTRAP_SECRET};

const REALM: &str = "http://auth0.com/oauth/grant-type/password-realm";
const DATABASE: &str = "Username-Password-Authentication";
const PASSWORD: &str = "Cluster-Sup3r-secret!";
const API: &str = "https://api.cluster.test";
/// Few, so that some login and sign-up usually runs while a replica dies.
const WORKERS: usize = 4;
/// Between one worker's requests: the load stays well inside the per-address limits.
const PACE: Duration = Duration::from_millis(15);

/// The applications, API and people the load uses, made through the Management API.
pub struct Target {
    pub base: String,
    pub mgmt_token: String,
    pub m2m: (String, String),
    pub app: (String, String),
    users: Vec<String>,
    /// Makes this run's names unique.
    pub tag: String,
    pub http: reqwest::Client,
}

/// What happened to one request, as the client saw it.
enum Outcome {
    Acked(Value),
    Refused(String),
    Unknown(String),
}

async fn send(request: reqwest::RequestBuilder) -> Outcome {
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) => return Outcome::Unknown(format!("{e}")),
    };
    let status = response.status();
    // A body cut off mid-way is no acknowledgement.
    let body = match response.text().await {
        Ok(b) => b,
        Err(e) => return Outcome::Unknown(format!("{status}, body lost: {e}")),
    };
    if status.is_success() {
        Outcome::Acked(serde_json::from_str(&body).unwrap_or(Value::Null))
    } else if status.is_server_error() {
        Outcome::Unknown(format!("{status} {body}"))
    } else {
        Outcome::Refused(format!("{status} {body}"))
    }
}

impl Target {
    /// Makes an API, a machine-to-machine application with a grant to it, a web application
    /// with the password and rotating refresh grants, and a few people.
    pub async fn provision(base: &str, issuer: &str) -> Target {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
        let token = http
            .post(format!("{base}/oauth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", BOOTSTRAP_ID),
                ("client_secret", BOOTSTRAP_SECRET),
                ("audience", &format!("{issuer}api/v2/")),
            ])
            .send()
            .await
            .expect("management token");
        let token: Value = token.json().await.expect("json");
        let mut target = Target {
            base: base.to_owned(),
            mgmt_token: token["access_token"].as_str().expect("token").to_owned(),
            m2m: Default::default(),
            app: Default::default(),
            users: Vec::new(),
            tag,
            http,
        };
        target
            .admin(
                "/resource-servers",
                json!({"name": "Cluster", "identifier": API, "allow_offline_access": true}),
            )
            .await;
        let m2m = target
            .admin(
                "/clients",
                json!({"name": "cluster-m2m", "app_type": "non_interactive"}),
            )
            .await;
        target.m2m = credentials(&m2m);
        target
            .admin(
                "/client-grants",
                json!({"client_id": target.m2m.0, "audience": API, "scope": []}),
            )
            .await;
        let app = target
            .admin(
                "/clients",
                json!({"name": "cluster-web", "app_type": "regular_web",
                       "grant_types": [REALM, "refresh_token"],
                       "refresh_token": {"rotation_type": "rotating", "expiration_type": "expiring"}}),
            )
            .await;
        target.app = credentials(&app);
        for i in 0..4 {
            let email = format!("regular-{i}-{}@cluster.test", target.tag);
            target
                .admin(
                    "/users",
                    json!({"connection": DATABASE, "email": email, "password": PASSWORD}),
                )
                .await;
            target.users.push(email);
        }
        target
    }

    /// A Management API POST that must succeed (set-up, not load).
    async fn admin(&self, path: &str, body: Value) -> Value {
        match send(self.mgmt(reqwest::Method::POST, path).json(&body)).await {
            Outcome::Acked(v) => v,
            Outcome::Refused(e) | Outcome::Unknown(e) => panic!("POST {path}: {e}"),
        }
    }

    pub fn mgmt(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}/api/v2{path}", self.base))
            .bearer_auth(&self.mgmt_token)
    }

    /// A token request at `base` (the balancer, or one replica directly).
    pub fn token_at(&self, base: &str, form: &[(&str, &str)]) -> reqwest::RequestBuilder {
        self.http.post(format!("{base}/oauth/token")).form(form)
    }

    pub async fn client_credentials_at(&self, base: &str, secret: &str) -> u16 {
        self.token_at(
            base,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &self.m2m.0),
                ("client_secret", secret),
                ("audience", API),
            ],
        )
        .send()
        .await
        .map_or(0, |r| r.status().as_u16())
    }

    /// Spends a refresh token; `Ok` carries its successor.
    async fn refresh(&self, token: &str) -> Outcome {
        send(self.token_at(
            &self.base,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", &self.app.0),
                ("client_secret", &self.app.1),
                ("refresh_token", token),
            ],
        ))
        .await
    }

    /// Whether `token` is its family's live token (spending it proves so, and rotates it).
    pub async fn is_live(&self, token: &str) -> Result<(), String> {
        match self.refresh(token).await {
            Outcome::Acked(_) => Ok(()),
            Outcome::Refused(e) | Outcome::Unknown(e) => Err(e),
        }
    }
}

fn credentials(client: &Value) -> (String, String) {
    (
        client["client_id"].as_str().expect("client_id").to_owned(),
        client["client_secret"].as_str().expect("secret").to_owned(),
    )
}

/// The kinds of request in the mix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Credentials,
    Login,
    Refresh,
    Signup,
    MgmtWrite,
}

const MIX: [Kind; 8] = [
    Kind::Credentials,
    Kind::Refresh,
    Kind::Login,
    Kind::Refresh,
    Kind::Signup,
    Kind::Credentials,
    Kind::MgmtWrite,
    Kind::Refresh,
];

/// What the client saw: per kind, counts; and the writes to check afterwards.
#[derive(Default)]
pub struct Ledger {
    pub acked: Vec<Kind>,
    pub refused: Vec<(Kind, String)>,
    pub unknown: Vec<(Kind, String)>,
    /// Sign-ups acknowledged (email), and those whose answer was lost.
    pub signups: Vec<String>,
    pub signups_unknown: Vec<String>,
    /// Roles created (name), and those whose answer was lost.
    pub roles: Vec<String>,
    pub roles_unknown: Vec<String>,
    /// Families whose last rotation was acknowledged: the token the client holds.
    pub live: VecDeque<String>,
    /// Families whose last rotation went unanswered: their state is unknown to the client.
    pub families_unknown: usize,
    pub families: usize,
}

impl Ledger {
    pub fn count(&self, kind: Kind) -> usize {
        self.acked.iter().filter(|k| **k == kind).count()
    }

    /// A summary for assertion messages.
    pub fn summary(&self) -> String {
        let kinds = [
            Kind::Credentials,
            Kind::Login,
            Kind::Refresh,
            Kind::Signup,
            Kind::MgmtWrite,
        ];
        let acked: Vec<String> = kinds
            .iter()
            .map(|k| format!("{k:?} {}", self.count(*k)))
            .collect();
        format!(
            "acked: {}; refused: {}; unanswered: {}; families: {} ({} unknown); first refusals: \
             {:?}; first unanswered: {:?}",
            acked.join(", "),
            self.refused.len(),
            self.unknown.len(),
            self.families,
            self.families_unknown,
            self.refused.iter().take(5).collect::<Vec<_>>(),
            self.unknown.iter().take(5).collect::<Vec<_>>(),
        )
    }
}

/// Runs the mix from `WORKERS` paced workers until `stop` is set, recording into the ledger.
pub async fn drive(target: Arc<Target>, ledger: Arc<Mutex<Ledger>>, stop: Arc<AtomicBool>) {
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let target = target.clone();
            let ledger = ledger.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut i = w;
                while !stop.load(Ordering::Relaxed) {
                    one(&target, &ledger, MIX[i % MIX.len()], i).await;
                    i += WORKERS;
                    tokio::time::sleep(PACE).await;
                }
            })
        })
        .collect();
    for w in workers {
        w.await.expect("worker");
    }
}

fn lock(ledger: &Mutex<Ledger>) -> std::sync::MutexGuard<'_, Ledger> {
    ledger
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn one(target: &Target, ledger: &Mutex<Ledger>, kind: Kind, n: usize) {
    match kind {
        Kind::Credentials => {
            let outcome = send(target.token_at(
                &target.base,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", &target.m2m.0),
                    ("client_secret", &target.m2m.1),
                    ("audience", API),
                ],
            ))
            .await;
            record(ledger, kind, outcome, |_, _| {});
        }
        Kind::Login => login(target, ledger, n).await,
        Kind::Refresh => {
            let held = lock(ledger).live.pop_front();
            let Some(token) = held else {
                return login(target, ledger, n).await;
            };
            let outcome = target.refresh(&token).await;
            let lost = matches!(outcome, Outcome::Unknown(_) | Outcome::Refused(_));
            record(ledger, kind, outcome, |l, body| {
                if let Some(next) = body["refresh_token"].as_str() {
                    l.live.push_back(next.to_owned());
                }
            });
            if lost {
                lock(ledger).families_unknown += 1;
            }
        }
        Kind::Signup => {
            let email = format!("signup-{n}-{}@cluster.test", target.tag);
            let outcome = send(
                target
                    .http
                    .post(format!("{}/dbconnections/signup", target.base))
                    .json(&json!({"client_id": target.app.0, "connection": DATABASE,
                                  "email": email, "password": PASSWORD})),
            )
            .await;
            let unknown = matches!(outcome, Outcome::Unknown(_));
            record(ledger, kind, outcome, |l, _| l.signups.push(email.clone()));
            if unknown {
                lock(ledger).signups_unknown.push(email);
            }
        }
        Kind::MgmtWrite => {
            let name = format!("role-{n}-{}", target.tag);
            let outcome = send(
                target
                    .mgmt(reqwest::Method::POST, "/roles")
                    .json(&json!({"name": name})),
            )
            .await;
            let unknown = matches!(outcome, Outcome::Unknown(_));
            record(ledger, kind, outcome, |l, _| l.roles.push(name.clone()));
            if unknown {
                lock(ledger).roles_unknown.push(name);
            }
        }
    }
}

async fn login(target: &Target, ledger: &Mutex<Ledger>, n: usize) {
    let user = &target.users[n % target.users.len()];
    let outcome = send(target.token_at(
        &target.base,
        &[
            ("grant_type", REALM),
            ("client_id", &target.app.0),
            ("client_secret", &target.app.1),
            ("username", user),
            ("password", PASSWORD),
            ("realm", DATABASE),
            ("audience", API),
            ("scope", "openid offline_access"),
        ],
    ))
    .await;
    record(ledger, Kind::Login, outcome, |l, body| {
        if let Some(token) = body["refresh_token"].as_str() {
            l.live.push_back(token.to_owned());
            l.families += 1;
        }
    });
}

fn record(
    ledger: &Mutex<Ledger>,
    kind: Kind,
    outcome: Outcome,
    acked: impl FnOnce(&mut Ledger, &Value),
) {
    let mut l = lock(ledger);
    match outcome {
        Outcome::Acked(body) => {
            l.acked.push(kind);
            acked(&mut l, &body);
        }
        Outcome::Refused(e) => l.refused.push((kind, e)),
        Outcome::Unknown(e) => l.unknown.push((kind, e)),
    }
}
