//! A real HTTP server on loopback standing in for an SMS gateway or Twilio's API: it keeps
//! every request it receives and answers with a chosen status.

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::post;
use tokio::sync::mpsc;

/// One request as the receiver saw it.
#[derive(Debug)]
pub struct Received {
    pub path: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
}

pub struct SmsSink {
    pub url: String,
    pub requests: mpsc::UnboundedReceiver<Received>,
    status: Arc<AtomicU16>,
}

impl SmsSink {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, requests) = mpsc::unbounded_channel();
        let status = Arc::new(AtomicU16::new(200));
        let answer = status.clone();
        let app = Router::new().fallback(post(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            let answer = answer.clone();
            async move {
                let header = |n: &str| {
                    headers
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                };
                tx.send(Received {
                    path: uri.path().to_owned(),
                    authorization: header("authorization"),
                    content_type: header("content-type"),
                    body: String::from_utf8_lossy(&body).into_owned(),
                })
                .ok();
                let code = answer.load(Ordering::SeqCst);
                let status = StatusCode::from_u16(code).unwrap_or(StatusCode::OK);
                (
                    status,
                    [("content-type", "application/json")],
                    r#"{"code": 21211, "message": "The 'To' number is not a valid phone number."}"#,
                )
            }
        }));
        tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        SmsSink {
            url,
            requests,
            status,
        }
    }

    /// Makes later requests answer `code`.
    pub fn answer(&self, code: u16) {
        self.status.store(code, Ordering::SeqCst);
    }

    pub async fn next(&mut self) -> Received {
        tokio::time::timeout(std::time::Duration::from_secs(10), self.requests.recv())
            .await
            .expect("a request within 10 s")
            .expect("request")
    }
}
