//! What the fuzz targets share: fixed test keys (fuzz/keys/, written by fuzz/make_seeds.py),
//! the clients they authorize, and compact JWS built from fuzzer-chosen header and payload
//! JSON, so mutations reach the claims instead of dying in base64 or the signature check.
//!
//! The keys sign nothing outside fuzz/. They are fixed so that the committed seeds (real
//! tokens) verify and every crash reproduces.

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use josekit::jws::{HS256, JwsSigner, RS256};
use munjigi::keys::{KeySet, SigningKey};
use munjigi::oauth::client::Client;
use munjigi::store::{ClientRecord, SigningKeyRow};

/// Must match fuzz/make_seeds.py.
pub const ISSUER: &str = "https://id.example.com";
pub const CLIENT: &str = "app";
/// The targets' clock: after the seeds' `iat`, before their `exp`.
pub const NOW: i64 = 1_800_000_000;
pub const KAKAO_ISSUER: &str = "https://kauth.kakao.com";
pub const KAKAO_CLIENT: &str = "kakao-rest-key";
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";
pub const GOOGLE_CLIENT: &str = "google-client.apps.example.com";
pub const UPSTREAM_SECRET: &str = "upstream-client-secret";
pub const NONCE: &str = "n-0S6_WzA2Mj";
/// RFC 7636 Appendix B.
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

const RS256_JWK: &str = include_str!("../keys/rs256.jwk.json");
const ES256_JWK: &str = include_str!("../keys/es256.jwk.json");
pub const UPSTREAM_JWK: &str = include_str!("../keys/upstream_rs256.jwk.json");
pub const UPSTREAM_JWKS: &str = include_str!("../keys/upstream_jwks.json");

/// A fixture that cannot be built is a broken harness, not a finding: stop loudly.
fn fixture<T, E: std::fmt::Display>(what: &str, result: Result<T, E>) -> T {
    match result {
        Ok(value) => value,
        Err(e) => panic!("fuzz fixture {what}: {e}"),
    }
}

fn kid_of(jwk: &str) -> String {
    let value: serde_json::Value = fixture("key JSON", serde_json::from_str(jwk));
    value["kid"].as_str().unwrap_or_default().to_owned()
}

/// Opens a key the way the server does: sealed under a KEK, then `open_key_row`.
fn open(jwk: &str, alg: &str) -> SigningKey {
    let kek = munjigi::keys::Kek::from_bytes([7; 32]);
    let kid = kid_of(jwk);
    let row = SigningKeyRow {
        kid: kid.clone(),
        alg: alg.to_owned(),
        state: "active".to_owned(),
        public_jwk: String::new(),
        private_jwe: fixture("seal", kek.seal(jwk.as_bytes(), &kid)),
        created_at: 0,
        activates_at: 0,
        retired_at: None,
    };
    fixture("open_key_row", munjigi::keys::open_key_row(&kek, &row))
}

/// The server's key set: one active RS256 key (id_tokens) and one ES256 key (access tokens).
pub fn keys() -> &'static KeySet {
    static KEYS: OnceLock<KeySet> = OnceLock::new();
    KEYS.get_or_init(|| {
        fixture(
            "KeySet::new",
            KeySet::new(vec![open(RS256_JWK, "RS256"), open(ES256_JWK, "ES256")]),
        )
    })
}

/// A registered client, as `Client::from_record` builds it from the database.
pub fn client(public: bool) -> &'static Client {
    static CLIENTS: OnceLock<[Client; 2]> = OnceLock::new();
    let clients = CLIENTS.get_or_init(|| {
        let make = |public: bool| {
            let record = ClientRecord {
                id: CLIENT.into(),
                name: "App".into(),
                secret_hash: None,
                token_endpoint_auth_method: if public {
                    "none"
                } else {
                    "client_secret_basic"
                }
                .into(),
                redirect_uris: vec![
                    "https://app.example.com/cb".into(),
                    "https://app.example.com/cb?tenant=a".into(),
                    "http://127.0.0.1:9000/cb".into(),
                    "com.example.app:/oauth".into(),
                ],
                post_logout_redirect_uris: vec![
                    "https://app.example.com/bye".into(),
                    "https://app.example.com/bye?x=1".into(),
                ],
                grant_types: vec!["authorization_code".into(), "refresh_token".into()],
                scopes: "openid profile email offline_access".into(),
                skip_consent: false,
                id_token_signed_response_alg: "RS256".into(),
                backchannel_logout_uri: None,
                allowed_origins: vec![],
                access_token_audience: vec![],
                created_at: 0,
                updated_at: 0,
            };
            fixture("Client::from_record", Client::from_record(record))
        };
        [make(false), make(true)]
    });
    &clients[usize::from(public)]
}

/// Who signs a fuzzer-built token.
pub enum Signer<'a> {
    /// A real key, with the algorithm it signs in.
    Key(&'a dyn JwsSigner),
    /// No signature at all (`alg: none` style).
    Empty,
    /// HMAC keyed with something public (the RS256 key's public JWK, or a client secret):
    /// the classic algorithm confusion.
    Hmac(Vec<u8>),
}

/// What the fuzzer did to a token after signing, so an acceptance can be judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tamper {
    None,
    /// One bit of the signature flipped: must never verify.
    FlipSignature,
    /// The signature cut short: must never verify.
    TruncateSignature,
    /// Base64 padding added to every segment.
    Padding,
    /// The standard (not URL-safe) alphabet.
    StandardAlphabet,
    /// A fourth segment.
    ExtraSegment,
    /// Spaces around the token.
    Whitespace,
    /// The payload segment swapped for the header's.
    SwapPayload,
}

impl Tamper {
    pub fn from_byte(b: u8) -> Self {
        match b % 8 {
            0 => Self::None,
            1 => Self::FlipSignature,
            2 => Self::TruncateSignature,
            3 => Self::Padding,
            4 => Self::StandardAlphabet,
            5 => Self::ExtraSegment,
            6 => Self::Whitespace,
            _ => Self::SwapPayload,
        }
    }

    /// Whether a token so changed may still be accepted as the one signed (re-encodings of
    /// the same bytes may be tolerated; a changed signature or payload never).
    pub fn keeps_signature(self) -> bool {
        matches!(
            self,
            Self::None | Self::Padding | Self::StandardAlphabet | Self::Whitespace
        )
    }
}

/// A signed-mode input: `<signer byte><tamper byte>[<extra byte>…]<header JSON>\n<payload JSON>`.
pub struct Plan<'a> {
    pub signer: u8,
    pub tamper: Tamper,
    pub extra: &'a [u8],
    pub header: &'a [u8],
    pub payload: &'a [u8],
}

impl<'a> Plan<'a> {
    /// Splits `data` with `extra` bytes of options after the signer and tamper bytes.
    pub fn parse(data: &'a [u8], extra: usize) -> Option<Self> {
        if data.len() < 2 + extra {
            return None;
        }
        let (head, rest) = data.split_at(2 + extra);
        let split = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let (header, payload) = rest.split_at(split);
        Some(Self {
            signer: head[0],
            tamper: Tamper::from_byte(head[1]),
            extra: &head[2..],
            header,
            payload: payload.get(1..).unwrap_or_default(),
        })
    }
}

/// Compact JWS of exactly `header` and `payload` (any bytes), signed by `signer`, then
/// changed as `tamper` says.
pub fn build_token(header: &[u8], payload: &[u8], signer: &Signer<'_>, tamper: Tamper) -> String {
    let header_b64 = URL_SAFE_NO_PAD.encode(header);
    let payload_b64 = URL_SAFE_NO_PAD.encode(payload);
    let signing_input = format!("{header_b64}.{payload_b64}");
    let mut signature = match signer {
        Signer::Key(key) => key.sign(signing_input.as_bytes()).unwrap_or_default(),
        Signer::Empty => Vec::new(),
        Signer::Hmac(secret) => match HS256.signer_from_bytes(secret) {
            Ok(hmac) => hmac.sign(signing_input.as_bytes()).unwrap_or_default(),
            Err(_) => Vec::new(),
        },
    };
    match tamper {
        Tamper::FlipSignature => {
            if let Some(last) = signature.last_mut() {
                *last ^= 0x01;
            } else {
                signature.push(0);
            }
        }
        Tamper::TruncateSignature => {
            signature.pop();
        }
        _ => {}
    }
    let signature_b64 = URL_SAFE_NO_PAD.encode(&signature);
    match tamper {
        Tamper::Padding => {
            let pad = |s: &str| format!("{s}{}", "=".repeat((4 - s.len() % 4) % 4));
            format!(
                "{}.{}.{}",
                pad(&header_b64),
                pad(&payload_b64),
                pad(&signature_b64)
            )
        }
        Tamper::StandardAlphabet => format!(
            "{}.{}.{}",
            STANDARD.encode(header).trim_end_matches('='),
            STANDARD.encode(payload).trim_end_matches('='),
            STANDARD.encode(&signature).trim_end_matches('=')
        ),
        Tamper::ExtraSegment => format!("{signing_input}.{signature_b64}.{signature_b64}"),
        Tamper::Whitespace => format!(" {signing_input}.{signature_b64}\n"),
        Tamper::SwapPayload => format!("{header_b64}.{header_b64}.{signature_b64}"),
        _ => format!("{signing_input}.{signature_b64}"),
    }
}

/// The header as the verifier will read it, when it is a JSON object.
pub fn header_member(header: &[u8], name: &str) -> Option<serde_json::Value> {
    let value: serde_json::Value = serde_json::from_slice(header).ok()?;
    value.get(name).cloned()
}

/// Whether a token built from `plan` honestly carries the signature of the key named: the
/// only tokens a verifier may accept.
pub fn honestly_signed(plan: &Plan<'_>, key_kid: Option<&str>, key_alg: Option<&str>) -> bool {
    let (Some(kid), Some(alg)) = (key_kid, key_alg) else {
        return false;
    };
    plan.tamper.keeps_signature()
        && header_member(plan.header, "kid")
            .as_ref()
            .and_then(|v| v.as_str())
            == Some(kid)
        && header_member(plan.header, "alg")
            .as_ref()
            .and_then(|v| v.as_str())
            == Some(alg)
}

/// Our own token in a signed-mode plan: the signer byte picks RS256, ES256, no signature, or
/// HS256 keyed with the RS256 key's public JWK. Returns the token and, for a real key, its
/// kid and algorithm.
pub fn our_token(plan: &Plan<'_>) -> (String, Option<String>, Option<&'static str>) {
    let keys = keys().keys();
    let (signer, kid, alg) = match plan.signer % 4 {
        0 | 1 => {
            let key = &keys[usize::from(plan.signer % 4)];
            (
                Signer::Key(key.signer.as_ref()),
                Some(key.kid.clone()),
                Some(key.alg.as_str()),
            )
        }
        2 => (Signer::Empty, None, None),
        _ => {
            let public = serde_json::Value::Object(keys[0].public_jwk.clone()).to_string();
            (Signer::Hmac(public.into_bytes()), None, None)
        }
    };
    (
        build_token(plan.header, plan.payload, &signer, plan.tamper),
        kid,
        alg,
    )
}

/// The upstream provider's signing key (its public half is in `UPSTREAM_JWKS`).
pub fn upstream_signer() -> &'static dyn JwsSigner {
    static SIGNER: OnceLock<josekit::jws::alg::rsassa::RsassaJwsSigner> = OnceLock::new();
    SIGNER.get_or_init(|| {
        let jwk = fixture("upstream JWK", josekit::jwk::Jwk::from_bytes(UPSTREAM_JWK));
        fixture("upstream signer", RS256.signer_from_jwk(&jwk))
    })
}

/// Splits `data` at the first newline: a header-like line and the rest.
pub fn line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

/// With `MUNJIGI_FUZZ_TRACE=1`, the targets print what each input came to (to check that
/// the seeds reach what they are meant to, e.g. `cargo fuzz run bearer_jwt fuzz/seeds/bearer_jwt
/// -- -runs=0`).
pub fn trace(args: std::fmt::Arguments<'_>) {
    static ON: OnceLock<bool> = OnceLock::new();
    if *ON.get_or_init(|| std::env::var_os("MUNJIGI_FUZZ_TRACE").is_some()) {
        eprintln!("trace: {args}");
    }
}
