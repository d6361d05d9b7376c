//! `id_token_hint`: at `/authorize` (`id_token::verify_hint`, `hint_subject`) and at
//! `/end_session` (RP-Initiated Logout: the hint, `client_id`, `post_logout_redirect_uri`,
//! `state`), verified against a real key set (fixed RS256 and ES256 keys).
//!
//! Input, by its first byte (mod 3):
//! - `0<token>`: any bytes as the hint.
//! - `1<signer><tamper><header JSON>\n<payload JSON>`: built and signed as in `bearer_jwt`.
//!   A hint accepted must be honestly signed, of `typ` JWT, from our issuer.
//! - `2<query>`: an end_session request, through the steps of `logout::read_request` that
//!   need no database (the client is looked up in the fixtures instead).
#![no_main]

use libfuzzer_sys::fuzz_target;
use munjigi::oauth::params::Params;
use munjigi::oauth::id_token::{self, IdTokenClaims};
use munjigi::oidc::logout;
use munjigi_fuzz::{CLIENT, ISSUER, Plan, client, header_member, honestly_signed, keys, our_token};

/// Reads a hint as both endpoints do; returns the claims when accepted.
fn check(hint: &str) -> Option<IdTokenClaims> {
    let verified = id_token::verify_hint(keys(), hint, ISSUER);
    let read = logout::read_hint(keys(), hint, ISSUER);
    let subject = id_token::hint_subject(keys(), hint, ISSUER);
    assert_eq!(verified.is_ok(), read.is_ok());
    assert_eq!(
        subject.as_deref(),
        verified.as_ref().ok().map(|c| c.sub.as_str())
    );
    munjigi_fuzz::trace(format_args!(
        "hint: {:?}",
        verified.as_ref().map(|c| &c.sub)
    ));
    let claims = verified.ok()?;
    assert_eq!(claims.iss, ISSUER);
    // The claims go back out in pages' state and in ID tokens' JSON: they must serialise.
    assert!(serde_json::to_string(&claims).is_ok());
    Some(claims)
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => {
            check(&String::from_utf8_lossy(rest));
        }
        1 => {
            let Some(plan) = Plan::parse(rest, 0) else {
                return;
            };
            let (token, kid, alg) = our_token(&plan);
            if check(&token).is_some() {
                assert!(
                    honestly_signed(&plan, kid.as_deref(), alg),
                    "accepted a hint not honestly signed: {token}"
                );
                let typ = header_member(plan.header, "typ");
                assert_eq!(typ.as_ref().and_then(|t| t.as_str()), Some("JWT"));
            }
        }
        _ => end_session(&Params::decode(rest)),
    }
});

/// `logout::read_request` without the store.
fn end_session(params: &Params) {
    if params.refuse_repeated().is_err() {
        return;
    }
    let Ok(hint) = params.single("id_token_hint") else {
        return;
    };
    let Ok(hint) = hint.map(check_hint).transpose() else {
        return;
    };
    let Ok(client_id) = params.single("client_id") else {
        return;
    };
    let Ok(named) = logout::client_id_of(client_id, hint.as_ref()) else {
        return;
    };
    let found = match named.as_deref() {
        Some(CLIENT) => Some(client(false)),
        Some(_) => return, // unknown client_id: an error page
        None => None,
    };
    let (Ok(uri), Ok(state), Ok(ui_locales)) = (
        params.single("post_logout_redirect_uri"),
        params.single("state"),
        params.single("ui_locales"),
    ) else {
        return;
    };
    let validated = logout::validate(found, uri, state, ui_locales, hint.as_ref());
    munjigi_fuzz::trace(format_args!("end_session: {validated:?}"));
    let Ok(request) = validated else {
        return;
    };
    if let Some(location) = request.redirect() {
        let registered = &client(false).record.post_logout_redirect_uris;
        assert!(
            registered.iter().any(|r| location.starts_with(r.as_str())),
            "logout redirect to an unregistered URI: {location}"
        );
    }
    let _ = request.matches_session("u-1", "sid-1");
    let stored = serde_json::to_string(&request).unwrap_or_default();
    let back: Option<logout::LogoutRequest> = serde_json::from_str(&stored).ok();
    assert_eq!(back.as_ref(), Some(&request));
}

fn check_hint(hint: &str) -> Result<IdTokenClaims, ()> {
    check(hint).ok_or(())
}
