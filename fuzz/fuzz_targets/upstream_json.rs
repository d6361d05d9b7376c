//! What upstream providers answer: token responses, profiles, discovery documents and key
//! sets, read by the same functions the connectors call once the HTTP answer is in.
//!
//! Input: `<which><status><body>`. `status` (mod 6) is 200, 201, 400, 401, 500 or 302;
//! `which` (mod 8) picks the reader:
//! 0 Kakao token answer, 1 Kakao `/v2/user/me`, 2 Naver token answer, 3 Naver `/v1/nid/me`,
//! 4 an OpenID Connect token response (as the `openidconnect` crate reads it for Google and
//! generic issuers), 5 a discovery document (then the authorization URL built from it),
//! 6 a JWKS (Kakao's and a generic issuer's, then a real id_token checked against it),
//! 7 the query of the redirect back (`error`, `error_description`).
#![no_main]

use http::StatusCode;
use libfuzzer_sys::fuzz_target;
use munjigi::config::FederationConfig;
use munjigi::federation::kakao::{self, Kakao};
use munjigi::federation::oidc::OidcConnector;
use munjigi::federation::{Freshness, Kind, Purpose, RoundTrip, callback_error, naver};
use munjigi_fuzz::{
    GOOGLE_CLIENT, GOOGLE_ISSUER, KAKAO_CLIENT, KAKAO_ISSUER, NONCE, NOW, UPSTREAM_SECRET, trace,
};
use openidconnect::core::{
    CoreErrorResponseType, CoreIdToken, CoreJsonWebKeySet, CoreProviderMetadata, CoreTokenResponse,
};
use openidconnect::{Nonce, OAuth2TokenResponse, StandardErrorResponse, TokenResponse};

const STATUSES: [u16; 6] = [200, 201, 400, 401, 500, 302];
const REDIRECT: &str = "https://id.example.com/login/google/callback";

fn trip(freshness: Freshness) -> RoundTrip {
    RoundTrip {
        provider: "google".into(),
        state: "s".into(),
        nonce: Some(NONCE.into()),
        pkce_verifier: Some("v".repeat(43)),
        freshness,
        request_id: String::new(),
        purpose: Purpose::SignIn,
        started_at: NOW - 60,
    }
}

fn kakao() -> Kakao {
    Kakao::new(FederationConfig::oauth_upstream(
        KAKAO_CLIENT,
        UPSTREAM_SECRET,
        KAKAO_ISSUER,
        "https://kapi.kakao.com",
    ))
}

fn google(kind: Kind) -> OidcConnector {
    OidcConnector::new(
        FederationConfig::oidc_upstream(
            "google",
            "Google",
            GOOGLE_ISSUER,
            GOOGLE_CLIENT,
            UPSTREAM_SECRET,
        ),
        kind,
    )
}

/// A real discovery document (the seeds' Google one, without keys).
fn metadata() -> CoreProviderMetadata {
    let doc = include_str!("../seeds/upstream_json/oidc_discovery");
    match serde_json::from_str(&doc[2..]) {
        Ok(m) => m,
        Err(e) => panic!("fixture discovery document: {e}"),
    }
}

/// A real id_token from each provider, signed by the key in fuzz/keys/upstream_jwks.json.
fn kakao_id_token() -> &'static str {
    &include_str!("../seeds/upstream_id_token/raw_kakao")[1..]
}

fn google_id_token() -> &'static str {
    &include_str!("../seeds/upstream_id_token/raw_google")[1..]
}

fuzz_target!(|data: &[u8]| {
    let [which, status, body @ ..] = data else {
        return;
    };
    let status = StatusCode::from_u16(STATUSES[usize::from(*status) % STATUSES.len()])
        .unwrap_or(StatusCode::OK);
    match which % 8 {
        0 => {
            let answer = kakao::read_token_answer(status, body);
            trace(format_args!(
                "kakao token: {:?}",
                answer.as_ref().map(|_| ())
            ));
            if answer.is_ok() {
                assert!(status.is_success());
            }
        }
        1 => {
            for expected in [None, Some("1234567890123456789".to_owned())] {
                let who = kakao::read_profile(status, body, expected.clone());
                trace(format_args!("kakao profile: {who:?}"));
                if let Ok(who) = who {
                    assert!(status.is_success() && !who.subject.is_empty());
                    assert!(expected.is_none_or(|s| s == who.subject));
                    assert!(!who.email_verified || who.email.is_some());
                }
            }
        }
        2 => {
            let token = naver::read_token_answer(status, body);
            trace(format_args!(
                "naver token: {:?}",
                token.as_ref().map(|_| ())
            ));
            if let Ok(token) = token {
                assert!(status.is_success() && !token.is_empty());
            }
        }
        3 => {
            let who = naver::read_profile(status, body);
            trace(format_args!("naver profile: {who:?}"));
            if let Ok(who) = who {
                assert!(!who.subject.is_empty() && !who.email_verified);
            }
        }
        4 => {
            let tokens = serde_json::from_slice::<CoreTokenResponse>(body);
            trace(format_args!(
                "token response: {:?}",
                tokens.as_ref().map(|_| ())
            ));
            if let Ok(tokens) = tokens {
                let _ = tokens.access_token().secret().len();
                if let Some(id_token) = tokens.id_token() {
                    let _ = id_token.to_string();
                }
            }
            if let Ok(error) =
                serde_json::from_slice::<StandardErrorResponse<CoreErrorResponseType>>(body)
            {
                let _ = (error.error().to_string(), error.error_description());
            }
        }
        5 => {
            let metadata = serde_json::from_slice::<CoreProviderMetadata>(body);
            trace(format_args!(
                "discovery: {:?}",
                metadata.as_ref().map(|_| ())
            ));
            let Ok(metadata) = metadata else {
                return;
            };
            let fresh = [
                Freshness::default(),
                Freshness {
                    force: true,
                    max_age: None,
                },
                Freshness {
                    force: false,
                    max_age: Some(i64::from(*which)),
                },
            ];
            for (kind, freshness) in [Kind::Google, Kind::Oidc].into_iter().zip(fresh) {
                let connector = google(kind);
                let begun = connector.authorize_url(metadata.clone(), REDIRECT, freshness);
                trace(format_args!(
                    "authorize URL: {:?}",
                    begun.as_ref().map(|b| &b.url)
                ));
                if let Ok(begun) = begun {
                    assert!(begun.url.contains("code_challenge="));
                    assert!(begun.nonce.is_some() && begun.pkce_verifier.is_some());
                }
            }
        }
        6 => {
            let trip = trip(Freshness::default());
            let kakao = kakao().check_id_token(status, body, kakao_id_token(), &trip, NOW);
            trace(format_args!("kakao id_token with this JWKS: {kakao:?}"));
            let Ok(jwks) = serde_json::from_slice::<CoreJsonWebKeySet>(body) else {
                return;
            };
            let mut metadata = metadata();
            metadata = metadata.set_jwks(jwks);
            let connector = google(Kind::Google);
            let Ok(client) = connector.client(metadata, REDIRECT) else {
                return;
            };
            let Ok(id_token) = google_id_token().parse::<CoreIdToken>() else {
                return;
            };
            if let Ok(claims) =
                id_token.claims(&client.id_token_verifier(), &Nonce::new(NONCE.into()))
            {
                let who = connector.identity(&id_token, claims, &trip, NOW);
                trace(format_args!("google id_token with this JWKS: {who:?}"));
            }
        }
        _ => {
            let pairs: Vec<(String, String)> =
                url::form_urlencoded::parse(body).into_owned().collect();
            let get = |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.as_str())
            };
            if let Some(error) = get("error") {
                let e = callback_error(error, get("error_description"));
                trace(format_args!("callback: {e}"));
                assert!(e.to_string().len() < 2048, "callback errors are bounded");
            }
        }
    }
});
