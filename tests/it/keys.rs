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
    assert!(
        store
            .insert_active_signing_key(&row("a"))
            .await
            .unwrap_or(false)
    );
    assert!(
        !store
            .insert_active_signing_key(&row("b"))
            .await
            .unwrap_or(true)
    );
    let stored = store.signing_keys().await.unwrap_or_default();
    assert_eq!(
        stored.iter().map(|r| r.kid.as_str()).collect::<Vec<_>>(),
        ["a"]
    );
    store.close().await;
}
