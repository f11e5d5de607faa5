//! `/api/v2/keys/signing`: the tenant's token signing keys, as Auth0 shows them.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gatehouse_core::signing_key::{KeyState, SigningKey};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

use super::error::MgmtError;
use crate::AppState;
use crate::signing;

fn pem(der_b64: &str) -> String {
    let mut out = String::from("-----BEGIN CERTIFICATE-----\r\n");
    for line in der_b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push_str("\r\n");
    }
    out.push_str("-----END CERTIFICATE-----\r\n");
    out
}

/// Auth0's signing key object: `kid`, PEM `cert`, SHA-1 `fingerprint`/`thumbprint` of the
/// certificate, and where the key stands in rotation.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    /// Key id.
    pub kid: String,
    /// The certificate, PEM.
    pub cert: String,
    /// SHA-1 of the certificate, colon-separated hex.
    pub fingerprint: String,
    /// SHA-1 of the certificate, lower-case hex.
    pub thumbprint: String,
    /// Whether it signs now.
    pub current: bool,
    /// Whether it signs next.
    pub next: bool,
    /// Whether it signed before the current one.
    pub previous: bool,
    /// Whether it is retired.
    pub revoked: bool,
    /// Since when it signs (the current key only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_since: Option<String>,
}

/// The answer of a rotation: the key now current.
#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedKeyView {
    /// The certificate, PEM.
    pub cert: String,
    /// Key id.
    pub kid: String,
}

impl KeyView {
    /// The view of `k`.
    pub fn new(k: &SigningKey) -> Self {
        let cert_b64 = k.public_jwk["x5c"][0].as_str().unwrap_or_default();
        let der = STANDARD.decode(cert_b64).unwrap_or_default();
        let sha1 = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &der);
        let hex: Vec<String> = sha1.as_ref().iter().map(|b| format!("{b:02X}")).collect();
        KeyView {
            kid: k.kid.clone(),
            cert: pem(cert_b64),
            fingerprint: hex.join(":"),
            thumbprint: hex.concat().to_lowercase(),
            current: k.state == KeyState::Current,
            next: k.state == KeyState::Next,
            previous: k.state == KeyState::Previous,
            revoked: k.state == KeyState::Retired,
            current_since: (k.state == KeyState::Current)
                .then(|| k.created_at.format(&Rfc3339).unwrap_or_default()),
        }
    }
}

/// `GET /keys/signing`: a bare array, as Auth0 returns it.
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<KeyView>>, MgmtError> {
    let keys = state.stores.signing_keys.signing_keys().await?;
    Ok(Json(keys.iter().map(KeyView::new).collect()))
}

/// `GET /keys/signing/{kid}`.
pub async fn get(
    State(state): State<AppState>,
    Path(kid): Path<String>,
) -> Result<Json<KeyView>, MgmtError> {
    let keys = state.stores.signing_keys.signing_keys().await?;
    keys.iter()
        .find(|k| k.kid == kid)
        .map(|k| Json(KeyView::new(k)))
        .ok_or_else(|| MgmtError::not_found("Signing key not found", "inexistent_signing_key"))
}

/// `POST /keys/signing/rotate`: 201 `{cert, kid}` of the key now current. This replica
/// switches at once; others within `KEY_REFRESH_INTERVAL`.
pub async fn rotate(State(state): State<AppState>) -> Result<Response, MgmtError> {
    let sealer = state.sealer.clone();
    let next = tokio::task::spawn_blocking(move || signing::generate(&sealer, KeyState::Next))
        .await
        .map_err(|e| MgmtError::Internal(e.into()))?
        .map_err(MgmtError::Internal)?;
    state
        .stores
        .signing_keys
        .rotate_signing_keys(&next)
        .await
        .map_err(|e| match e {
            gatehouse_core::store::StoreError::Conflict(_) => {
                MgmtError::conflict("Another key rotation is in progress")
            }
            other => other.into(),
        })?;
    state.refresh_keys().await.map_err(MgmtError::Internal)?;
    state.changed(crate::replicas::Change::Keys).await;
    let keys = state.stores.signing_keys.signing_keys().await?;
    let current = keys
        .iter()
        .find(|k| k.state == KeyState::Current)
        .ok_or_else(|| MgmtError::Internal(anyhow::anyhow!("no current key after rotation")))?;
    let view = KeyView::new(current);
    Ok((
        StatusCode::CREATED,
        Json(RotatedKeyView {
            cert: view.cert,
            kid: view.kid,
        }),
    )
        .into_response())
}

/// `PUT /keys/signing/{kid}/revoke`: retires the previous key at once (tokens it signed stop
/// verifying; Auth0's answer `{cert, kid}`). The current and next keys cannot be revoked:
/// rotate first. Other replicas drop it within `KEY_REFRESH_INTERVAL`.
pub async fn revoke(
    State(state): State<AppState>,
    Path(kid): Path<String>,
) -> Result<Json<RotatedKeyView>, MgmtError> {
    let keys = state.stores.signing_keys.signing_keys().await?;
    let key = keys
        .iter()
        .find(|k| k.kid == kid)
        .ok_or_else(|| MgmtError::not_found("Signing key not found", "inexistent_signing_key"))?;
    match key.state {
        KeyState::Current | KeyState::Next => {
            return Err(MgmtError::invalid_body(
                "The current and next signing keys cannot be revoked; rotate first.",
            ));
        }
        KeyState::Previous => {
            state
                .stores
                .signing_keys
                .revoke_previous_signing_key(&kid)
                .await?;
            state.refresh_keys().await.map_err(MgmtError::Internal)?;
            state.changed(crate::replicas::Change::Keys).await;
        }
        KeyState::Retired => {}
    }
    let view = KeyView::new(key);
    Ok(Json(RotatedKeyView {
        cert: view.cert,
        kid: view.kid,
    }))
}
