//! Token request forms and client authentication (`/token`, `/revoke`, `/introspect`).
//!
//! Input: `<Content-Type>\n<Authorization>\n<body>` (an empty header line means the header is
//! absent). The headers and body go through `form::parse`, the part of `ClientForm::read`
//! before any client is looked up: the media type, `Params::decode` with repeats refused, the
//! HTTP Basic header (`PresentedCredentials::from_request`, base64 then form-decoding of id
//! and secret) and the form's client fields. Then every parameter the grants read, as
//! `ClientForm::get` returns it: grant type, PKCE verifier, scope, token.
#![no_main]

use http::{HeaderMap, HeaderValue, header};
use libfuzzer_sys::fuzz_target;
use munjigi::http::oauth::form;
use munjigi::oauth::grant::GrantType;
use munjigi::oauth::pkce::{self, StoredChallenge};
use munjigi::oauth::scope::Scopes;
use munjigi_fuzz::{CHALLENGE, line};

fuzz_target!(|data: &[u8]| {
    let (content_type, rest) = line(data);
    let (authorization, body) = line(rest);
    let mut headers = HeaderMap::new();
    for (name, value) in [
        (header::CONTENT_TYPE, content_type),
        (header::AUTHORIZATION, authorization),
    ] {
        // What hyper would hand the handler: only values that are valid header values.
        if !value.is_empty()
            && let Ok(value) = HeaderValue::from_bytes(value)
        {
            headers.insert(name, value);
        }
    }
    let parsed = form::parse(&headers, body);
    munjigi_fuzz::trace(format_args!(
        "form: {:?}",
        parsed.as_ref().map(|(p, c)| (p, c))
    ));
    let Ok((params, presented)) = parsed else {
        return;
    };
    assert!(params.refuse_repeated().is_ok());
    if let Some((id, secret)) = &presented.basic {
        assert!(!id.chars().any(char::is_control) && !secret.chars().any(char::is_control));
    }
    let _ = format!("{presented:?}");

    // `ClientForm::get`: empty, repeated or malformed values count as absent.
    let get = |name: &str| params.single(name).ok().flatten();
    if let Some(grant_type) = get("grant_type").and_then(GrantType::parse) {
        assert_eq!(GrantType::parse(grant_type.as_str()), Some(grant_type));
    }
    let _ = (get("code"), get("redirect_uri"), get("refresh_token"));
    let _ = (get("token"), get("token_type_hint"));
    if let Some(scope) = get("scope") {
        let _ = Scopes::parse(scope).map(|s| s.to_string());
    }
    let verifier = get("code_verifier");
    let stored = pkce::accept_challenge(Some("S256"), Some(CHALLENGE), true)
        .ok()
        .flatten()
        .unwrap_or(StoredChallenge(CHALLENGE.into()));
    let matched = pkce::verify(Some(&stored), verifier);
    assert!(
        matched.is_err() || verifier == Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
        "a code_verifier other than the RFC 7636 one matched its challenge"
    );
    let _ = pkce::verify(None, verifier);
});
