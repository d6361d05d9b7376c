//! Test helpers: a fresh database per test on either backend, an in-process server on port 0,
//! and the compiled binary for tests that need whole processes.

#![allow(dead_code)]

pub mod browser;
pub mod fixtures;
pub mod process;
pub mod rp;
pub mod smtp;
pub mod upstream;
pub mod webdriver;

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use munjigi::app::Server;
use munjigi::clock::Clock;
use munjigi::config::{Config, ConfigBuilder};
use munjigi::store::Store;
use sqlx::Connection;
use tokio::net::TcpListener;
use tokio::sync::{OnceCell, oneshot};
use tokio::task::JoinHandle;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// The PostgreSQL server the tests create their databases on.
pub fn pg_admin_url() -> String {
    std::env::var("MUNJIGI_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn pg_url_for(database: &str) -> String {
    let admin = pg_admin_url();
    match admin.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{database}"),
        None => admin,
    }
}

static PG_REACHABLE: OnceCell<bool> = OnceCell::const_new();

/// Whether PostgreSQL tests run. In CI (`CI=true`) PostgreSQL is required: failing to reach
/// it fails the test instead of skipping it.
async fn postgres_available() -> bool {
    *PG_REACHABLE
        .get_or_init(|| async {
            let url = pg_admin_url();
            let ok = matches!(
                tokio::time::timeout(Duration::from_secs(3), sqlx::PgConnection::connect(&url))
                    .await,
                Ok(Ok(_))
            );
            if !ok {
                if std::env::var("CI").is_ok_and(|v| v == "true") {
                    panic!("CI=true but PostgreSQL is not reachable at {url}");
                }
                eprintln!(
                    "notice: PostgreSQL is not reachable at {url}; skipping the PostgreSQL \
                     variants of the tests (set CI=true to require them)"
                );
            }
            ok
        })
        .await
}

/// A database that exists for one test and is dropped afterwards.
pub struct TestDb {
    pub backend: Backend,
    /// What `DATABASE_URL` should be for this database.
    pub url: String,
    /// The KEK every server on this database uses (base64).
    pub kek: String,
    pg_name: Option<String>,
    dir: PathBuf,
}

impl TestDb {
    /// `None` when the backend is unavailable here and the test is skipped.
    pub async fn new(backend: Backend) -> Option<Self> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let dir = std::env::temp_dir().join(format!("munjigi-test-{id}"));
        std::fs::create_dir_all(&dir).ok()?;
        let kek = base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>());
        match backend {
            Backend::Sqlite => Some(Self {
                backend,
                url: format!("sqlite://{}", dir.join("munjigi.db").display()),
                kek,
                pg_name: None,
                dir,
            }),
            Backend::Postgres => {
                if !postgres_available().await {
                    return None;
                }
                let name = format!("munjigi_t_{id}");
                let mut admin = sqlx::PgConnection::connect(&pg_admin_url())
                    .await
                    .unwrap_or_else(|e| panic!("cannot connect to PostgreSQL: {e}"));
                if let Err(e) = sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                    .execute(&mut admin)
                    .await
                {
                    panic!("cannot create test database {name}: {e}");
                }
                let _ = admin.close().await;
                Some(Self {
                    backend,
                    url: pg_url_for(&name),
                    kek,
                    pg_name: Some(name),
                    dir,
                })
            }
        }
    }

    /// A configuration for an in-process server on this database.
    pub fn config(&self, issuer: &str) -> Config {
        self.config_with_url(issuer, &self.url)
    }

    fn config_with_url(&self, issuer: &str, database_url: &str) -> Config {
        self.config_tweaked(issuer, database_url, |b| b)
    }

    fn config_tweaked(
        &self,
        issuer: &str,
        database_url: &str,
        tweak: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
    ) -> Config {
        let builder = Config::builder()
            .issuer(issuer)
            .bind("127.0.0.1:0")
            .database_url(Some(database_url.to_owned()))
            .data_dir(self.dir.join("data"))
            .kek_base64(self.kek.clone())
            // Tests stop hundreds of servers: no half-second grace each.
            .shutdown_grace_ms(0);
        let built = tweak(builder).build();
        built.unwrap_or_else(|e| panic!("test config: {e}"))
    }

    /// A folder private to this test.
    pub fn dir(&self) -> &PathBuf {
        &self.dir
    }

    /// A store on this database (migrated).
    pub async fn store(&self) -> Store {
        let config = self.config("http://127.0.0.1:1");
        munjigi::app::open_store(&config)
            .await
            .unwrap_or_else(|e| panic!("open store: {e}"))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(name) = self.pg_name.take() {
            // Drop cannot be async; a short-lived runtime on its own thread does the work.
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async {
                    if let Ok(mut admin) = sqlx::PgConnection::connect(&pg_admin_url()).await {
                        let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                        let _ = sqlx::query(&sql).execute(&mut admin).await;
                    }
                });
            })
            .join();
        }
    }
}

/// A munjigi server running inside the test process.
pub struct TestApp {
    pub base: String,
    /// The metrics listener's base URL, when the configuration set `metrics_bind`.
    pub metrics_base: Option<String>,
    pub state: munjigi::app::AppState,
    pub http: reqwest::Client,
    pub store: Store,
    pub clock: Clock,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

pub async fn spawn_app(db: &TestDb) -> TestApp {
    spawn_app_with_clock(db, Clock::system()).await
}

pub async fn spawn_app_with_clock(db: &TestDb, clock: Clock) -> TestApp {
    spawn(db, &db.url, clock).await
}

/// A server on `db` that reaches it through `database_url` (e.g. a proxy in front of it).
pub async fn spawn_app_on(db: &TestDb, database_url: &str) -> TestApp {
    spawn(db, database_url, Clock::system()).await
}

async fn spawn(db: &TestDb, database_url: &str, clock: Clock) -> TestApp {
    spawn_configured(db, database_url, clock, |b| b).await
}

/// A server whose configuration `tweak` adjusts (lifetimes, grace windows, …).
pub async fn spawn_app_tweaked(
    db: &TestDb,
    clock: Clock,
    tweak: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) -> TestApp {
    spawn_configured(db, &db.url, clock, tweak).await
}

/// A server whose issuer is `http://localhost:{port}` (WebAuthn needs a domain name).
pub async fn spawn_app_on_localhost(db: &TestDb) -> TestApp {
    spawn_app_on_localhost_tweaked(db, |b| b).await
}

/// On `localhost`, with its configuration adjusted (mail, …).
pub async fn spawn_app_on_localhost_tweaked(
    db: &TestDb,
    tweak: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) -> TestApp {
    spawn_on_host(db, &db.url, Clock::system(), "localhost", tweak).await
}

async fn spawn_configured(
    db: &TestDb,
    database_url: &str,
    clock: Clock,
    tweak: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) -> TestApp {
    spawn_on_host(db, database_url, clock, "127.0.0.1", tweak).await
}

async fn spawn_on_host(
    db: &TestDb,
    database_url: &str,
    clock: Clock,
    host: &str,
    tweak: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    let base = format!("http://{host}:{port}");
    let config = db.config_tweaked(&base, database_url, tweak);
    let server = Server::with_listener(config, listener, clock.clone())
        .await
        .unwrap_or_else(|e| panic!("server start: {e}"));
    let store = server.state().store.clone();
    let state = server.state().clone();
    let metrics_base = server.metrics_addr().map(|a| format!("http://{a}"));
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async move {
        let _ = rx.await;
    }));
    TestApp {
        base,
        metrics_base,
        state,
        http: http_client(),
        store,
        clock,
        shutdown: Some(tx),
        task: Some(task),
    }
}

/// Cookies on, redirects off: the way a test inspects each hop of a flow.
pub fn http_client() -> reqwest::Client {
    match reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
    {
        Ok(c) => c,
        Err(e) => panic!("http client: {e}"),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response
            .json()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: not JSON: {e}"))
    }

    /// Signals shutdown without waiting (`stop` then waits for the end).
    pub fn begin_stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Stops the server and waits until it has let go of its socket and pool.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Runs each listed `async fn name(db: TestDb)` once on PostgreSQL and once on SQLite.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = $crate::common::TestDb::new($crate::common::Backend::Postgres).await {
                        super::$name(db).await;
                    }
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = $crate::common::TestDb::new($crate::common::Backend::Sqlite).await {
                        super::$name(db).await;
                    }
                }
            )*
        }
    };
}

/// Runs a test on PostgreSQL only (what it checks does not exist on an embedded file).
#[macro_export]
macro_rules! on_postgres {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(db) = $crate::common::TestDb::new($crate::common::Backend::Postgres).await {
                        super::$name(db).await;
                    }
                }
            }
        )*
    };
}
