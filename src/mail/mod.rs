//! Account mail over SMTP (lettre): verification and password-reset links.
//!
//! Mails are queued for one background worker, so a request never waits on the mail server
//! and its timing does not tell whether a mail was sent (which would say whether an account
//! exists). The queue is bounded: a flood of requests can only drop mail, never grow memory.

pub mod messages;

use std::sync::Arc;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio::sync::mpsc;

pub use crate::config::{MailConfig, MailConfigError};

/// Mails waiting for the worker; more are dropped (and counted).
const QUEUE: usize = 1000;
/// One SMTP conversation may take this long.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);
/// A mail the server refused for a passing reason is tried this many times.
const ATTEMPTS: u32 = 3;

/// The transport for `url` (checked by `MailConfig::parse` when the configuration loaded).
fn transport(url: &str) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailConfigError> {
    Ok(AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .map_err(|e| MailConfigError::Url(e.to_string()))?
        .timeout(Some(SMTP_TIMEOUT))
        .build())
}

/// A mail to one person: plain text, UTF-8.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// Sends mail, or says it cannot (no `smtp_url`).
#[derive(Clone)]
pub struct Mailer {
    queue: Option<mpsc::Sender<Mail>>,
    metrics: Arc<crate::metrics::Metrics>,
    /// Tells the worker to send what is queued and stop; taken once, at shutdown.
    worker: Arc<std::sync::Mutex<Option<Worker>>>,
}

struct Worker {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Mailer {
    /// No mail server configured: features that need mail say so.
    pub fn off(metrics: Arc<crate::metrics::Metrics>) -> Self {
        Self {
            queue: None,
            metrics,
            worker: Arc::default(),
        }
    }

    /// Starts the worker (inside the runtime) for `config`.
    pub fn start(
        config: &MailConfig,
        metrics: Arc<crate::metrics::Metrics>,
    ) -> Result<Self, MailConfigError> {
        let transport = transport(&config.url)?;
        let (tx, rx) = mpsc::channel(QUEUE);
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(deliver(
            transport,
            config.from.clone(),
            rx,
            stopped,
            metrics.clone(),
        ));
        Ok(Self {
            queue: Some(tx),
            metrics,
            worker: Arc::new(std::sync::Mutex::new(Some(Worker { stop, task }))),
        })
    }

    /// At shutdown: sends what is queued, for at most `limit`; what is left then is lost
    /// (and logged).
    pub async fn finish(&self, limit: Duration) {
        let worker = self.worker.lock().ok().and_then(|mut w| w.take());
        let Some(Worker { stop, mut task }) = worker else {
            return;
        };
        let _ = stop.send(());
        if tokio::time::timeout(limit, &mut task).await.is_err() {
            tracing::warn!("shutdown: queued mail not all sent");
            task.abort();
        }
    }

    pub fn is_on(&self) -> bool {
        self.queue.is_some()
    }

    /// Queues `mail`; false when mail is off or the queue is full (then it is dropped, logged
    /// and counted).
    pub fn send(&self, mail: Mail) -> bool {
        let Some(queue) = &self.queue else {
            return false;
        };
        match queue.try_send(mail) {
            Ok(()) => true,
            Err(_) => {
                tracing::warn!("mail queue full: a mail was dropped");
                self.metrics.mail("dropped");
                false
            }
        }
    }
}

/// The worker: one mail at a time, retried a little on failure. Never logs a body (links in
/// it are credentials).
async fn deliver(
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    mut rx: mpsc::Receiver<Mail>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
    metrics: Arc<crate::metrics::Metrics>,
) {
    let mut stopping = false;
    loop {
        let mail = if stopping {
            // Shutting down: what is queued, then done.
            match rx.try_recv() {
                Ok(mail) => mail,
                Err(_) => return,
            }
        } else {
            tokio::select! {
                mail = rx.recv() => match mail {
                    Some(mail) => mail,
                    None => return,
                },
                _ = &mut stopped => {
                    stopping = true;
                    continue;
                }
            }
        };
        let message = match build(&from, &mail) {
            Ok(m) => m,
            Err(error) => {
                tracing::warn!(%error, "mail not built");
                metrics.mail("failed");
                continue;
            }
        };
        let mut outcome = "failed";
        for attempt in 1..=ATTEMPTS {
            match transport.send(message.clone()).await {
                Ok(_) => {
                    outcome = "sent";
                    break;
                }
                Err(error) if error.is_permanent() || attempt == ATTEMPTS => {
                    tracing::warn!(%error, attempt, "mail not delivered");
                    break;
                }
                Err(error) => {
                    tracing::info!(%error, attempt, "mail delivery failed; retrying");
                    tokio::time::sleep(Duration::from_secs(2 * u64::from(attempt))).await;
                }
            }
        }
        metrics.mail(outcome);
    }
}

fn build(from: &Mailbox, mail: &Mail) -> Result<Message, String> {
    let to = mail.to.parse::<Mailbox>().map_err(|e| e.to_string())?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .header(ContentType::TEXT_PLAIN)
        .body(mail.body.clone())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn korean_subjects_and_bodies_build() {
        let from: Mailbox = "문지기 <no-reply@example.com>".parse().expect("mailbox");
        let mail = Mail {
            to: "앨리스 <alice@example.com>".into(),
            subject: "이메일 주소 확인".into(),
            body: "아래 링크를 여세요.\nhttps://id.example.com/email/verify?token=x".into(),
        };
        let message = build(&from, &mail).expect("builds");
        let raw = String::from_utf8(message.formatted()).expect("ascii on the wire");
        assert!(raw.contains("Subject: =?utf-8?"), "{raw}");
    }
}
