//! `BoundForm<T>`: the extractor of the Universal Login form POSTs. It reads the form, opens
//! its sealed transaction and checks that the transaction is bound to this browser's CSRF
//! cookie (login CSRF); anything wrong is answered with the tenant's branded error page.

use std::sync::Arc;

use axum::Form;
use axum::extract::{FromRequest, Request};
use axum::http::HeaderMap;
use axum::response::Response;
use gatehouse_core::client::Client;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::authn::cookies::{CSRF_COOKIE, cookie};
use crate::authn::transaction::Transaction;
use crate::pages::{self, Brand};

/// The fields of a form that also carries a sealed transaction (`tx`).
pub trait TxForm: DeserializeOwned + Send {
    /// The error page's sentence when the form cannot be read.
    const MALFORMED: &'static str;
}

/// What every Universal Login form posts: the sealed transaction beside the form's fields.
#[derive(Deserialize)]
struct Posted<T> {
    tx: String,
    #[serde(flatten)]
    form: T,
}

/// A submitted form with its transaction, bound to this browser, and its client.
pub struct BoundForm<T> {
    /// The form's other fields.
    pub form: T,
    /// The opened transaction.
    pub tx: Transaction,
    /// The transaction's client.
    pub client: Arc<Client>,
    /// The tenant's branding, for the pages that answer.
    pub tenant: Brand,
}

impl<T: TxForm> FromRequest<AppState> for BoundForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let mut tenant = pages::brand_for(state, req.headers()).await;
        let headers = req.headers().clone();
        let Ok(Form(Posted { tx, form })) = Form::<Posted<T>>::from_request(req, state).await
        else {
            return Err(pages::error_page(&tenant, T::MALFORMED));
        };
        let (tx, client) = bound_transaction(state, &headers, &tx, &tenant).await?;
        tenant.speak(tx.lang.as_deref());
        Ok(BoundForm {
            form,
            tx,
            client,
            tenant,
        })
    }
}

/// The transaction of a submitted form or link, if it is sealed by us, unexpired, and bound
/// to this browser's CSRF cookie (login CSRF); otherwise the error page to show.
pub async fn bound_transaction(
    state: &AppState,
    headers: &HeaderMap,
    sealed: &str,
    tenant: &Brand,
) -> Result<(Transaction, Arc<Client>), Response> {
    let Some(tx) = Transaction::open(state, sealed) else {
        return Err(pages::error_page(
            tenant,
            "This login page has expired. Go back to the application and start again.",
        ));
    };
    let bound = cookie(headers, CSRF_COOKIE)
        .is_some_and(|c| bool::from(c.as_bytes().ct_eq(tx.csrf.as_bytes())));
    if !bound {
        return Err(pages::error_page(
            tenant,
            "This form was not opened in this browser. Go back to the application and start again.",
        ));
    }
    match state.catalog.client(&tx.client_id).await {
        Ok(Some(client)) => Ok((tx, client)),
        _ => Err(pages::error_page(tenant, "Unknown client.")),
    }
}
