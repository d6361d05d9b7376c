//! The authorization request (`/authorize`, GET query or POST form) and its language.
//!
//! Input: `<client byte><query>[\n<Accept-Language>]`. The first byte picks the registered
//! client (even: confidential, odd: public); the query goes through `Params::decode` and
//! `request::validate` exactly as `flow::start` does, then everything that later reads the
//! validated request: the redirect back (success and error), the session round trip, the
//! sign-in state machine, PKCE, scopes, `id_token_hint` and language negotiation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use munjigi::account::sign_in::SignIn;
use munjigi::http::web::i18n;
use munjigi::oauth::authorize::next_step::{self, Situation};
use munjigi::oauth::authorize::request::{self, Rejection};
use munjigi::oauth::authorize::{Next, Pending};
use munjigi::oauth::params::Params;
use munjigi::oauth::scope::Scopes;
use munjigi::oauth::{pkce, redirect};
use munjigi::oauth::id_token;
use munjigi_fuzz::{CLIENT, ISSUER, NOW, client, keys, line};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let public = selector % 2 == 1;
    let (query, accept_language) = line(rest);
    let params = Params::decode(query);
    let client = client(public);

    // The page's language: `ui_locales`, then Accept-Language (as a header value).
    let accept = http::HeaderValue::from_bytes(accept_language).ok();
    let lang = i18n::negotiate(
        params.first("ui_locales"),
        accept.as_ref().and_then(|v| v.to_str().ok()),
    );
    let _ = lang.texts();

    // `flow::start` looks the client up by a well-formed client_id.
    let found = match params.single("client_id") {
        Ok(Some(id)) if id == CLIENT => Some(client),
        _ => None,
    };
    let validated = request::validate(&params, found);
    munjigi_fuzz::trace(format_args!("authorize: {validated:?}"));
    match validated {
        Ok(request) => {
            assert!(client.has_redirect_uri(&request.redirect_uri));
            let granted = Scopes::parse(&request.scope);
            assert!(
                granted
                    .as_ref()
                    .is_some_and(|s| !s.is_empty() && s.is_subset_of(&client.scopes)),
                "granted scope {:?} not within the client's",
                request.scope
            );
            assert!(
                !public || request.code_challenge.is_some(),
                "public client without PKCE"
            );
            assert!(!(request.prompt.none && (request.prompt.login || request.prompt.consent)));
            assert!(request.max_age.is_none_or(|m| m >= 0));
            assert_eq!(request.is_openid(), request.scopes().contains("openid"));
            let _ = request.challenge();

            let location = redirect::success(
                &request.redirect_uri,
                "c0de",
                request.state.as_deref(),
                ISSUER,
            );
            assert!(location.starts_with(&request.redirect_uri));
            if let Some(hint) = request.id_token_hint.as_deref() {
                let _ = id_token::verify_hint(keys(), hint, ISSUER);
            }

            // The pending request lives in the session as JSON and must come back the same.
            let pending = Pending::new(request, NOW);
            let stored = serde_json::to_string(&pending).unwrap_or_default();
            let back: Option<Pending> = serde_json::from_str(&stored).ok();
            assert_eq!(back.map(|p| p.request), Some(pending.request.clone()));

            let sign_in = SignIn {
                user_id: "u-1".into(),
                auth_time: NOW - 3600,
                amr: vec!["pwd".into()],
                sid: "sid-1".into(),
                idp: None,
            };
            let remembered = Scopes::parse("openid profile");
            for (who, hint_subject) in [(None, None), (Some(&sign_in), Some("u-2"))] {
                let next = next_step::next_step(
                    &pending,
                    &Situation {
                        sign_in: who,
                        hint_subject,
                        client,
                        remembered: remembered.as_ref(),
                        now: NOW,
                    },
                );
                if who.is_none() && !pending.request.prompt.none {
                    assert!(matches!(next, Next::Login(_)));
                }
            }
        }
        Err(Rejection::Redirect {
            redirect_uri,
            state,
            error,
        }) => {
            // Errors only ever go to a URI the client registered.
            assert!(client.has_redirect_uri(&redirect_uri));
            let location = redirect::error(&redirect_uri, &error, state.as_deref(), ISSUER);
            assert!(location.starts_with(&redirect_uri));
        }
        Err(Rejection::Page(error)) => {
            let _ = error.to_string();
        }
    }

    // PKCE and scope parsing on their own, with whatever was sent.
    let challenge = pkce::accept_challenge(
        params.first("code_challenge_method"),
        params.first("code_challenge"),
        public,
    );
    if let Ok(Some(stored)) = &challenge {
        let _ = pkce::verify(Some(stored), params.first("code_verifier"));
    }
    if let Some(scope) = params.first("scope")
        && let Some(scopes) = Scopes::parse(scope)
    {
        let again = Scopes::parse(&scopes.to_string());
        assert_eq!(again.as_ref(), Some(&scopes), "scope string round trip");
        let _ = scopes
            .intersect(&client.scopes)
            .union(&scopes)
            .without("openid");
    }
});
