//! Bearer access tokens (RFC 9068 JWTs) as `/userinfo`, `/introspect` and `/revoke` read
//! them, verified against a real key set (fixed RS256 and ES256 keys).
//!
//! Input, by its first byte (mod 3):
//! - `0<token>`: any bytes as the token.
//! - `1<signer><tamper><header JSON>\n<payload JSON>`: the fuzzer's header and payload,
//!   base64url-encoded and signed by a real key (signer byte mod 4: RS256, ES256, no
//!   signature, HS256 keyed with the RS256 public key), then tampered with or not. A token
//!   accepted must carry the honest signature of the key its header names, in that key's
//!   algorithm.
//! - `2<method>\n<Authorization>\n<Content-Type>\n<body>`: how `/userinfo` finds the token
//!   (RFC 6750 header or form body), then the token as above.
#![no_main]

use http::{HeaderMap, HeaderValue, Method, header};
use libfuzzer_sys::fuzz_target;
use munjigi::http::oidc::userinfo::presented_token;
use munjigi::keys::jwt;
use munjigi::oauth::access_token::{self, AccessClaims};
use munjigi_fuzz::{ISSUER, NOW, Plan, honestly_signed, keys, line, our_token};

/// Everything that reads an access token; returns whether it was accepted.
fn check(token: &str) -> bool {
    let accepted = match access_token::verify(keys(), token, ISSUER, NOW) {
        Ok(claims) => {
            assert_eq!(claims.iss, ISSUER);
            assert!(claims.exp > NOW);
            true
        }
        Err(e) => {
            munjigi_fuzz::trace(format_args!("access token refused: {e}"));
            false
        }
    };
    if accepted {
        munjigi_fuzz::trace(format_args!("access token accepted"));
    }
    // `/revoke` checks signature and issuer only.
    if token.split('.').count() == 3 {
        let _ = jwt::verify::<AccessClaims>(keys(), token);
    }
    accepted
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
            if check(&token) {
                assert!(
                    honestly_signed(&plan, kid.as_deref(), alg),
                    "accepted a token not honestly signed: {token}"
                );
                let typ = munjigi_fuzz::header_member(plan.header, "typ");
                let typ = typ.as_ref().and_then(|t| t.as_str()).unwrap_or_default();
                assert!(
                    typ.eq_ignore_ascii_case("at+jwt")
                        || typ.eq_ignore_ascii_case("application/at+jwt"),
                    "accepted a token of typ {typ:?}"
                );
            }
        }
        _ => {
            let (method, rest) = line(rest);
            let (authorization, rest) = line(rest);
            let (content_type, body) = line(rest);
            let Ok(method) = Method::from_bytes(method) else {
                return;
            };
            let mut headers = HeaderMap::new();
            for (name, value) in [
                (header::AUTHORIZATION, authorization),
                (header::CONTENT_TYPE, content_type),
            ] {
                if !value.is_empty()
                    && let Ok(value) = HeaderValue::from_bytes(value)
                {
                    headers.insert(name, value);
                }
            }
            if let Ok(Some(token)) = presented_token(&method, &headers, body) {
                check(&token);
            }
        }
    }
});
