//! AppState, the router with its middleware stack, and the server's start and shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use bytes::Bytes;
use tokio::net::TcpListener;

use crate::account::throttle::{ClientThrottle, LoginThrottle};
use crate::clock::Clock;
use crate::config::Config;
use crate::federation::Federation;
use crate::keys::rotation::{self, RotationPolicy};
use crate::keys::{Kek, KeyRing, KeySet};
use crate::oauth::client_cache::ClientCache;
use crate::oauth::context::OAuthContext;
use crate::oauth::grant::TokenSettings;
use crate::oauth::secret::SecretHasher;
use crate::oidc::metadata::ProviderMetadata;
use crate::store::Store;

/// Margin for relying parties' clocks when deciding a retired key can go.
const CLOCK_SKEW_SECS: i64 = 120;

/// How stale a cached client may be (a change made by the CLI shows within this time).
const CLIENT_CACHE_SECS: i64 = 10;

/// Expired codes are kept this long, so a late replay still revokes what the code produced.
const CODE_REPLAY_MEMORY_SECS: i64 = 3600;

/// How often expired rows are deleted.
const HOUSEKEEPING_SECS: u64 = 600;
/// What every handler can reach: one `Arc`, so the per-request clones axum makes (for every
/// `State` extractor and middleware) cost one atomic increment, not one per field.
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// The services behind [`AppState`].
pub struct Services {
    pub config: Arc<Config>,
    pub store: Store,
    pub keys: Arc<KeyRing>,
    pub clock: Clock,
    /// The discovery document, rendered once.
    pub discovery: Bytes,
    pub hasher: SecretHasher,
    pub tokens: Arc<TokenSettings>,
    pub throttle: Arc<LoginThrottle>,
    pub client_throttle: Arc<ClientThrottle>,
    pub rate_limiter: Arc<crate::http::rate_limit::RateLimiter>,
    pub clients: Arc<ClientCache>,
    /// Outgoing requests (back-channel logout).
    pub http: reqwest::Client,
    /// Upstream providers people may sign in with.
    pub federation: Arc<Federation>,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub audit: Arc<crate::audit::Audit>,
    /// Account mail (verification, password reset), or off.
    pub mailer: crate::mail::Mailer,
    /// The WebAuthn relying party, or `None` when the issuer is on an IP address.
    pub webauthn: Option<webauthn_rs::Webauthn>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr} (MUNJIGI_BIND): {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot prepare the database ({database}): {source}")]
    Database {
        database: String,
        source: crate::store::StoreError,
    },
    #[error("signing keys: {0}")]
    Keys(#[from] crate::keys::KeyError),
    #[error("cannot listen on {addr} (MUNJIGI_METRICS_BIND): {source}")]
    MetricsBind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("account mail (MUNJIGI_SMTP_URL): {0}")]
    Mail(String),
    #[error("cannot render provider metadata: {0}")]
    Metadata(#[from] serde_json::Error),
}

/// Opens the store and applies migrations (also used by `munjigi migrate` and the CLI).
pub async fn open_store(config: &Config) -> Result<Store, StartError> {
    let database = config.database.redacted();
    let store = Store::connect(&config.database, config.db_max_connections)
        .await
        .map_err(|source| StartError::Database {
            database: database.clone(),
            source,
        })?;
    store
        .migrate()
        .await
        .map_err(|source| StartError::Database { database, source })?;
    Ok(store)
}

impl AppState {
    /// Everything a server needs before it accepts a request: migrated store, keys, metadata.
    pub async fn prepare(config: Config, clock: Clock) -> Result<Self, StartError> {
        let store = open_store(&config).await?;
        let kek = Kek::load(&config.kek)?;
        let keys = KeyRing::bootstrap(&store, kek, clock.now()).await?;
        let discovery = Bytes::from(serde_json::to_vec(&ProviderMetadata::new(&config.issuer))?);
        let hasher = SecretHasher::new(keys.kek().pepper());
        let l = &config.lifetimes;
        let tokens = TokenSettings {
            code_ttl: l.code,
            access_token_ttl: l.access_token,
            id_token_ttl: l.id_token,
            refresh_idle_ttl: l.refresh_idle,
            refresh_absolute_ttl: l.refresh_absolute,
            refresh_reuse_grace: l.refresh_reuse_grace,
        };
        let federation = Arc::new(Federation::new(&config.federation, config.issuer.as_str()));
        let metrics = Arc::new(crate::metrics::Metrics::default());
        let audit = Arc::new(crate::audit::Audit::new(
            metrics.clone(),
            config.audit_client_credentials,
        ));
        let mailer = match &config.mail {
            Some(mail) => crate::mail::Mailer::start(mail, metrics.clone())
                .map_err(|e| StartError::Mail(e.to_string()))?,
            None => crate::mail::Mailer::off(metrics.clone()),
        };
        let webauthn = crate::account::passkeys::relying_party(config.issuer.as_str(), "munjigi");
        if webauthn.is_none() {
            tracing::info!(
                issuer = %config.issuer,
                "passkeys are off: WebAuthn needs the issuer on a domain name (localhost will do locally)"
            );
        }
        Ok(Self(Arc::new(Services {
            config: Arc::new(config),
            store,
            keys: Arc::new(keys),
            clock,
            discovery,
            hasher,
            tokens: Arc::new(tokens),
            throttle: Arc::new(LoginThrottle::default()),
            client_throttle: Arc::new(ClientThrottle::default()),
            rate_limiter: Arc::default(),
            clients: Arc::new(ClientCache::new(CLIENT_CACHE_SECS)),
            http: crate::oidc::backchannel::http_client(),
            federation,
            metrics,
            audit,
            mailer,
            webauthn,
        })))
    }

    /// How keys rotate under this configuration.
    pub fn rotation_policy(&self) -> RotationPolicy {
        let l = &self.config.lifetimes;
        RotationPolicy {
            publish_secs: self.config.keys.publish,
            // Tokens a key signed live at most this long (plus a margin for clock skew).
            retire_after_secs: l.access_token.max(l.id_token) + CLOCK_SKEW_SECS,
            rotate_every_secs: self.config.keys.rotate_every,
        }
    }

    /// One round of key upkeep, then picks up whatever any instance changed.
    pub async fn maintain_keys(&self) -> Result<(), crate::keys::KeyError> {
        rotation::maintain(
            &self.store,
            self.keys.kek(),
            &self.rotation_policy(),
            self.clock.now(),
        )
        .await?;
        self.keys.refresh(&self.store).await?;
        Ok(())
    }

    /// One round of housekeeping: expired rows of every growing table deleted (by one
    /// instance at a time). `None` when another instance was at it.
    pub async fn housekeeping(
        &self,
    ) -> Result<Option<crate::store::Purged>, crate::store::StoreError> {
        let now = self.clock.now();
        let cutoffs = crate::store::Cutoffs {
            sessions_before: Clock::system().now(),
            codes_before: now - CODE_REPLAY_MEMORY_SECS,
            families_before: now,
            revocations_before: now,
            session_clients_before: now - self.config.lifetimes.session_absolute,
            login_failures_before: now - crate::account::throttle::SIGN_IN_ACCOUNT.window,
            audit_events_before: match self.config.audit_retention {
                0 => i64::MIN,
                retention => now - retention,
            },
            account_tokens_before: now,
        };
        self.store.purge_expired(&cutoffs).await
    }

    /// What account operations need.
    pub fn accounts(&self) -> crate::account::Accounts<'_> {
        crate::account::Accounts {
            store: &self.store,
            throttle: &self.throttle,
        }
    }

    /// Passkeys (WebAuthn).
    pub fn passkeys(&self) -> crate::account::passkeys::Passkeys<'_> {
        crate::account::passkeys::Passkeys {
            store: &self.store,
            webauthn: self.webauthn.as_ref(),
        }
    }

    /// Asking again who this is, before a change to how an account is entered.
    pub fn reauth(&self) -> crate::account::reauth::Reauth<'_> {
        crate::account::reauth::Reauth {
            accounts: self.accounts(),
            second_factors: self.second_factors(),
        }
    }

    /// Second factors (authenticator apps, recovery codes).
    pub fn second_factors(&self) -> crate::account::second_factor::SecondFactors<'_> {
        crate::account::second_factor::SecondFactors {
            store: &self.store,
            kek: self.keys.kek(),
            hasher: &self.hasher,
        }
    }

    /// Mailed links (verification, password reset) for the accounts here.
    pub fn links(&self) -> crate::account::links::Links<'_> {
        crate::account::links::Links {
            accounts: self.accounts(),
            mailer: &self.mailer,
            issuer: self.config.issuer.as_str(),
        }
    }

    /// The metrics page: the counters, the database pool and the signing keys' ages. Without
    /// the database the keys' gauge is left empty; everything else still answers.
    pub async fn metrics_text(&self) -> String {
        let now = self.clock.now();
        let rows = crate::keys::list_keys(&self.store)
            .await
            .unwrap_or_default();
        let keys: Vec<crate::metrics::KeyAge<'_>> = rows
            .iter()
            .map(|r| crate::metrics::KeyAge {
                kid: &r.kid,
                alg: &r.alg,
                state: &r.state,
                age_secs: now.saturating_sub(r.created_at),
            })
            .collect();
        self.metrics.render(self.store.pool_usage(), &keys)
    }

    /// Whether the database answers (readiness).
    pub async fn database_ready(&self) -> Result<(), crate::store::StoreError> {
        self.store.ping().await
    }

    /// Completing sign-ins (every way in), at `now`.
    pub fn sign_ins(&self, now: i64) -> crate::sign_in::SignIns<'_> {
        crate::sign_in::SignIns {
            second_factors: self.second_factors(),
            links: self.links(),
            federation: &self.federation,
            audit: &self.audit,
            now,
        }
    }

    /// The signing keys as an operator lists and rotates them.
    pub fn key_admin(&self) -> crate::keys::admin::KeyAdmin<'_> {
        crate::keys::admin::KeyAdmin {
            store: &self.store,
            kek: self.keys.kek(),
            publish_secs: self.config.keys.publish,
        }
    }

    /// The audit trail as operators read it.
    pub fn audit_trail(&self) -> crate::audit::AuditTrail<'_> {
        crate::audit::AuditTrail { store: &self.store }
    }

    /// The browser sessions' records, for the session layer.
    pub fn session_records(&self) -> crate::account::sessions::SessionRecords {
        crate::account::sessions::SessionRecords {
            store: self.store.clone(),
        }
    }

    /// What the protocol code needs, for one request at `now` with the keys of that moment.
    pub fn oauth<'a>(&'a self, keys: &'a KeySet, now: i64) -> OAuthContext<'a> {
        OAuthContext {
            store: &self.store,
            keys,
            issuer: self.config.issuer.as_str(),
            settings: &self.tokens,
            clients: &self.clients,
            hasher: &self.hasher,
            client_throttle: &*self.client_throttle,
            audit: &self.audit,
            metrics: &self.metrics,
            now,
        }
    }
}

/// A server bound to its socket (and the metrics listener's, when configured), ready to run.
pub struct Server {
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    state: AppState,
}

impl Server {
    /// Binds `config.bind` and prepares the state.
    pub async fn bind(config: Config, clock: Clock) -> Result<Self, StartError> {
        let addr = config.bind;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        Self::with_listener(config, listener, clock).await
    }

    /// Uses a listener bound by the caller (tests bind port 0 first to learn the issuer).
    pub async fn with_listener(
        config: Config,
        listener: TcpListener,
        clock: Clock,
    ) -> Result<Self, StartError> {
        let metrics_listener = match config.metrics_bind {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|source| StartError::MetricsBind { addr, source })?,
            ),
            None => None,
        };
        let state = AppState::prepare(config, clock).await?;
        Ok(Self {
            listener,
            metrics_listener,
            state,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Where `/metrics` is served, if anywhere.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let router = router(self.state.clone());
        let upkeep = tokio::spawn(key_upkeep(self.state.clone()));
        let housekeeping = tokio::spawn(housekeeping(self.state.clone()));
        let client_changes = tokio::spawn(client_changes(self.state.clone()));
        let audit_writer = self.state.audit.take_queue().map(|queue| {
            let (stop, stopped) = tokio::sync::oneshot::channel();
            let writer = tokio::spawn(crate::audit::write_events(
                self.state.store.clone(),
                queue,
                self.state.metrics.clone(),
                stopped,
            ));
            (stop, writer)
        });
        let metrics = self.metrics_listener.map(|listener| {
            let router = crate::http::metrics::router(self.state.clone());
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, router).await {
                    tracing::error!(error = %e, "metrics listener stopped");
                }
            })
        });
        let limits = crate::listener::Limits {
            header_read_timeout: std::time::Duration::from_secs(
                self.state.config.header_read_timeout_secs,
            ),
            max_connections: self.state.config.max_connections,
            shutdown_grace: std::time::Duration::from_millis(self.state.config.shutdown_grace_ms),
        };
        crate::listener::serve(self.listener, router, limits, shutdown).await?;
        upkeep.abort();
        housekeeping.abort();
        client_changes.abort();
        if let Some(metrics) = metrics {
            metrics.abort();
        }
        self.state
            .mailer
            .finish(std::time::Duration::from_secs(5))
            .await;
        if let Some((stop, mut writer)) = audit_writer {
            // What is queued still goes in before the pool closes (briefly: a database that is
            // away does not hold up the shutdown).
            let _ = stop.send(());
            let limit = std::time::Duration::from_secs(2);
            if tokio::time::timeout(limit, &mut writer).await.is_err() {
                writer.abort();
            }
        }
        self.state.store.close().await;
        Ok(())
    }
}

/// Every `key_poll_secs`: rotate when due, and pick up other instances' changes.
async fn key_upkeep(state: AppState) {
    let period = std::time::Duration::from_secs(state.config.keys.poll.unsigned_abs());
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        if let Err(e) = state.maintain_keys().await {
            // The database may be away for a while; the next round tries again.
            tracing::warn!(error = %e, "key upkeep failed");
        }
    }
}

/// Every `HOUSEKEEPING_SECS` (first a minute after start): expired rows go, with a figure in
/// the log.
async fn housekeeping(state: AppState) {
    tokio::time::sleep(std::time::Duration::from_secs(60)).await;
    let mut ticker = tokio::time::interval(std::time::Duration::from_secs(HOUSEKEEPING_SECS));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let started = std::time::Instant::now();
        match state.housekeeping().await {
            Ok(Some(purged)) => tracing::info!(
                removed = purged.total(),
                sessions = purged.sessions,
                codes = purged.codes,
                refresh_tokens = purged.refresh_tokens,
                revoked_grants = purged.revoked_grants,
                revoked_access_tokens = purged.revoked_access_tokens,
                session_clients = purged.session_clients,
                login_failures = purged.login_failures,
                audit_events = purged.audit_events,
                account_tokens = purged.account_tokens,
                ms = started.elapsed().as_millis() as u64,
                "housekeeping: expired rows deleted"
            ),
            Ok(None) => tracing::debug!("housekeeping: another instance is at it"),
            Err(e) => tracing::warn!(error = %e, "housekeeping failed"),
        }
    }
}

/// On PostgreSQL: drops a cached client as soon as any process announces a change to it.
/// While the listener is down (database away), caches fall back to their short lifetime.
async fn client_changes(state: AppState) {
    crate::store::follow_client_changes(&state.config.database, |change| match change {
        crate::store::ClientChange::One(id) => state.clients.invalidate(&id),
        crate::store::ClientChange::Any => state.clients.clear(),
    })
    .await;
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    crate::http::routes(state)
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
