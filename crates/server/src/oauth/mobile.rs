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

/// iOS: `{applinks: {apps: [], details: [{appID, paths}]}, webcredentials: {apps}}`.
pub async fn apple_app_site_association(
    State(state): State<AppState>,
) -> Result<impl IntoResponse, OAuthError> {
    let mut details = Vec::new();
    let mut apps = Vec::new();
    for c in all_clients(&state).await? {
        let Some(ios) = c.settings.mobile.as_ref().and_then(|m| m.ios.as_ref()) else {
            continue;
        };
        let (Some(app_id), Some(bundle)) = (ios.app_id(), ios.app_bundle_identifier.as_deref())
        else {
            continue;
        };
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
        let Some(android) = c.settings.mobile.as_ref().and_then(|m| m.android.as_ref()) else {
            continue;
        };
        let Some(package) = android.app_package_name.as_deref() else {
            continue;
        };
        let prints = android.sha256_cert_fingerprints.clone().unwrap_or_default();
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
