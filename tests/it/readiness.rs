//! `/readyz` follows the database: 503 while it is unreachable, 200 again when it returns,
//! without restarting munjigi. The connection is cut by a TCP proxy inside the test, never by
//! stopping the shared PostgreSQL.

use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::common::{TestDb, spawn_app_on};
use crate::on_postgres;

on_postgres!(
    readiness_follows_a_lost_and_recovered_database,
    pages_answer_503_pages_while_the_database_is_away,
    once_the_database_is_known_away_answers_are_immediate
);

/// Forwards 127.0.0.1:<port> to PostgreSQL while open; when cut, it closes every live
/// connection and stops listening, so new ones are refused as by a stopped server.
struct CuttableProxy {
    port: u16,
    upstream: String,
    cut: watch::Sender<u64>,
    accepting: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl CuttableProxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("proxy bind: {e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
        let (cut, _) = watch::channel(0u64);
        let proxy = Self {
            port,
            upstream,
            cut,
            accepting: std::sync::Mutex::new(None),
        };
        proxy.accept_on(listener);
        proxy
    }

    fn accept_on(&self, listener: TcpListener) {
        let (upstream, cut) = (self.upstream.clone(), self.cut.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let mut cut_rx = cut.subscribe();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut_rx.changed() => {}
                    }
                });
            }
        });
        if let Ok(mut slot) = self.accepting.lock() {
            *slot = Some(task);
        }
    }

    fn cut(&self) {
        if let Some(task) = self.accepting.lock().ok().and_then(|mut t| t.take()) {
            task.abort();
        }
        self.cut.send_modify(|n| *n += 1);
    }

    async fn restore(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port))
            .await
            .unwrap_or_else(|e| panic!("proxy rebind: {e}"));
        self.accept_on(listener);
    }
}

async fn wait_for_status(app: &crate::common::TestApp, want: u16, within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let status = app
            .http
            .get(app.url("/readyz"))
            .send()
            .await
            .map(|r| r.status().as_u16());
        if status.as_ref().ok() == Some(&want) {
            return start.elapsed();
        }
        if start.elapsed() > within {
            panic!("/readyz did not become {want} within {within:?} (last: {status:?})");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A proxy in front of the test database, and the database URL through it.
async fn proxied(db: &TestDb) -> (CuttableProxy, String) {
    let upstream = url::Url::parse(&db.url).ok();
    let host = upstream
        .as_ref()
        .and_then(|u| u.host_str().map(str::to_owned));
    let port = upstream.as_ref().and_then(|u| u.port()).unwrap_or(5432);
    let proxy = CuttableProxy::start(format!("{}:{port}", host.unwrap_or_default())).await;
    let mut via_proxy = url::Url::parse(&db.url).ok();
    if let Some(u) = via_proxy.as_mut() {
        let _ = u.set_port(Some(proxy.port));
    }
    let via_proxy = via_proxy.map(|u| u.to_string()).unwrap_or_default();
    (proxy, via_proxy)
}

async fn readiness_follows_a_lost_and_recovered_database(db: TestDb) {
    let (proxy, via_proxy) = proxied(&db).await;
    let app = spawn_app_on(&db, &via_proxy).await;
    wait_for_status(&app, 200, Duration::from_secs(5)).await;

    proxy.cut();
    let down = wait_for_status(&app, 503, Duration::from_secs(10)).await;
    let Ok(unready) = app.http.get(app.url("/readyz")).send().await else {
        panic!("no answer")
    };
    let body: serde_json::Value = unready.json().await.unwrap_or_default();
    assert_eq!(body["error"], "temporarily_unavailable");
    assert_eq!(
        app.get_json("/healthz").await["status"],
        "ok",
        "the process itself stays up"
    );

    proxy.restore().await;
    let up = wait_for_status(&app, 200, Duration::from_secs(15)).await;
    eprintln!(
        "readiness: 503 after {down:?} without the database, 200 again {up:?} after it returned"
    );
    app.stop().await;
}

/// While the database is away, a person sees "try again later" pages (503 with a body), an
/// API client a 503 JSON error; never a 500 or an empty answer.
async fn pages_answer_503_pages_while_the_database_is_away(db: TestDb) {
    use crate::common::browser::{Browser, hidden};
    use crate::common::fixtures::{PASSWORD, auth_url};
    let (proxy, via_proxy) = proxied(&db).await;
    let app = spawn_app_on(&db, &via_proxy).await;
    let c = app
        .client(munjigi::oauth::client::AuthMethod::ClientSecretBasic, true)
        .await;
    app.user("outage").await;
    let signed_in = Browser::new(&app);
    signed_in
        .sign_in(&auth_url(&c.id, &[]), "outage", PASSWORD)
        .await;
    let anonymous = Browser::new(&app);
    let form = anonymous
        .get("/login")
        .await
        .text()
        .await
        .unwrap_or_default();
    let csrf = hidden(&form, "csrf");

    proxy.cut();
    wait_for_status(&app, 503, Duration::from_secs(10)).await;
    let page = anonymous.get("/login").await;
    assert_eq!(page.status(), 200, "an empty login form needs no database");
    let attempts = [
        (
            "signed-in GET /login?request=…",
            signed_in.get("/login?request=abc").await,
        ),
        ("signed-in GET /account", signed_in.get("/account").await),
        ("GET /authorize", anonymous.get(&auth_url(&c.id, &[])).await),
        (
            "POST /login",
            anonymous
                .post(
                    "/login",
                    &[
                        ("csrf", &csrf),
                        ("request", ""),
                        ("username", "outage"),
                        ("password", PASSWORD),
                    ],
                )
                .await,
        ),
    ];
    for (what, r) in attempts {
        assert_eq!(r.status(), 503, "{what}");
        let body = r.text().await.unwrap_or_default();
        assert!(
            body.contains("<html"),
            "{what}: a page, not an empty answer"
        );
    }
    let token = app
        .token(&c, &[("grant_type", "authorization_code"), ("code", "x")])
        .await;
    assert_eq!(token.status, 503);
    assert_eq!(token.json["error"], "temporarily_unavailable");
    proxy.restore().await;
    wait_for_status(&app, 200, Duration::from_secs(15)).await;
    app.stop().await;
}

/// The first request to find the database gone waits for the pool; the ones after it are
/// answered at once, and munjigi notices by itself, within a fraction of a second, that the
/// database is back.
async fn once_the_database_is_known_away_answers_are_immediate(db: TestDb) {
    let (proxy, via_proxy) = proxied(&db).await;
    let app = spawn_app_on(&db, &via_proxy).await;
    let c = app
        .client(munjigi::oauth::client::AuthMethod::ClientSecretBasic, true)
        .await;
    let redeem = [("grant_type", "authorization_code"), ("code", "x")];
    assert_eq!(app.token(&c, &redeem).await.status, 400);

    proxy.cut();
    wait_for_status(&app, 503, Duration::from_secs(10)).await;
    let mut slowest = Duration::ZERO;
    for _ in 0..20 {
        let started = Instant::now();
        let reply = app.token(&c, &redeem).await;
        slowest = slowest.max(started.elapsed());
        assert_eq!(reply.status, 503);
        assert_eq!(reply.json["error"], "temporarily_unavailable");
    }
    assert!(
        slowest < Duration::from_millis(500),
        "slowest 503: {slowest:?}"
    );

    proxy.restore().await;
    let back = wait_for_status(&app, 200, Duration::from_secs(5)).await;
    assert_eq!(app.token(&c, &redeem).await.status, 400, "served again");
    eprintln!("outage: slowest 503 {slowest:?}; ready again {back:?} after the database");
    app.stop().await;
}
