//! Every table that grows loses its expired rows, and only those; on PostgreSQL one instance
//! at a time does the work.

use munjigi::clock::Clock;
use munjigi::oauth::client::AuthMethod;
use sqlx::Connection;

use crate::common::browser::{Browser, location, query};
use crate::common::fixtures::auth_url;
use crate::common::{TestApp, TestDb, spawn_app_with_clock};
use crate::{on_both_backends, on_postgres};

on_both_backends!(expired_rows_of_every_table_are_deleted_and_live_ones_kept);
on_postgres!(one_instance_at_a_time_does_the_housekeeping);

async fn count(app: &TestApp, table: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(app.store.pool())
        .await
        .expect("count")
}

async fn expired_rows_of_every_table_are_deleted_and_live_ones_kept(db: TestDb) {
    let clock = Clock::fixed(1_900_000_000);
    let app = spawn_app_with_clock(&db, clock.clone()).await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    app.user("old").await;
    // A finished sign-in: a code (redeemed, then replayed: its grant revoked), a refresh
    // family, a session's clients, and one access token revoked by itself.
    let browser = Browser::new(&app);
    let offline = [("scope", "openid offline_access")];
    browser
        .sign_in(
            &auth_url(&c.id, &offline),
            "old",
            crate::common::fixtures::PASSWORD,
        )
        .await;
    let back = location(&browser.get(&auth_url(&c.id, &offline)).await);
    let code = query(&back).get("code").cloned().unwrap_or_default();
    let tokens = app.redeem(&c, &code).await.json;
    app.redeem(&c, &code).await;
    let back = location(&browser.get(&auth_url(&c.id, &offline)).await);
    let code = query(&back).get("code").cloned().unwrap_or_default();
    let second = app.redeem(&c, &code).await.json;
    let access = second["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    app.client_post(&c, "/revoke", &[("token", &access)]).await;
    sqlx::query("INSERT INTO sessions (id_hash, data, expires_at) VALUES ('gone', '{}', 1)")
        .execute(app.store.pool())
        .await
        .expect("an expired session");
    for table in [
        "authorization_codes",
        "refresh_tokens",
        "revoked_grants",
        "revoked_access_tokens",
        "session_clients",
        "sessions",
    ] {
        assert!(
            count(&app, table).await > 0,
            "{table} has rows to start with"
        );
    }
    assert!(tokens["refresh_token"].is_string());
    // Audit events are written in the background: let the writer catch up.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while count(&app, "audit_events").await < 4 {
        assert!(std::time::Instant::now() < deadline, "audit events written");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let old_events = count(&app, "audit_events").await;

    // 91 days on (past the 90 days audit events are kept): every family, code, revocation and sid is past its time.
    clock.advance(91 * 86_400);
    // ...except what happens now: a fresh sign-in and code.
    let fresh = Browser::new(&app);
    let back = fresh
        .sign_in(
            &auth_url(&c.id, &offline),
            "old",
            crate::common::fixtures::PASSWORD,
        )
        .await;
    assert!(query(&back).contains_key("code"));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let purged = app
        .state
        .housekeeping()
        .await
        .expect("housekeeping")
        .expect("not locked");
    assert!(
        purged.codes >= 2 && purged.refresh_tokens >= 2,
        "{purged:?}"
    );
    assert!(
        purged.revoked_grants >= 1 && purged.revoked_access_tokens == 1,
        "{purged:?}"
    );
    assert!(
        purged.session_clients >= 1 && purged.sessions >= 1,
        "{purged:?}"
    );
    assert_eq!(count(&app, "revoked_access_tokens").await, 0);
    assert_eq!(
        count(&app, "authorization_codes").await,
        1,
        "the fresh code stays"
    );
    assert_eq!(
        count(&app, "session_clients").await,
        1,
        "the fresh sid stays"
    );
    assert!(count(&app, "sessions").await >= 1, "live sessions stay");
    assert_eq!(purged.audit_events, old_events as u64, "{purged:?}");
    assert!(
        count(&app, "audit_events").await >= 1,
        "the fresh sign-in's events stay"
    );
    let again = app
        .state
        .housekeeping()
        .await
        .expect("housekeeping")
        .expect("not locked");
    assert_eq!(again.total(), 0, "nothing left to do");
    app.stop().await;
}

async fn one_instance_at_a_time_does_the_housekeeping(db: TestDb) {
    let app = spawn_app_with_clock(&db, Clock::system()).await;
    let mut other = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(0x6d75_6e6a_6967_6931_i64)
        .fetch_one(&mut other)
        .await
        .expect("lock");
    assert!(locked);
    assert_eq!(
        app.state.housekeeping().await.ok(),
        Some(None),
        "another instance holds it"
    );
    let _ = other.close().await;
    assert!(
        matches!(app.state.housekeeping().await, Ok(Some(_))),
        "free again"
    );
    app.stop().await;
}
