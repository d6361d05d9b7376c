//! Signing keys: persisted, sealed at rest, shared by every instance on one database.

use base64::Engine;
use sqlx::Row;

use crate::common::{TestDb, spawn_app};
use crate::on_both_backends;

on_both_backends!(
    keys_survive_a_restart,
    private_keys_are_sealed_at_rest,
    instances_starting_together_publish_the_same_keys,
    one_active_key_per_alg_in_the_store,
);

fn kids(jwks: &serde_json::Value) -> Vec<String> {
    let mut kids: Vec<String> = jwks["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| k["kid"].as_str().map(str::to_owned))
        .collect();
    kids.sort();
    kids
}

async fn keys_survive_a_restart(db: TestDb) {
    let app = spawn_app(&db).await;
    let before = kids(&app.get_json("/jwks.json").await);
    app.stop().await;
    let app = spawn_app(&db).await;
    let after = kids(&app.get_json("/jwks.json").await);
    assert_eq!(before.len(), 2);
    assert_eq!(before, after, "the same kids after a restart");
    app.stop().await;
}

async fn private_keys_are_sealed_at_rest(db: TestDb) {
    let app = spawn_app(&db).await;
    let rows = sqlx::query("SELECT kid, private_jwe FROM signing_keys")
        .fetch_all(db.store().await.pool())
        .await;
    let Ok(rows) = rows else {
        panic!("query failed")
    };
    assert_eq!(rows.len(), 2);
    for row in rows {
        let kid: String = row.try_get("kid").unwrap_or_default();
        let sealed: String = row.try_get("private_jwe").unwrap_or_default();
        assert!(
            !sealed.contains("BEGIN") && !sealed.contains("PRIVATE KEY"),
            "no PEM"
        );
        assert!(!sealed.contains("\"d\""), "no plaintext JWK");
        let parts: Vec<&str> = sealed.split('.').collect();
        assert_eq!(parts.len(), 5, "a compact JWE");
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[0]);
        let header: serde_json::Value =
            serde_json::from_slice(&header.unwrap_or_default()).unwrap_or_default();
        assert_eq!(header["alg"], "dir");
        assert_eq!(header["enc"], "A256GCM");
        assert_eq!(header["kid"].as_str(), Some(kid.as_str()));
    }
    app.stop().await;
}

async fn instances_starting_together_publish_the_same_keys(db: TestDb) {
    let (a, b) = tokio::join!(spawn_app(&db), spawn_app(&db));
    let (ja, jb) = tokio::join!(a.get_json("/jwks.json"), b.get_json("/jwks.json"));
    assert_eq!(kids(&ja).len(), 2);
    assert_eq!(ja, jb, "identical JWKS from both instances");
    a.stop().await;
    b.stop().await;
}

async fn one_active_key_per_alg_in_the_store(db: TestDb) {
    let store = db.store().await;
    let row = |kid: &str| munjigi::store::SigningKeyRow {
        kid: kid.to_owned(),
        alg: "ES256".to_owned(),
        state: "active".to_owned(),
        public_jwk: "{}".to_owned(),
        private_jwe: "x".to_owned(),
        created_at: 1,
        activates_at: 1,
        retired_at: None,
    };
    assert!(store.insert_signing_key(&row("a")).await.unwrap_or(false));
    assert!(!store.insert_signing_key(&row("b")).await.unwrap_or(true));
    let stored = store.signing_keys().await.unwrap_or_default();
    assert_eq!(
        stored.iter().map(|r| r.kid.as_str()).collect::<Vec<_>>(),
        ["a"]
    );
    store.close().await;
}

mod rotation {
    use base64::Engine;
    use munjigi::clock::Clock;
    use munjigi::keys::SigningAlg;
    use munjigi::keys::rotation;
    use munjigi::oauth::client::AuthMethod;

    use crate::common::browser::{Browser, location, query};
    use crate::common::fixtures::{PASSWORD, auth_url};
    use crate::common::{TestApp, TestDb, spawn_app_with_clock};
    use crate::on_both_backends;

    on_both_backends!(rotation_publishes_first_signs_later_and_retires_after_tokens_expire);

    fn kid_of(jwt: &str) -> String {
        let header = jwt.split('.').next().unwrap_or_default();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap_or_default();
        let header: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        header["kid"].as_str().unwrap_or_default().to_owned()
    }

    async fn published(app: &TestApp) -> (Vec<String>, String) {
        let r = app.get("/jwks.json").await;
        let etag = r
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let jwks: serde_json::Value = r.json().await.unwrap_or_default();
        (super::kids(&jwks), etag)
    }

    async fn maintain(app: &TestApp) {
        if let Err(e) = app.state.maintain_keys().await {
            panic!("maintain: {e}");
        }
    }

    async fn rotation_publishes_first_signs_later_and_retires_after_tokens_expire(db: TestDb) {
        let clock = Clock::fixed(1_800_000_000);
        let app = spawn_app_with_clock(&db, clock.clone()).await;
        let c = app.client(AuthMethod::ClientSecretBasic, true).await;
        app.user("rotator").await;
        let browser = Browser::new(&app);
        browser
            .sign_in(&auth_url(&c.id, &[]), "rotator", PASSWORD)
            .await;
        let signing_kids = || async {
            let back = browser.get(&auth_url(&c.id, &[])).await;
            let code = query(&location(&back))
                .get("code")
                .cloned()
                .unwrap_or_default();
            let reply = app.redeem(&c, &code).await;
            let id = kid_of(reply.json["id_token"].as_str().unwrap_or_default());
            let access = kid_of(reply.json["access_token"].as_str().unwrap_or_default());
            (id, access)
        };
        let (old_kids, old_etag) = published(&app).await;
        let (old_id_kid, old_access_kid) = signing_kids().await;
        assert!(old_kids.contains(&old_id_kid) && old_kids.contains(&old_access_kid));

        let policy = app.state.rotation_policy();
        let mut new_kids = Vec::new();
        for alg in SigningAlg::DEFAULTS {
            let scheduled = rotation::schedule(
                &app.store,
                app.state.keys.kek(),
                alg,
                clock.now(),
                policy.publish_secs,
            )
            .await;
            let Ok(Some((kid, _))) = scheduled else {
                panic!("schedule {alg:?}: {scheduled:?}")
            };
            new_kids.push(kid);
        }
        let again = rotation::schedule(
            &app.store,
            app.state.keys.kek(),
            SigningAlg::Rs256,
            clock.now(),
            60,
        )
        .await;
        assert!(matches!(again, Ok(None)), "one scheduled key per alg");
        maintain(&app).await;

        // Published before it signs anything.
        let (kids, etag) = published(&app).await;
        assert_eq!(kids.len(), 4);
        assert!(new_kids.iter().all(|k| kids.contains(k)));
        assert_ne!(etag, old_etag, "the ETag follows the set");
        assert_eq!(
            signing_kids().await,
            (old_id_kid.clone(), old_access_kid.clone()),
            "old keys still sign"
        );

        clock.advance(policy.publish_secs);
        maintain(&app).await;
        let (id_kid, access_kid) = signing_kids().await;
        assert!(
            new_kids.contains(&id_kid) && new_kids.contains(&access_kid),
            "new keys sign after publication"
        );
        let (kids, _) = published(&app).await;
        assert!(
            kids.contains(&old_id_kid) && kids.contains(&old_access_kid),
            "retired keys stay published"
        );

        clock.advance(policy.retire_after_secs - 1);
        maintain(&app).await;
        assert_eq!(
            published(&app).await.0.len(),
            4,
            "until every token they signed has expired"
        );
        clock.advance(2);
        maintain(&app).await;
        let (kids, _) = published(&app).await;
        let mut expected = new_kids.clone();
        expected.sort();
        assert_eq!(kids, expected, "then they go");
        app.stop().await;
    }
}
