//! A real SMTP server on loopback that keeps what it receives, so tests read the mails
//! gatehouse sends over an actual SMTP conversation (no mocked mailer).

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

pub struct SmtpSink {
    pub port: u16,
    pub mails: mpsc::UnboundedReceiver<String>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        Self::start_with(std::time::Duration::ZERO, 0).await
    }

    /// A server that waits `greeting_delay` before greeting each connection (a slow relay),
    /// and turns the first `refuse` connections away with a 421 (a relay that is down).
    pub async fn start_with(greeting_delay: std::time::Duration, refuse: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (tx, mails) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut refuse = refuse;
            while let Ok((stream, _)) = listener.accept().await {
                let tx = tx.clone();
                let refused = refuse > 0;
                refuse = refuse.saturating_sub(1);
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut lines = BufReader::new(read).lines();
                    tokio::time::sleep(greeting_delay).await;
                    if refused {
                        write
                            .write_all(b"421 localhost busy, try later\r\n")
                            .await
                            .ok();
                        return;
                    }
                    write.write_all(b"220 localhost ESMTP test\r\n").await.ok();
                    let mut data: Option<String> = None;
                    while let Ok(Some(line)) = lines.next_line().await {
                        if let Some(body) = data.as_mut() {
                            if line == "." {
                                tx.send(std::mem::take(body)).ok();
                                data = None;
                                write.write_all(b"250 queued\r\n").await.ok();
                            } else {
                                body.push_str(line.strip_prefix('.').unwrap_or(&line));
                                body.push('\n');
                            }
                            continue;
                        }
                        let verb = line
                            .split(' ')
                            .next()
                            .unwrap_or_default()
                            .to_ascii_uppercase();
                        let reply: &[u8] = match verb.as_str() {
                            "EHLO" => b"250-localhost\r\n250 8BITMIME\r\n",
                            "HELO" | "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 ok\r\n",
                            "DATA" => {
                                data = Some(String::new());
                                b"354 go ahead\r\n"
                            }
                            "QUIT" => {
                                write.write_all(b"221 bye\r\n").await.ok();
                                break;
                            }
                            _ => b"502 not implemented\r\n",
                        };
                        write.write_all(reply).await.ok();
                    }
                });
            }
        });
        SmtpSink { port, mails }
    }

    pub async fn next_mail(&mut self) -> String {
        tokio::time::timeout(std::time::Duration::from_secs(10), self.mails.recv())
            .await
            .expect("a mail within 10 s")
            .expect("mail")
    }
}

/// The first link to `path` in a mail, from `path` on (quoted-printable undone as a mail
/// client would: soft line breaks and `=3D`).
pub fn link_in(mail: &str, path: &str) -> String {
    let text = mail.replace("=\n", "").replace("=3D", "=");
    let start = text
        .find(path)
        .unwrap_or_else(|| panic!("no {path} in {text}"));
    text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect()
}

/// Makes `sink` the tenant's email provider.
pub async fn use_sink(m: &crate::helpers::Mgmt<'_>, sink: &SmtpSink) {
    let (status, body) = m
        .post(
            "/emails/provider",
            serde_json::json!({"name": "smtp", "default_from_address": "id@example.com",
                "credentials": {"smtp_host": "127.0.0.1", "smtp_port": sink.port,
                                "smtp_user": "", "smtp_pass": ""}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}
