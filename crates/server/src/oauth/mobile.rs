//! `/.well-known/apple-app-site-association` and `/.well-known/assetlinks.json`, built from
//! the clients' `mobile` settings as Auth0 does, so iOS Universal Links and Android App
//! Links can open native apps from the tenant's domain.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use gatehouse_core::client::Client;
use gatehouse_core::store::Page;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::OAuthError;

async fn all_clients(state: &AppState) -> Result<Vec<Client>, OAuthError> {
    Ok(state
        .stores
        .clients
        .list_clients(Page {
            offset: 0,
            limit: u32::MAX,
        })
        .await?)
}

fn mobile<'a>(c: &'a Client, platform: &str) -> Option<&'a serde_json::Map<String, Value>> {
    c.settings.extra.get("mobile")?.get(platform)?.as_object()
}

/// iOS: `{applinks: {apps: [], details: [{appID, paths}]}, webcredentials: {apps}}`.
pub async fn apple_app_site_association(
    State(state): State<AppState>,
) -> Result<impl IntoResponse, OAuthError> {
    let mut details = Vec::new();
    let mut apps = Vec::new();
    for c in all_clients(&state).await? {
        let Some(ios) = mobile(&c, "ios") else {
            continue;
        };
        let (Some(team), Some(bundle)) = (
            ios.get("team_id").and_then(Value::as_str),
            ios.get("app_bundle_identifier").and_then(Value::as_str),
        ) else {
            continue;
        };
        let app_id = format!("{team}.{bundle}");
        details.push(json!({"appID": app_id, "paths": [format!("/ios/{bundle}/*")]}));
        apps.push(Value::String(app_id));
    }
    Ok((
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(json!({
            "applinks": {"apps": [], "details": details},
            "webcredentials": {"apps": apps},
        })),
    ))
}

/// Android: one statement per app with its signing certificate fingerprints.
pub async fn assetlinks(State(state): State<AppState>) -> Result<impl IntoResponse, OAuthError> {
    let mut statements = Vec::new();
    for c in all_clients(&state).await? {
        let Some(android) = mobile(&c, "android") else {
            continue;
        };
        let Some(package) = android.get("app_package_name").and_then(Value::as_str) else {
            continue;
        };
        let prints = android
            .get("sha256_cert_fingerprints")
            .cloned()
            .unwrap_or_else(|| json!([]));
        statements.push(json!({
            "relation": ["delegate_permission/common.handle_all_urls"],
            "target": {
                "namespace": "android_app",
                "package_name": package,
                "sha256_cert_fingerprints": prints,
            },
        }));
    }
    Ok((
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(Value::Array(statements)),
    ))
}
