//! `/readyz` follows the database: 503 while it is unreachable, 200 again when it returns,
//! without restarting munjigi. The connection is cut by a TCP proxy inside the test, never by
//! stopping the shared PostgreSQL.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::common::{TestDb, spawn_app_on};
use crate::on_postgres;

on_postgres!(
    readiness_follows_a_lost_and_recovered_database,
    pages_answer_503_pages_while_the_database_is_away
);

/// Forwards 127.0.0.1:<port> to PostgreSQL while open; when cut, it closes every live
/// connection and refuses new ones.
struct CuttableProxy {
    port: u16,
    open: Arc<AtomicBool>,
    cut: watch::Sender<u64>,
}

impl CuttableProxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("proxy bind: {e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
        let open = Arc::new(AtomicBool::new(true));
        let (cut, _) = watch::channel(0u64);
        let (open2, cut2) = (open.clone(), cut.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !open2.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let upstream = upstream.clone();
                let mut cut_rx = cut2.subscribe();
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
        Self { port, open, cut }
    }

    fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
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

    proxy.restore();
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
    proxy.restore();
    wait_for_status(&app, 200, Duration::from_secs(15)).await;
    app.stop().await;
}
