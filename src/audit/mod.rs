//! Audit events: who signed in (or failed to, or was locked out), consent, tokens issued and
//! revoked, refresh-token reuse, logout and admin changes. Each event is a structured log line
//! (target `audit`), moves its metric, and is queued for the `audit_events` table, which a
//! background writer fills in batches: recording never waits on the database. When the queue
//! is full (the database away under load) events are dropped from the table, counted in
//! `munjigi_audit_events_dropped_total`, and still logged.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::mpsc;

use crate::metrics::{LoginOutcome, Metrics};
use crate::store::{AuditQuery, AuditRecord, Store, StoreError};

/// Events waiting for the writer.
const QUEUE: usize = 10_000;
/// Events per INSERT.
const BATCH: usize = 200;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    SignIn,
    SignInFailed,
    Lockout,
    ConsentGiven,
    ConsentRevoked,
    TokenIssued,
    TokenRevoked,
    RefreshTokenReuse,
    Logout,
    Admin,
    /// A person's own change to their account (`action`: email_verified, password_reset, …).
    Account,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignIn => "sign_in",
            Self::SignInFailed => "sign_in_failed",
            Self::Lockout => "lockout",
            Self::ConsentGiven => "consent_given",
            Self::ConsentRevoked => "consent_revoked",
            Self::TokenIssued => "token_issued",
            Self::TokenRevoked => "token_revoked",
            Self::RefreshTokenReuse => "refresh_token_reuse",
            Self::Logout => "logout",
            Self::Admin => "admin",
            Self::Account => "account",
        }
    }
}

/// One event; `detail` says the rest (`method`, `login`, `grant_type`, `action`, …).
#[derive(Clone, Debug)]
pub struct Event {
    pub kind: EventKind,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<IpAddr>,
    pub detail: Map<String, Value>,
}

impl Event {
    pub fn new(kind: EventKind) -> Self {
        Self {
            kind,
            user_id: None,
            client_id: None,
            ip: None,
            detail: Map::new(),
        }
    }

    pub fn user(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    pub fn client(mut self, client_id: Option<&str>) -> Self {
        self.client_id = client_id.map(str::to_owned);
        self
    }

    pub fn ip(mut self, ip: IpAddr) -> Self {
        self.ip = Some(ip);
        self
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.detail.insert(key.to_owned(), value.into());
        self
    }

    fn detail_str(&self, key: &str) -> &str {
        self.detail.get(key).and_then(Value::as_str).unwrap_or("")
    }

    fn into_record(self, now: i64) -> AuditRecord {
        AuditRecord {
            at: now,
            kind: self.kind.as_str().to_owned(),
            user_id: self.user_id,
            client_id: self.client_id,
            ip: self.ip.map(|ip| ip.to_string()),
            detail: Value::Object(self.detail).to_string(),
        }
    }
}

pub struct Audit {
    /// Whether client_credentials tokens are recorded one by one (`audit_client_credentials`):
    /// off, they are only counted.
    machine_tokens: bool,
    queue: mpsc::Sender<AuditRecord>,
    /// Taken by the writer when the server runs.
    pending: Mutex<Option<mpsc::Receiver<AuditRecord>>>,
    metrics: Arc<Metrics>,
}

impl Audit {
    pub fn new(metrics: Arc<Metrics>, machine_tokens: bool) -> Self {
        let (queue, pending) = mpsc::channel(QUEUE);
        Self {
            machine_tokens,
            queue,
            pending: Mutex::new(Some(pending)),
            metrics,
        }
    }

    /// Logs the event, moves its metric and queues it for the table.
    pub fn record(&self, event: Event, now: i64) {
        self.count(&event);
        let record = event.into_record(now);
        tracing::info!(
            target: "audit",
            kind = %record.kind,
            user_id = record.user_id.as_deref().unwrap_or("-"),
            client_id = record.client_id.as_deref().unwrap_or("-"),
            ip = record.ip.as_deref().unwrap_or("-"),
            detail = %record.detail,
            "audit event"
        );
        if self.queue.try_send(record).is_err() {
            self.metrics.audit_dropped();
        }
    }

    /// A client_credentials token: counted always, recorded when `audit_client_credentials`
    /// is on. Machine clients ask for tokens thousands of times a second; an event each would
    /// cost the fast path a quarter of its throughput (docs/decisions.md).
    pub fn machine_token(&self, client_id: &str, scope: &str, jti: &str, now: i64) {
        if !self.machine_tokens {
            self.metrics.token_issued("client_credentials", client_id);
            return;
        }
        let event = Event::new(EventKind::TokenIssued)
            .client(Some(client_id))
            .with("grant_type", "client_credentials")
            .with("scope", scope)
            .with("jti", jti);
        self.record(event, now);
    }

    fn count(&self, event: &Event) {
        let method = event.detail_str("method");
        match event.kind {
            EventKind::SignIn => self.metrics.login(method, LoginOutcome::Success),
            EventKind::SignInFailed => self.metrics.login(method, LoginOutcome::Failure),
            EventKind::Lockout => {
                self.metrics.login(method, LoginOutcome::Throttled);
                self.metrics.rate_limited("login");
            }
            EventKind::TokenIssued => self.metrics.token_issued(
                event.detail_str("grant_type"),
                event.client_id.as_deref().unwrap_or(""),
            ),
            EventKind::RefreshTokenReuse => self.metrics.refresh_reuse(),
            _ => {}
        }
    }

    /// The queue's receiving end, once (for `write_events`).
    pub fn take_queue(&self) -> Option<mpsc::Receiver<AuditRecord>> {
        self.pending.lock().ok().and_then(|mut p| p.take())
    }
}

/// The recorded trail as operators read it (the admin API): newest first, filtered by user
/// and client, `limit` events (100 unless asked, never more than 1000).
pub struct AuditTrail<'a> {
    pub store: &'a Store,
}

impl AuditTrail<'_> {
    pub async fn recent(
        &self,
        user_id: Option<String>,
        client_id: Option<String>,
        limit: Option<i64>,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        self.store
            .recent_audit_events(&AuditQuery {
                user_id,
                client_id,
                limit: limit.unwrap_or(100).clamp(1, 1000),
            })
            .await
    }
}

/// Stores queued events in batches until `stop`, then what is still queued.
pub async fn write_events(
    store: Store,
    mut queue: mpsc::Receiver<AuditRecord>,
    metrics: Arc<Metrics>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let stopping = tokio::select! {
            received = queue.recv_many(&mut batch, BATCH) => received == 0,
            _ = &mut stop => true,
        };
        if stopping {
            while batch.len() < QUEUE {
                match queue.try_recv() {
                    Ok(record) => batch.push(record),
                    Err(_) => break,
                }
            }
        }
        for chunk in batch.chunks(BATCH) {
            if let Err(e) = store.insert_audit_events(chunk).await {
                tracing::warn!(error = %e, events = chunk.len(), "audit events not stored");
                for _ in chunk {
                    metrics.audit_dropped();
                }
                if !stopping {
                    // Give a database that is away a moment before the next batch.
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
        batch.clear();
        if stopping {
            return;
        }
    }
}

/// For the CLI: stores one event at once (an operator's change is written before the command
/// reports success).
pub async fn record_now(
    store: &Store,
    event: Event,
    now: i64,
) -> Result<(), crate::store::StoreError> {
    let record = event.into_record(now);
    // The command's own output says what it did; the line is for debugging.
    tracing::debug!(target: "audit", kind = %record.kind, detail = %record.detail, "audit event");
    store.insert_audit_events(&[record]).await
}
