//! Prometheus metrics on their own listener, parsed as a scraper would, and audit events for
//! each kind, read back with `munjigi audit tail`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use munjigi::oauth::client::AuthMethod;
use munjigi::store::AuditQuery;

use crate::common::browser::{Browser, location, query};
use crate::common::fixtures::{PASSWORD, auth_url};
use crate::common::process::{munjigi, run};
use crate::common::{TestApp, TestDb, spawn_app_tweaked};
use crate::on_both_backends;

on_both_backends!(
    metrics_are_served_apart_and_move_after_a_sign_in,
    every_kind_of_audit_event_is_stored_and_tailed
);

/// The samples of one scrape: name and sorted labels → value (counters and gauges).
type Samples = HashMap<(String, Vec<(String, String)>), f64>;

async fn scrape(app: &TestApp) -> Samples {
    let base = app.metrics_base.as_deref().expect("metrics_bind is set");
    let response = app
        .http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(response.status(), 200);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(content_type.contains("text"), "{content_type}");
    let text = response.text().await.unwrap_or_default();
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    let parsed = prometheus_parse::Scrape::parse(lines).expect("a Prometheus text exposition");
    let mut out = HashMap::new();
    for sample in parsed.samples {
        let value = match sample.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => continue,
        };
        let mut labels: Vec<(String, String)> = sample
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        labels.sort();
        out.insert((sample.metric, labels), value);
    }
    out
}

fn value(samples: &Samples, name: &str, labels: &[(&str, &str)]) -> f64 {
    let mut labels: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    labels.sort();
    samples
        .get(&(name.to_owned(), labels))
        .copied()
        .unwrap_or(0.0)
}

async fn metrics_are_served_apart_and_move_after_a_sign_in(db: TestDb) {
    let app = spawn_app_tweaked(&db, munjigi::clock::Clock::system(), |b| {
        b.metrics_bind("127.0.0.1:0")
    })
    .await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    app.user("mina").await;
    assert_eq!(
        app.get("/metrics").await.status(),
        404,
        "not on the public port"
    );

    let before = scrape(&app).await;
    let login = [("method", "password"), ("outcome", "success")];
    let failed = [("method", "password"), ("outcome", "failure")];
    let issued = [
        ("grant_type", "authorization_code"),
        ("client_id", c.id.as_str()),
    ];

    // A wrong password, then a sign-in and a code exchange.
    let browser = Browser::new(&app);
    let page = browser.get(&app.url(&auth_url(&c.id, &[]))).await;
    let page = browser.follow(page).await;
    let wrong = browser.login(page, "mina", "not the password").await;
    assert_eq!(wrong.status(), 401);
    let code = app.code_for(&c, "mina", &[]).await;
    let token = app.redeem(&c, &code).await;
    assert_eq!(token.status, 200);
    let machine = app.machine().await;
    let cc = app
        .token(&machine, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(cc.status, 200);

    let after = scrape(&app).await;
    let moved = |name: &str, labels: &[(&str, &str)]| {
        value(&after, name, labels) - value(&before, name, labels)
    };
    assert_eq!(moved("munjigi_logins_total", &login), 1.0);
    assert_eq!(moved("munjigi_logins_total", &failed), 1.0);
    assert_eq!(moved("munjigi_tokens_issued_total", &issued), 1.0);
    let machine_issued = [
        ("grant_type", "client_credentials"),
        ("client_id", machine.id.as_str()),
    ];
    assert_eq!(
        moved("munjigi_tokens_issued_total", &machine_issued),
        1.0,
        "machine tokens are counted even when not recorded one by one"
    );
    let token_route = [("method", "POST"), ("route", "/token"), ("status", "200")];
    assert_eq!(
        moved("munjigi_http_requests_total", &token_route),
        2.0,
        "the code exchange and the machine token"
    );
    assert!(
        after
            .keys()
            .any(|(name, labels)| name == "munjigi_db_connections"
                && labels.iter().any(|(k, v)| k == "state" && v == "idle")),
        "pool gauges"
    );
    let keys = after
        .keys()
        .filter(|(name, _)| name == "munjigi_signing_key_age_seconds")
        .count();
    assert_eq!(keys, 2, "one gauge per signing key (RS256 and ES256)");
    app.stop().await;
}

/// Waits until the writer has stored events of every kind in `kinds`.
pub(crate) async fn stored_kinds(
    app: &TestApp,
    kinds: &[&str],
) -> Vec<munjigi::store::AuditRecord> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let events = app
            .store
            .recent_audit_events(&AuditQuery {
                limit: 1000,
                ..AuditQuery::default()
            })
            .await
            .expect("audit events");
        if kinds.iter().all(|k| events.iter().any(|e| e.kind == *k)) {
            return events;
        }
        assert!(
            Instant::now() < deadline,
            "missing some of {kinds:?} in {:?}",
            events.iter().map(|e| &e.kind).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn every_kind_of_audit_event_is_stored_and_tailed(db: TestDb) {
    let app = spawn_app_tweaked(&db, munjigi::clock::Clock::system(), |b| {
        b.audit_client_credentials(true)
    })
    .await;
    let machine = app.machine().await;
    let cc = [("grant_type", "client_credentials")];
    assert_eq!(app.token(&machine, &cc).await.status, 200);
    let c = app.client(AuthMethod::ClientSecretBasic, false).await;
    let user_id = app.user("hyun").await;

    // Wrong passwords until the account locks (5 free failures).
    let browser = Browser::new(&app);
    for _ in 0..6 {
        let page = browser.get(&app.url(&auth_url(&c.id, &[]))).await;
        let page = browser.follow(page).await;
        browser.login(page, "hyun", "wrong password").await;
    }
    // Another account: sign-in, consent, tokens, a refresh token used twice, logout.
    app.user("dahye").await;
    let browser = Browser::new(&app);
    let offline = [("scope", "openid offline_access"), ("prompt", "consent")];
    let back = browser
        .sign_in(&auth_url(&c.id, &offline), "dahye", PASSWORD)
        .await;
    let code = query(&back).get("code").cloned().unwrap_or_default();
    let tokens = app.redeem(&c, &code).await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    let rt = tokens.json["refresh_token"].as_str().unwrap_or_default();
    let form = [("grant_type", "refresh_token"), ("refresh_token", rt)];
    assert_eq!(app.token(&c, &form).await.status, 200);
    assert_eq!(app.token(&c, &form).await.status, 400, "reuse");
    let access = tokens.json["access_token"].as_str().unwrap_or_default();
    let revoked = app.client_post(&c, "/revoke", &[("token", access)]).await;
    assert_eq!(revoked.status, 200);
    let logout = browser.get(&app.url("/logout")).await;
    let html = logout.text().await.unwrap_or_default();
    let csrf = crate::common::browser::hidden(&html, "csrf");
    let done = browser.post(&app.url("/logout"), &[("csrf", &csrf)]).await;
    assert!(
        done.status().is_success() || done.status().is_redirection(),
        "{}",
        location(&done)
    );

    let events = stored_kinds(
        &app,
        &[
            "sign_in_failed",
            "lockout",
            "sign_in",
            "consent_given",
            "token_issued",
            "refresh_token_reuse",
            "token_revoked",
            "logout",
        ],
    )
    .await;
    let failed = events.iter().find(|e| e.kind == "sign_in_failed");
    let failed = failed.expect("a failed sign-in");
    assert_eq!(failed.client_id.as_deref(), Some(c.id.as_str()));
    assert_eq!(failed.ip.as_deref(), Some("127.0.0.1"));
    assert!(
        failed.detail.contains("\"login\":\"hyun\""),
        "{}",
        failed.detail
    );
    assert!(
        events.iter().any(|e| e.kind == "token_issued"
            && e.client_id.as_deref() == Some(machine.id.as_str())
            && e.detail.contains("client_credentials")),
        "audit_client_credentials records machine tokens"
    );
    let signed_in = events
        .iter()
        .find(|e| e.kind == "sign_in")
        .expect("a sign-in");
    assert!(
        signed_in.detail.contains("\"method\":\"password\""),
        "{}",
        signed_in.detail
    );
    assert!(signed_in.user_id.is_some());
    app.stop().await;

    // An operator's change through the CLI, and the tail of the trail.
    let cli = |args: &[&str]| {
        run(munjigi(db.dir())
            .args(args)
            .env("DATABASE_URL", &db.url)
            .env("MUNJIGI_KEK", &db.kek))
    };
    let out = cli(&["user", "disable", "hyun"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli(&["audit", "tail", "--json", "--user", "hyun"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    // The lockout names the attempted login, not a user id; the admin event its target.
    let admin = lines.iter().find(|l| l["kind"] == "admin");
    assert!(admin.is_none(), "--user filters by user id: {lines:?}");
    let all = cli(&["audit", "tail", "--json", "-n", "500"]);
    let all: Vec<serde_json::Value> = String::from_utf8_lossy(&all.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let admin = all
        .iter()
        .find(|l| l["kind"] == "admin")
        .unwrap_or_else(|| panic!("no admin event in {all:?}"));
    assert_eq!(admin["detail"]["action"], "user.disable");
    assert_eq!(admin["detail"]["target"], "hyun");
    let mine = cli(&["audit", "tail", "--json", "--user", "dahye"]);
    let mine: Vec<serde_json::Value> = String::from_utf8_lossy(&mine.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(!mine.is_empty() && mine.iter().all(|l| l["user_id"] != serde_json::Value::Null));
    let _ = user_id;
    let text = cli(&["audit", "tail"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("lockout"));
}
