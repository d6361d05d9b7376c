//! The only module that knows SQL.
//!
//! One query set serves both backends through sqlx's `Any` driver: portable SQL, `$n`
//! placeholders (SQLite binds them by number too), BIGINT unix seconds, TEXT ids and JSON.
//! Each backend has its own migrations folder because DDL differs. See docs/decisions.md.

mod account_tokens;
mod audit_events;
mod clients;
mod codes;
mod consents;
mod grants;
mod housekeeping;
mod identities;
mod login_failures;
mod passkeys;
mod refresh_tokens;
mod second_factors;
mod sessions;
mod signing_keys;
mod users;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, Executor};

use crate::config::DatabaseConfig;

pub use account_tokens::{AccountTokenRecord, EmailChange, LinkPurpose};
pub use audit_events::{AuditQuery, AuditRecord};
pub use clients::{CLIENT_CHANNEL, ClientChange, ClientRecord, follow_client_changes};
pub use codes::{CodeRecord, CodeRedemption};
pub use consents::ConsentRecord;
pub use grants::TokenStanding;
pub use housekeeping::{Cutoffs, Purged};
pub use identities::{IdentityRecord, WaysInRow};
pub use login_failures::LockPolicy;
pub use passkeys::PasskeyRecord;
pub use refresh_tokens::{RefreshTokenRecord, Rotation};
pub use second_factors::TotpRecord;
pub use sessions::SessionRow;
pub use signing_keys::SigningKeyRow;
pub use users::{Role, UserRecord};

static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// The database refused a value as data (PostgreSQL's class 22, e.g. a NUL character):
    /// the request's fault, not an outage.
    #[error("the database refused a value: {0}")]
    BadInput(String),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot prepare the SQLite folder {path}: {source}")]
    SqliteFolder {
        path: String,
        source: std::io::Error,
    },
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A unique constraint refused the row (id, username or email already taken).
    #[error("already exists")]
    Conflict,
    /// The last attempt to reach the database failed and the probe has not yet seen it back:
    /// answered at once rather than after the pool's timeout.
    #[error("the database is unreachable")]
    Unreachable,
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.code().is_some_and(|c| c.starts_with("22")) => {
                Self::BadInput(db.message().to_owned())
            }
            _ => Self::Database(e),
        }
    }
}

impl StoreError {
    fn from_insert(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => Self::Conflict,
            _ => e.into(),
        }
    }

    /// Whether the request, not the database, is at fault.
    pub fn is_bad_input(&self) -> bool {
        matches!(self, Self::BadInput(_))
    }

    /// An outage already logged when it began (so not worth a line per request).
    pub fn is_known_outage(&self) -> bool {
        matches!(self, Self::Unreachable)
    }
}

/// Booleans are BOOLEAN on PostgreSQL and INTEGER 0/1 on SQLite (the Any driver cannot map
/// SQLite's BOOLEAN); this reads either.
fn get_bool(row: &sqlx::any::AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    use sqlx::Row;
    row.try_get::<bool, _>(column)
        .or_else(|_| row.try_get::<i64, _>(column).map(|v| v != 0))
}

/// Lists are stored as JSON arrays of strings in TEXT columns.
fn json_list(text: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("list column: {e}")))
}

fn to_json_list(items: &[String]) -> String {
    serde_json::Value::from(items.to_vec()).to_string()
}

/// How long a request waits for a connection before it is answered 503.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);
/// How often, while the database is unreachable, one probe checks whether it is back.
const PROBE_EVERY: Duration = Duration::from_millis(250);

/// A handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Set when a connection could not be had at all; cleared by the probe.
    unreachable: Arc<AtomicBool>,
}

impl Store {
    /// Opens a pool. The connection is made lazily so that a server whose database is briefly
    /// away still starts answering `/readyz` with 503 instead of crashing.
    pub async fn connect(
        database: &DatabaseConfig,
        max_connections: u32,
    ) -> Result<Self, StoreError> {
        install_default_drivers();
        let options = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .idle_timeout(Duration::from_secs(300))
            .test_before_acquire(true);
        let (url, backend) = match database {
            DatabaseConfig::Postgres { url } => (url.clone(), Backend::Postgres),
            DatabaseConfig::Sqlite { path } => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|source| StoreError::SqliteFolder {
                        path: dir.display().to_string(),
                        source,
                    })?;
                }
                (
                    format!("sqlite://{}?mode=rwc", path.display()),
                    Backend::Sqlite,
                )
            }
        };
        let options = match backend {
            Backend::Postgres => options,
            // WAL lets readers run beside the single writer; the busy timeout turns lock
            // contention into a short wait rather than an error.
            Backend::Sqlite => options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                    )
                    .await?;
                    Ok(())
                })
            }),
        };
        let pool = options.connect_lazy(&url)?;
        Ok(Self {
            pool,
            backend,
            unreachable: Arc::default(),
        })
    }

    /// A connection for one query or transaction. While the database is known to be
    /// unreachable this fails at once: an outage costs each request nothing, instead of
    /// `ACQUIRE_TIMEOUT` of waiting.
    async fn conn(&self) -> Result<PoolConnection<Any>, StoreError> {
        if self.unreachable.load(Ordering::Relaxed) {
            return Err(StoreError::Unreachable);
        }
        match self.pool.acquire().await {
            Ok(conn) => Ok(conn),
            Err(e) => {
                // A busy pool times out too: only a database that also refuses a fresh
                // connection is an outage.
                let outage = match e {
                    sqlx::Error::Io(_) | sqlx::Error::Tls(_) => true,
                    sqlx::Error::PoolTimedOut => !self.answers_a_new_connection().await,
                    _ => false,
                };
                if outage {
                    self.start_probing(&e);
                }
                Err(e.into())
            }
        }
    }

    /// Whether a connection outside the pool can be opened right now.
    async fn answers_a_new_connection(&self) -> bool {
        use sqlx::{ConnectOptions, Connection};
        let options = self.pool.connect_options();
        match tokio::time::timeout(Duration::from_secs(1), options.connect()).await {
            Ok(Ok(conn)) => {
                let _ = conn.close().await;
                true
            }
            _ => false,
        }
    }

    /// Marks the database unreachable and probes it until it answers again.
    fn start_probing(&self, cause: &sqlx::Error) {
        if self.unreachable.swap(true, Ordering::SeqCst) {
            return;
        }
        tracing::error!(error = %cause, "database unreachable; answering 503 until it is back");
        let (pool, unreachable) = (self.pool.clone(), self.unreachable.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(PROBE_EVERY).await;
                if pool.is_closed() {
                    return;
                }
                let probe = tokio::time::timeout(Duration::from_secs(1), async {
                    let mut conn = pool.acquire().await?;
                    conn.execute("SELECT 1").await
                });
                if matches!(probe.await, Ok(Ok(_))) {
                    unreachable.store(false, Ordering::SeqCst);
                    tracing::info!("database reachable again");
                    return;
                }
            }
        });
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool itself, for tests and diagnostics that inspect rows directly.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Applies the migrations of this backend (idempotent; concurrent runs on PostgreSQL are
    /// serialised by sqlx's advisory lock).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self.backend {
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
            Backend::Sqlite => {
                // sqlx has no migration lock on SQLite: when two processes open a new file at
                // once, the loser fails on DDL the winner just committed (each migration and
                // its bookkeeping row commit together). Running again then finds it applied.
                let mut attempt = 0;
                loop {
                    match SQLITE_MIGRATIONS.run(&self.pool).await {
                        Ok(()) => break,
                        Err(_) if attempt < 3 => {
                            attempt += 1;
                            tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        Ok(())
    }

    /// A round trip to the database, for readiness.
    /// Connections of the pool: (in use, idle).
    pub fn pool_usage(&self) -> (u32, u32) {
        let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX);
        (self.pool.size().saturating_sub(idle), idle)
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
