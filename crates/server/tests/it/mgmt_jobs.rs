//! `POST /api/v2/jobs/users-imports`: users with bcrypt, Argon2 and Auth0's other custom
//! hashes come in, log in with their old passwords, and leave with Argon2id hashes; bad
//! entries are reported per user; `upsert` updates.

use gatehouse_core::id::UserId;
use serde_json::{Value, json};

use crate::helpers::{Mgmt, TestApp, assert_mgmt_error, spawn_app};

const BOUNDARY: &str = "gatehouse-test-boundary-7MA4YWxkTrZu0gW";

/// A `multipart/form-data` body with text fields and one `users` file.
fn multipart(fields: &[(&str, &str)], users: Option<&[u8]>) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some(file) = users {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"users\"; filename=\"users.json\"\r\nContent-Type: application/json\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(file);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// Posts an import and, when it is accepted, waits for the background job to finish: the
/// job as `GET /jobs/{id}` shows it then.
pub(crate) async fn import(
    mgmt: &Mgmt<'_>,
    fields: &[(&str, &str)],
    users: Option<&[u8]>,
) -> (u16, Value) {
    let (status, job) = start_import(mgmt, fields, users).await;
    if status != 201 {
        return (status, job);
    }
    assert_eq!(job["status"], "pending", "{job}");
    (status, finished(mgmt, &job).await)
}

/// The job once it is no longer `pending` or `processing`.
async fn finished(mgmt: &Mgmt<'_>, job: &Value) -> Value {
    let path = format!("/jobs/{}", job["id"].as_str().expect("id"));
    for _ in 0..600 {
        let (_, now) = mgmt.get(&path).await;
        if now["status"] != "pending" && now["status"] != "processing" {
            return now;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the import did not finish in 30 s");
}

/// Posts an import and returns the answer as it is (the job just made).
async fn start_import(
    mgmt: &Mgmt<'_>,
    fields: &[(&str, &str)],
    users: Option<&[u8]>,
) -> (u16, Value) {
    let r = mgmt
        .app
        .client
        .post(mgmt.app.url("/api/v2/jobs/users-imports"))
        .bearer_auth(&mgmt.token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(multipart(fields, users))
        .send()
        .await
        .expect("import");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

pub(crate) async fn database_connection_id(mgmt: &Mgmt<'_>) -> String {
    let (_, list) = mgmt
        .get("/connections?name=Username-Password-Authentication")
        .await;
    list[0]["id"].as_str().expect("id").to_owned()
}

pub(crate) async fn password_login(
    app: &TestApp,
    client: &Value,
    username: &str,
    password: &str,
) -> u16 {
    app.client
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", client["client_id"].as_str().expect("id")),
            (
                "client_secret",
                client["client_secret"].as_str().expect("secret"),
            ),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .expect("token")
        .status()
        .as_u16()
}

async fn stored_hash(app: &TestApp, user_id: &str) -> String {
    app.state
        .stores
        .users
        .user(&UserId::from(user_id))
        .await
        .expect("read")
        .expect("user")
        .identities[0]
        .password_hash
        .clone()
        .expect("hash")
}

/// The default directory takes password logins, from a backend client that may use them.
pub(crate) async fn password_backend(mgmt: &Mgmt<'_>) -> Value {
    mgmt.patch(
        "/tenants/settings",
        json!({"default_directory": "Username-Password-Authentication"}),
    )
    .await;
    let (_, client) = mgmt
        .post(
            "/clients",
            json!({"name": "backend", "app_type": "regular_web", "grant_types": ["password"]}),
        )
        .await;
    client
}

#[tokio::test]
async fn imported_users_log_in_and_their_hashes_are_upgraded() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let client = password_backend(&mgmt).await;
    mgmt.post(
        "/users",
        json!({"connection": "Username-Password-Authentication", "email": "taken@example.com",
               "password": "Sup3r-secret!"}),
    )
    .await;
    let connection_id = database_connection_id(&mgmt).await;

    let bcrypt_hash = bcrypt::hash("old-bcrypt-pass", 4).expect("bcrypt");
    let argon_hash = {
        use argon2::password_hash::PasswordHasher as _;
        argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon2::Params::new(4096, 1, 1, None).expect("params"),
        )
        .hash_password(b"old-argon-pass")
        .expect("argon2")
        .to_string()
    };
    let users = json!([
        {"email": "bea@example.com", "email_verified": true, "user_id": "legacy-1",
         "given_name": "Bea", "password_hash": bcrypt_hash, "user_metadata": {"plan": "gold"}},
        {"email": "cy@example.com",
         "custom_password_hash": {"algorithm": "argon2", "hash": {"value": argon_hash}}},
        {"email": "not-an-email", "password_hash": bcrypt_hash},
        {"email": "taken@example.com", "password_hash": bcrypt_hash},
        {"email": "odd@example.com", "shoe_size": 44},
        {"email": "md5@example.com",
         "custom_password_hash": {"algorithm": "md5", "hash": {"value": "abc"}}},
        {"email": "short@example.com", "password_hash": "$2b$10$tooshort"},
        "not an object",
    ]);
    let (status, job) = import(
        &mgmt,
        &[
            ("connection_id", &connection_id),
            ("external_id", "batch-1"),
            ("upsert", "false"),
        ],
        Some(users.to_string().as_bytes()),
    )
    .await;
    assert_eq!(status, 201, "{job}");
    assert!(job["id"].as_str().expect("id").starts_with("job_"));
    assert_eq!(job["type"], "users_import");
    assert_eq!(job["status"], "completed");
    assert_eq!(job["external_id"], "batch-1");
    assert_eq!(
        job["summary"],
        json!({"failed": 6, "updated": 0, "inserted": 2, "total": 8})
    );
    let id = job["id"].as_str().expect("id");
    let (status, again) = mgmt.get(&format!("/jobs/{id}")).await;
    assert_eq!((status, &again), (200, &job));
    let (status, errors) = mgmt.get(&format!("/jobs/{id}/errors")).await;
    assert_eq!(status, 200);
    let codes: Vec<&str> = errors
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["errors"][0]["code"].as_str().expect("code"))
        .collect();
    assert_eq!(
        codes,
        [
            "INVALID_FORMAT",
            "DUPLICATED_USER",
            "INVALID_FORMAT",
            "INVALID_FORMAT",
            "INVALID_FORMAT",
            "INVALID_FORMAT"
        ]
    );
    assert!(
        !errors.to_string().contains(&bcrypt_hash[7..]),
        "hashes are never echoed: {errors}"
    );
    assert_mgmt_error(&mgmt.get("/jobs/job_nope").await, 404, "inexistent_job");

    // The imported user keeps its id, profile and metadata, and logs in with the old password.
    let (_, bea) = mgmt.get("/users/auth0%7Clegacy-1").await;
    assert_eq!(bea["given_name"], "Bea");
    assert_eq!(bea["user_metadata"], json!({"plan": "gold"}));
    assert_eq!(bea["email_verified"], true);
    assert_eq!(
        password_login(&app, &client, "bea@example.com", "wrong-pass").await,
        403
    );
    assert!(
        stored_hash(&app, "auth0|legacy-1")
            .await
            .starts_with("$2b$")
    );
    assert_eq!(
        password_login(&app, &client, "bea@example.com", "old-bcrypt-pass").await,
        200
    );
    let upgraded = stored_hash(&app, "auth0|legacy-1").await;
    assert!(
        upgraded.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{upgraded}"
    );
    assert_eq!(
        password_login(&app, &client, "bea@example.com", "old-bcrypt-pass").await,
        200,
        "the upgraded hash verifies the same password"
    );

    // Argon2id with weaker parameters is upgraded the same way.
    let (_, found) = mgmt.get("/users-by-email?email=cy%40example.com").await;
    let cy = found[0]["user_id"].as_str().expect("id").to_owned();
    assert_eq!(
        password_login(&app, &client, "cy@example.com", "old-argon-pass").await,
        200
    );
    assert!(
        stored_hash(&app, &cy)
            .await
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
    );

    // upsert: the same email again updates the user, but never its password.
    let new_hash = bcrypt::hash("newer-bcrypt-pass", 4).expect("bcrypt");
    let (status, job) = import(
        &mgmt,
        &[("connection_id", &connection_id), ("upsert", "true")],
        Some(
            json!([{"email": "bea@example.com", "given_name": "Beatrice", "password_hash": new_hash}])
                .to_string()
                .as_bytes(),
        ),
    )
    .await;
    assert_eq!(status, 201, "{job}");
    assert_eq!(
        job["summary"],
        json!({"failed": 0, "updated": 1, "inserted": 0, "total": 1})
    );
    let (status, _) = mgmt
        .get(&format!("/jobs/{}/errors", job["id"].as_str().expect("id")))
        .await;
    assert_eq!(status, 204);
    let (_, bea) = mgmt.get("/users/auth0%7Clegacy-1").await;
    assert_eq!(bea["given_name"], "Beatrice");
    assert_eq!(bea["user_metadata"], json!({"plan": "gold"}), "kept");
    assert_eq!(
        password_login(&app, &client, "bea@example.com", "newer-bcrypt-pass").await,
        403,
        "upsert does not replace credentials"
    );
    assert_eq!(
        password_login(&app, &client, "bea@example.com", "old-bcrypt-pass").await,
        200
    );
}

#[tokio::test]
async fn bad_imports_are_refused_whole() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let connection_id = database_connection_id(&mgmt).await;
    let one = json!([{"email": "a@example.com"}]).to_string();

    // Not multipart at all.
    let got = mgmt
        .post(
            "/jobs/users-imports",
            json!({"connection_id": connection_id}),
        )
        .await;
    assert_mgmt_error(&got, 400, "invalid_body");
    for (fields, file) in [
        (vec![], Some(one.as_bytes())),
        (vec![("connection_id", connection_id.as_str())], None),
        (
            vec![("connection_id", "con_doesnotexist00")],
            Some(one.as_bytes()),
        ),
        (
            vec![("connection_id", connection_id.as_str())],
            Some(b"{\"not\": \"an array\"}".as_slice()),
        ),
        (
            vec![("connection_id", connection_id.as_str()), ("upsert", "yes")],
            Some(one.as_bytes()),
        ),
        (
            vec![("connection_id", connection_id.as_str()), ("surprise", "1")],
            Some(one.as_bytes()),
        ),
    ] {
        let got = import(&mgmt, &fields, file).await;
        assert_mgmt_error(&got, 400, "invalid_body");
    }
    // More than the file limit.
    let big = vec![b' '; gatehouse_core::job::MAX_IMPORT_BYTES + 1];
    let got = import(&mgmt, &[("connection_id", &connection_id)], Some(&big)).await;
    assert_mgmt_error(&got, 413, "too_large");
    // A passwordless connection takes no imports.
    let (_, email) = mgmt
        .post(
            "/connections",
            json!({"name": "email", "strategy": "email"}),
        )
        .await;
    if let Some(id) = email["id"].as_str() {
        let got = import(&mgmt, &[("connection_id", id)], Some(one.as_bytes())).await;
        assert_mgmt_error(&got, 400, "invalid_body");
    }
    // Reading jobs needs a users scope.
    let token = app.mgmt_token(Some("read:clients")).await;
    let r = app
        .client
        .get(app.url("/api/v2/jobs/job_x"))
        .bearer_auth(token)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn upsert_never_rewrites_a_user_through_a_linked_identity() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let connection_id = database_connection_id(&mgmt).await;
    let mut ids = vec![];
    for email in ["owner@example.com", "annex@example.com"] {
        let (_, u) = mgmt
            .post(
                "/users",
                json!({"connection": "Username-Password-Authentication", "email": email,
                       "password": "Sup3r-secret!", "given_name": "Owner", "verify_email": false}),
            )
            .await;
        ids.push(u["user_id"].as_str().expect("id").to_owned());
    }
    let (status, _) = mgmt
        .post(
            &format!("/users/{}/identities", ids[0].replace('|', "%7C")),
            json!({"provider": "auth0", "user_id": ids[1].split_once('|').expect("id").1}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, job) = import(
        &mgmt,
        &[("connection_id", &connection_id), ("upsert", "true")],
        Some(
            json!([{"email": "annex@example.com", "given_name": "Intruder", "blocked": true}])
                .to_string()
                .as_bytes(),
        ),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(job["summary"]["failed"], 1, "{job}");
    let (_, owner) = mgmt
        .get(&format!("/users/{}", ids[0].replace('|', "%7C")))
        .await;
    assert_eq!(owner["given_name"], "Owner");
    assert_eq!(owner["blocked"], false);
}

#[tokio::test]
async fn every_auth0_custom_password_hash_logs_in_once_then_is_argon2id() {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
    use sha2::Digest as _;
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let client = password_backend(&mgmt).await;
    let connection_id = database_connection_id(&mgmt).await;
    let pw = "Legacy-pass-1";
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let mut pbkdf2_out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(pw.as_bytes(), b"pepper-salt", 1000, &mut pbkdf2_out);
    let mut scrypt_out = [0u8; 32];
    scrypt::scrypt(
        pw.as_bytes(),
        b"scrypt-salt",
        &scrypt::Params::new(10, 8, 1).expect("params"),
        &mut scrypt_out,
    )
    .expect("scrypt");
    let hmac_value = {
        use hmac::{KeyInit, Mac};
        let mut m = hmac::Hmac::<sha2::Sha512>::new_from_slice(b"site-key").expect("key");
        m.update(format!("{pw}NaCl").as_bytes());
        STANDARD.encode(m.finalize().into_bytes())
    };
    let ssha = STANDARD.encode(
        [
            sha1::Sha1::digest(format!("{pw}salt").as_bytes()).to_vec(),
            b"salt".to_vec(),
        ]
        .concat(),
    );
    let cases = [
        (
            "md5",
            json!({"algorithm": "md5", "hash": {"value": hex(&md5::Md5::digest(pw.as_bytes())), "encoding": "hex"}}),
        ),
        (
            "sha1",
            json!({"algorithm": "sha1", "hash": {"value": STANDARD.encode(sha1::Sha1::digest(format!("NaCl{pw}").as_bytes())), "encoding": "base64"},
                        "salt": {"value": "NaCl", "encoding": "utf8", "position": "prefix"}}),
        ),
        (
            "sha256",
            json!({"algorithm": "sha256", "hash": {"value": hex(&sha2::Sha256::digest(pw.as_bytes())), "encoding": "hex"}}),
        ),
        (
            "sha512",
            json!({"algorithm": "sha512", "hash": {"value": hex(&sha2::Sha512::digest(format!("{pw}NaCl").as_bytes())), "encoding": "hex"},
                          "salt": {"value": "NaCl", "position": "suffix"}}),
        ),
        (
            "hmac",
            json!({"algorithm": "hmac", "hash": {"value": hmac_value, "encoding": "base64", "digest": "sha512",
                        "key": {"value": "site-key", "encoding": "utf8"}}, "salt": {"value": "NaCl", "position": "suffix"}}),
        ),
        (
            "pbkdf2",
            json!({"algorithm": "pbkdf2", "hash": {"value": format!("$pbkdf2-sha256$i=1000,l=32${}${}",
                          STANDARD_NO_PAD.encode(b"pepper-salt"), STANDARD_NO_PAD.encode(pbkdf2_out)), "encoding": "utf8"}}),
        ),
        (
            "scrypt",
            json!({"algorithm": "scrypt", "hash": {"value": hex(&scrypt_out), "encoding": "hex"},
                          "salt": {"value": "scrypt-salt", "encoding": "utf8"}, "keylen": 32, "cost": 1024}),
        ),
        (
            "ldap",
            json!({"algorithm": "ldap", "hash": {"value": format!("{{SSHA}}{ssha}"), "encoding": "utf8"}}),
        ),
    ];
    let users: Vec<Value> = cases
        .iter()
        .map(|(name, custom)| {
            json!({"email": format!("{name}@example.com"), "user_id": format!("old-{name}"),
                   "custom_password_hash": custom})
        })
        .collect();
    let (status, job) = import(
        &mgmt,
        &[("connection_id", &connection_id)],
        Some(Value::Array(users).to_string().as_bytes()),
    )
    .await;
    assert_eq!(status, 201, "{job}");
    assert_eq!(job["summary"]["inserted"], cases.len(), "{job}");
    for (name, _) in &cases {
        let email = format!("{name}@example.com");
        let id = format!("auth0|old-{name}");
        assert_eq!(
            password_login(&app, &client, &email, "wrong").await,
            403,
            "{name}"
        );
        assert!(
            stored_hash(&app, &id).await.starts_with("$gh-legacy$"),
            "{name}"
        );
        assert_eq!(
            password_login(&app, &client, &email, pw).await,
            200,
            "{name}"
        );
        assert!(
            stored_hash(&app, &id)
                .await
                .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{name} is upgraded"
        );
        assert_eq!(
            password_login(&app, &client, &email, pw).await,
            200,
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_large_import_runs_in_the_background_and_shows_its_progress() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let connection_id = database_connection_id(&mgmt).await;
    // Past Auth0's 500 KB per file, and past one save of the counts.
    let users: Vec<Value> = (0..2500)
        .map(|n| {
            json!({"email": format!("bulk{n}@example.com"), "email_verified": true,
                   "user_metadata": {"note": "x".repeat(200)}})
        })
        .collect();
    let mut file = serde_json::to_vec(&users).expect("json");
    assert!(file.len() > 500 * 1024, "{} bytes", file.len());
    // And one entry the import refuses, in the middle.
    file.splice(1..1, br#"{"email": "not an email"},"#.iter().copied());
    let (status, job) =
        start_import(&mgmt, &[("connection_id", &connection_id)], Some(&file)).await;
    assert_eq!(status, 201, "{job}");
    assert_eq!(job["status"], "pending");
    assert_eq!(
        job["summary"],
        json!({"failed": 0, "updated": 0, "inserted": 0, "total": 2501})
    );
    let done = finished(&mgmt, &job).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(
        done["summary"],
        json!({"failed": 1, "updated": 0, "inserted": 2500, "total": 2501})
    );
    let (_, found) = mgmt
        .get("/users-by-email?email=bulk2499%40example.com")
        .await;
    assert_eq!(found.as_array().map(Vec::len), Some(1));

    // Still one JSON array or nothing.
    let (status, body) =
        start_import(&mgmt, &[("connection_id", &connection_id)], Some(b"[{}, ")).await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn at_most_two_imports_run_at_once() {
    let app = spawn_app().await;
    let mgmt = app.mgmt().await;
    let connection_id = database_connection_id(&mgmt).await;
    let file = br#"[{"email": "queued@example.com"}]"#;
    let fields = [("connection_id", connection_id.as_str())];
    // Two imports hold this server's places (as long-running ones would).
    let busy = app
        .state
        .imports
        .clone()
        .try_acquire_many_owned(2)
        .expect("two free places");
    let refused = start_import(&mgmt, &fields, Some(file)).await;
    assert_mgmt_error(&refused, 429, "too_many_requests");
    drop(busy);
    let (status, job) = import(&mgmt, &fields, Some(file)).await;
    assert_eq!(
        (status, job["status"].clone()),
        (201, json!("completed")),
        "{job}"
    );
    // A finished import gives its place back (just after it saved its outcome).
    for _ in 0..100 {
        if app.state.imports.available_permits() == 2 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the import kept its place");
}

/// An import whose server died mid-way (its file was only in memory) does not stay
/// `processing` for ever: the next sweep of any server on the database fails it.
#[tokio::test]
async fn an_import_cut_by_a_stop_is_failed_by_the_next_start() {
    let db = crate::helpers::TestDb::sqlite();
    let first = TestApp::builder().db(db.clone()).spawn().await;
    let long_ago = first.state.clock.now() - time::Duration::hours(1);
    let job = gatehouse_core::job::Job {
        id: "job_interrupted0000000".into(),
        kind: "users_import".into(),
        status: "processing".into(),
        connection_id: "con_x".into(),
        external_id: None,
        created_at: long_ago,
        summary: Default::default(),
        errors: vec![],
        export: None,
    };
    first
        .state
        .stores
        .jobs
        .save_job(&job, long_ago)
        .await
        .expect("save");
    drop(first);
    let second = TestApp::builder().db(db).spawn().await;
    let started = std::time::Instant::now();
    loop {
        let now = second.state.stores.jobs.job(&job.id).await.expect("job");
        let status = now.expect("kept").status;
        if status == "failed" {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "still {status}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
