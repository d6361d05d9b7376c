//! A loopback SMTP server that keeps what it receives, and the mails parsed as a mail client
//! would (`mail-parser`): enough SMTP for lettre (EHLO, MAIL, RCPT, DATA, RSET, QUIT).

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::{Mutex, mpsc};

pub struct SmtpSink {
    pub url: String,
    received: Mutex<mpsc::UnboundedReceiver<ReceivedMail>>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Clone, Debug)]
pub struct ReceivedMail {
    pub envelope_to: Vec<String>,
    pub subject: String,
    pub to: String,
    pub body: String,
}

impl ReceivedMail {
    /// The first link in the body that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> String {
        self.body
            .split_whitespace()
            .find(|w| w.starts_with(prefix))
            .unwrap_or_else(|| panic!("no link {prefix} in: {}", self.body))
            .to_owned()
    }
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind smtp");
        let port = listener.local_addr().expect("addr").port();
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let tx = tx.clone();
                tokio::spawn(async move {
                    let _ = converse(stream, tx).await;
                });
            }
        });
        Self {
            url: format!("smtp://127.0.0.1:{port}"),
            received: Mutex::new(rx),
            task,
        }
    }

    /// The next mail, waiting up to 10 s.
    pub async fn next(&self) -> ReceivedMail {
        let mut rx = self.received.lock().await;
        tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("a mail within 10 s")
            .expect("sink running")
    }

    /// Whether no mail arrives within `wait`.
    pub async fn nothing_within(&self, wait: Duration) -> bool {
        let mut rx = self.received.lock().await;
        tokio::time::timeout(wait, rx.recv()).await.is_err()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn converse(
    stream: tokio::net::TcpStream,
    tx: mpsc::UnboundedSender<ReceivedMail>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink.test ESMTP\r\n").await?;
    let mut to = Vec::new();
    loop {
        let mut line = String::new();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_ascii_uppercase();
        if command.starts_with("EHLO") {
            write
                .write_all(b"250-sink.test\r\n250 8BITMIME\r\n")
                .await?;
        } else if command.starts_with("RCPT TO:") {
            to.push(
                line.trim_end()[8..]
                    .trim_matches(['<', '>', ' '])
                    .to_owned(),
            );
            write.write_all(b"250 ok\r\n").await?;
        } else if command == "DATA" {
            write.write_all(b"354 go on\r\n").await?;
            let mut data = Vec::new();
            loop {
                let mut l = Vec::new();
                if lines.read_until(b'\n', &mut l).await? == 0 {
                    return Ok(());
                }
                if l == b".\r\n" {
                    break;
                }
                // Dot-stuffing (RFC 5321 §4.5.2).
                let l = if l.starts_with(b"..") {
                    l[1..].to_vec()
                } else {
                    l
                };
                data.extend_from_slice(&l);
            }
            let parsed = mail_parser::MessageParser::default()
                .parse(&data)
                .expect("a mail message");
            let mail = ReceivedMail {
                envelope_to: std::mem::take(&mut to),
                subject: parsed.subject().unwrap_or_default().to_owned(),
                to: parsed
                    .to()
                    .and_then(|a| a.first())
                    .and_then(|a| a.address())
                    .unwrap_or_default()
                    .to_owned(),
                body: parsed.body_text(0).unwrap_or_default().into_owned(),
            };
            let _ = tx.send(mail);
            write.write_all(b"250 queued\r\n").await?;
        } else if command == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            // MAIL FROM, RSET, NOOP
            write.write_all(b"250 ok\r\n").await?;
        }
    }
}
