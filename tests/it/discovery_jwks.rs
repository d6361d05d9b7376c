//! Discovery and JWKS as relying parties and gateways read them.

use crate::common::{TestDb, spawn_app};
use crate::on_both_backends;

on_both_backends!(
    discovery_issuer_is_exact_and_endpoints_resolve,
    jwks_publishes_only_public_members,
    jwks_answers_304_to_a_matching_if_none_match,
);

async fn discovery_issuer_is_exact_and_endpoints_resolve(db: TestDb) {
    let app = spawn_app(&db).await;
    let oidc = app.get_json("/.well-known/openid-configuration").await;
    let oauth = app
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    assert_eq!(
        oidc["issuer"].as_str(),
        Some(app.base.as_str()),
        "issuer byte for byte"
    );
    assert_eq!(oidc, oauth, "RFC 8414 metadata matches OIDC discovery");

    // Every advertised endpoint is under the issuer and answers (not 404).
    let endpoints: Vec<String> = oidc
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.ends_with("_endpoint") || k.as_str() == "jwks_uri")
        .filter_map(|(_, v)| v.as_str().map(str::to_owned))
        .collect();
    assert!(!endpoints.is_empty());
    for url in endpoints {
        assert!(
            url.starts_with(&format!("{}/", app.base)),
            "{url} is under the issuer"
        );
        let response = app.http.get(&url).send().await;
        let status = response.map(|r| r.status().as_u16()).unwrap_or_default();
        assert!(status != 0 && status != 404, "{url} answered {status}");
    }

    // `acr` is in every ID token (issue 19): it is listed with the others.
    let claims = oidc["claims_supported"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for claim in ["sub", "auth_time", "amr", "acr", "sid"] {
        assert!(
            claims.contains(&claim.into()),
            "claims_supported has {claim}"
        );
    }
    for (member, expected) in [
        ("response_types_supported", serde_json::json!(["code"])),
        (
            "token_endpoint_auth_methods_supported",
            serde_json::json!(["client_secret_basic", "client_secret_post", "none"]),
        ),
        (
            "code_challenge_methods_supported",
            serde_json::json!(["S256"]),
        ),
        ("request_uri_parameter_supported", serde_json::json!(false)),
        (
            "authorization_response_iss_parameter_supported",
            serde_json::json!(true),
        ),
    ] {
        assert_eq!(oidc[member], expected, "{member}");
    }
    let grants = oidc["grant_types_supported"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!grants.is_empty() && !grants.contains(&"implicit".into()));
    app.stop().await;
}

async fn jwks_publishes_only_public_members(db: TestDb) {
    let app = spawn_app(&db).await;
    let jwks = app.get_json("/jwks.json").await;
    let keys = jwks["keys"].as_array().cloned().unwrap_or_default();
    let mut algs: Vec<&str> = keys.iter().filter_map(|k| k["alg"].as_str()).collect();
    algs.sort_unstable();
    assert_eq!(algs, ["ES256", "RS256"]);
    for key in &keys {
        for member in ["kid", "kty", "use", "alg"] {
            assert!(key.get(member).is_some(), "{member} present in {key}");
        }
        assert_eq!(key["use"], "sig");
        for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
            assert!(
                key.get(private).is_none(),
                "{private} must never be published"
            );
        }
    }
    app.stop().await;
}

async fn jwks_answers_304_to_a_matching_if_none_match(db: TestDb) {
    let app = spawn_app(&db).await;
    let first = app.get("/jwks.json").await;
    let etag = first
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let cache_control = first
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let etag = etag.unwrap_or_default();
    assert!(
        etag.starts_with('"') && etag.len() > 2,
        "strong ETag, got {etag:?}"
    );
    assert!(cache_control.unwrap_or_default().contains("max-age="));

    let again = app
        .http
        .get(app.url("/jwks.json"))
        .header("if-none-match", &etag)
        .send()
        .await;
    let Ok(again) = again else {
        panic!("request failed")
    };
    assert_eq!(again.status(), 304);
    assert_eq!(
        again.headers().get("etag").and_then(|v| v.to_str().ok()),
        Some(etag.as_str())
    );
    assert!(
        again.bytes().await.map(|b| b.is_empty()).unwrap_or(false),
        "304 has no body"
    );

    let weak = app
        .http
        .get(app.url("/jwks.json"))
        .header("if-none-match", format!("W/{etag}"))
        .send()
        .await;
    assert_eq!(weak.map(|r| r.status().as_u16()).ok(), Some(304));

    let stale = app
        .http
        .get(app.url("/jwks.json"))
        .header("if-none-match", "\"stale\"")
        .send()
        .await;
    assert_eq!(stale.map(|r| r.status().as_u16()).ok(), Some(200));
    app.stop().await;
}
