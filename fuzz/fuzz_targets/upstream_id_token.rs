//! ID tokens from upstream providers: Kakao's (`Kakao::check_id_token`, against Kakao's JWKS)
//! and Google's or a generic issuer's (the connector's `openidconnect` client and verifier,
//! then `OidcConnector::identity`: `auth_time` freshness and the extra `hd` claim), checked
//! against a fixed upstream RSA key.
//!
//! Input, by its first byte (mod 2):
//! - `0<token>`: any bytes as the id_token.
//! - `1<signer><tamper><trip><header JSON>\n<payload JSON>`: the fuzzer's header and payload
//!   signed by (signer mod 4) the upstream key, a key the provider does not publish, no
//!   signature, or HS256 keyed with the client secret; `trip` (mod 3) is the freshness the
//!   request demanded. A token accepted must carry the upstream key's signature, unchanged.
#![no_main]

use http::StatusCode;
use libfuzzer_sys::fuzz_target;
use munjigi::config::FederationConfig;
use munjigi::federation::kakao::Kakao;
use munjigi::federation::oidc::OidcConnector;
use munjigi::federation::{Freshness, Kind, Purpose, RoundTrip};
use munjigi_fuzz::{
    GOOGLE_CLIENT, GOOGLE_ISSUER, KAKAO_CLIENT, KAKAO_ISSUER, NONCE, NOW, Plan, Signer,
    UPSTREAM_JWKS, UPSTREAM_SECRET, build_token, keys, upstream_signer,
};
use openidconnect::Nonce;
use openidconnect::core::{CoreIdToken, CoreJsonWebKeySet, CoreProviderMetadata};

const REDIRECT: &str = "https://id.example.com/login/google/callback";

fn trip(selector: u8) -> RoundTrip {
    let freshness = match selector % 3 {
        0 => Freshness::default(),
        1 => Freshness {
            force: true,
            max_age: None,
        },
        _ => Freshness {
            force: false,
            max_age: Some(600),
        },
    };
    RoundTrip {
        provider: "google".into(),
        state: "s".into(),
        nonce: Some(NONCE.into()),
        pkce_verifier: None,
        freshness,
        request_id: String::new(),
        purpose: Purpose::SignIn,
        started_at: NOW - 60,
    }
}

fn google() -> &'static (OidcConnector, CoreProviderMetadata) {
    static GOOGLE: std::sync::OnceLock<(OidcConnector, CoreProviderMetadata)> =
        std::sync::OnceLock::new();
    GOOGLE.get_or_init(|| {
        let doc = include_str!("../seeds/upstream_json/oidc_discovery");
        let metadata: CoreProviderMetadata = match serde_json::from_str(&doc[2..]) {
            Ok(m) => m,
            Err(e) => panic!("fixture discovery document: {e}"),
        };
        let jwks: CoreJsonWebKeySet = match serde_json::from_str(UPSTREAM_JWKS) {
            Ok(k) => k,
            Err(e) => panic!("fixture JWKS: {e}"),
        };
        let connector = OidcConnector::new(
            FederationConfig::oidc_upstream(
                "google",
                "Google",
                GOOGLE_ISSUER,
                GOOGLE_CLIENT,
                UPSTREAM_SECRET,
            ),
            Kind::Google,
        );
        (connector, metadata.set_jwks(jwks))
    })
}

/// Both providers' readings of `token`; returns whether either accepted it.
fn check(token: &str, trip: &RoundTrip) -> bool {
    let kakao = Kakao::new(FederationConfig::oauth_upstream(
        KAKAO_CLIENT,
        UPSTREAM_SECRET,
        KAKAO_ISSUER,
        "https://kapi.kakao.com",
    ));
    let by_kakao = kakao.check_id_token(StatusCode::OK, UPSTREAM_JWKS.as_bytes(), token, trip, NOW);
    munjigi_fuzz::trace(format_args!("kakao: {by_kakao:?}"));
    let by_kakao = by_kakao.is_ok();

    let (connector, metadata) = google();
    let Ok(client) = connector.client(metadata.clone(), REDIRECT) else {
        return by_kakao;
    };
    let Ok(id_token) = token.parse::<CoreIdToken>() else {
        return by_kakao;
    };
    let verified = id_token.claims(&client.id_token_verifier(), &Nonce::new(NONCE.into()));
    munjigi_fuzz::trace(format_args!(
        "google: {:?}",
        verified.as_ref().map(|c| c.subject())
    ));
    let by_google = match verified {
        Ok(claims) => {
            let who = connector.identity(&id_token, claims, trip, NOW);
            munjigi_fuzz::trace(format_args!("google identity: {who:?}"));
            if let Ok(who) = who {
                assert_eq!(who.subject, claims.subject().as_str());
                assert_eq!(who.provider, "google");
            }
            true
        }
        Err(_) => false,
    };
    by_kakao || by_google
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        check(&String::from_utf8_lossy(rest), &trip(0));
        return;
    }
    let Some(plan) = Plan::parse(rest, 1) else {
        return;
    };
    let ours = &keys().keys()[0];
    let (signer, honest) = match plan.signer % 4 {
        0 => (Signer::Key(upstream_signer()), true),
        1 => (Signer::Key(ours.signer.as_ref()), false),
        2 => (Signer::Empty, false),
        _ => (Signer::Hmac(UPSTREAM_SECRET.as_bytes().to_vec()), false),
    };
    let token = build_token(plan.header, plan.payload, &signer, plan.tamper);
    if check(&token, &trip(plan.extra[0])) {
        // Only the upstream key's own signature, unchanged, may pass. (Which header members
        // the verifier reads is its business: it skips unknown ones without reading them, so
        // the header may not even be valid JSON to a strict parser.)
        assert!(
            honest && plan.tamper.keeps_signature(),
            "accepted an upstream id_token not honestly signed: {token}"
        );
    }
});
