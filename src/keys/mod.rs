//! Signing keys: generated once per database, sealed at rest under the KEK, held in memory
//! for signing and for the published JWKS.

pub mod admin;
mod jwks;
pub mod jwt;
mod kek;
pub mod rotation;

use std::fmt;
use std::sync::{Arc, RwLock};

use base64::Engine;
use josekit::jwk::Jwk;
use josekit::jwk::alg::ec::EcCurve;
use josekit::jws::{ES256, JwsSigner, JwsVerifier, RS256};
use sha2::{Digest, Sha256};

use crate::store::{SigningKeyRow, Store, StoreError};

pub use jwks::PublishedJwks;
pub use kek::Kek;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "the signing keys in the database were sealed under a different key-encryption key; \
         every instance sharing a database needs the same MUNJIGI_KEK"
    )]
    WrongKek,
    #[error("key material is corrupt: {0}")]
    Corrupt(String),
    #[error("cannot use the KEK file {path}: {source}")]
    KekFile {
        path: String,
        source: std::io::Error,
    },
    #[error("cryptography error: {0}")]
    Jose(#[from] josekit::JoseError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("key generation task failed: {0}")]
    Task(String),
}

/// JWS algorithms munjigi signs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SigningAlg {
    Rs256,
    Es256,
}

impl SigningAlg {
    /// The algorithms every database gets a key for at first start.
    pub const DEFAULTS: [SigningAlg; 2] = [SigningAlg::Rs256, SigningAlg::Es256];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "RS256" => Some(Self::Rs256),
            "ES256" => Some(Self::Es256),
            _ => None,
        }
    }

    fn generate(self) -> Result<Jwk, KeyError> {
        Ok(match self {
            Self::Rs256 => Jwk::generate_rsa_key(2048)?,
            Self::Es256 => Jwk::generate_ec_key(EcCurve::P256)?,
        })
    }

    fn signer(self, jwk: &Jwk) -> Result<Arc<dyn JwsSigner>, KeyError> {
        Ok(match self {
            Self::Rs256 => Arc::new(RS256.signer_from_jwk(jwk)?),
            Self::Es256 => Arc::new(ES256.signer_from_jwk(jwk)?),
        })
    }

    fn verifier(self, jwk: &Jwk) -> Result<Arc<dyn JwsVerifier>, KeyError> {
        Ok(match self {
            Self::Rs256 => Arc::new(RS256.verifier_from_jwk(jwk)?),
            Self::Es256 => Arc::new(ES256.verifier_from_jwk(jwk)?),
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyState {
    /// Published, not yet signing (rotation pre-publication).
    Next,
    Active,
    /// No longer signing; published until its tokens have expired.
    Retired,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Active => "active",
            Self::Retired => "retired",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        match name {
            "next" => Some(Self::Next),
            "active" => Some(Self::Active),
            "retired" => Some(Self::Retired),
            _ => None,
        }
    }
}

/// A usable key: its public JWK and a signer and verifier built once.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    pub alg: SigningAlg,
    pub state: KeyState,
    pub created_at: i64,
    pub public_jwk: serde_json::Map<String, serde_json::Value>,
    pub signer: Arc<dyn JwsSigner>,
    pub verifier: Arc<dyn JwsVerifier>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// The keys of one moment, with their JWKS rendered once.
pub struct KeySet {
    keys: Vec<SigningKey>,
    jwks: PublishedJwks,
}

impl KeySet {
    /// Public for the fuzz targets (fuzz/), which build a key set from fixed keys without a
    /// database.
    #[doc(hidden)]
    pub fn new(keys: Vec<SigningKey>) -> Result<Self, KeyError> {
        let jwks = PublishedJwks::render(keys.iter().map(|k| &k.public_jwk))?;
        Ok(Self { keys, jwks })
    }

    pub fn keys(&self) -> &[SigningKey] {
        &self.keys
    }

    /// The key that signs with `alg` now.
    pub fn active(&self, alg: SigningAlg) -> Option<&SigningKey> {
        self.keys
            .iter()
            .find(|k| k.alg == alg && k.state == KeyState::Active)
    }

    pub fn by_kid(&self, kid: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    pub fn jwks(&self) -> &PublishedJwks {
        &self.jwks
    }
}

/// The shared, swappable key set of a running server.
pub struct KeyRing {
    kek: Kek,
    current: RwLock<Arc<KeySet>>,
}

impl KeyRing {
    /// Makes sure the database has an active key for every default algorithm, then loads all
    /// keys. Instances racing here converge: only one active key per alg can be inserted.
    pub async fn bootstrap(store: &Store, kek: Kek, now: i64) -> Result<Self, KeyError> {
        let existing = store.signing_keys().await?;
        for alg in SigningAlg::DEFAULTS {
            let has_active = existing
                .iter()
                .any(|row| row.alg == alg.as_str() && row.state == "active");
            if !has_active {
                let row = new_key_row(&kek, alg, KeyState::Active, now, now).await?;
                if store.insert_signing_key(&row).await? {
                    tracing::info!(kid = %row.kid, alg = alg.as_str(), "generated signing key");
                }
            }
        }
        let set = load_set(store, &kek).await?;
        Ok(Self {
            kek,
            current: RwLock::new(Arc::new(set)),
        })
    }

    /// Re-reads the keys if the stored set differs from the one in memory (cheap when not).
    pub async fn refresh(&self, store: &Store) -> Result<bool, KeyError> {
        let rows = store.signing_keys().await?;
        let current = self.current();
        let same = rows.len() == current.keys.len()
            && rows
                .iter()
                .zip(current.keys.iter())
                .all(|(row, key)| row.kid == key.kid && row.state == key.state.as_str());
        if same {
            return Ok(false);
        }
        self.reload(store).await?;
        Ok(true)
    }

    /// Re-reads the keys from the database (after rotation by any instance).
    pub async fn reload(&self, store: &Store) -> Result<(), KeyError> {
        let set = Arc::new(load_set(store, &self.kek).await?);
        match self.current.write() {
            Ok(mut guard) => *guard = set,
            Err(poisoned) => *poisoned.into_inner() = set,
        }
        Ok(())
    }

    pub fn current(&self) -> Arc<KeySet> {
        match self.current.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    pub fn kek(&self) -> &Kek {
        &self.kek
    }
}

async fn load_set(store: &Store, kek: &Kek) -> Result<KeySet, KeyError> {
    let rows = store.signing_keys().await?;
    let kek = kek.clone();
    // Decrypting and parsing RSA keys is CPU work: keep it off the async workers.
    let keys = tokio::task::spawn_blocking(move || {
        rows.iter()
            .map(|row| open_key_row(&kek, row))
            .collect::<Result<Vec<_>, _>>()
    })
    .await
    .map_err(|e| KeyError::Task(e.to_string()))??;
    KeySet::new(keys)
}

/// Reads every key row without opening it (for `munjigi keys list`).
pub async fn list_keys(store: &Store) -> Result<Vec<SigningKeyRow>, KeyError> {
    Ok(store.signing_keys().await?)
}

async fn new_key_row(
    kek: &Kek,
    alg: SigningAlg,
    state: KeyState,
    now: i64,
    activates_at: i64,
) -> Result<SigningKeyRow, KeyError> {
    let kek = kek.clone();
    tokio::task::spawn_blocking(move || {
        let private = alg.generate()?;
        let public = public_members(&private, alg)?;
        let kid = thumbprint(&public)?;
        let mut public = public;
        public.insert("kid".into(), kid.clone().into());
        let sealed = kek.seal(private.to_string().as_bytes(), &kid)?;
        Ok(SigningKeyRow {
            kid,
            alg: alg.as_str().to_owned(),
            state: state.as_str().to_owned(),
            public_jwk: serde_json::Value::Object(public).to_string(),
            private_jwe: sealed,
            created_at: now,
            activates_at,
            retired_at: None,
        })
    })
    .await
    .map_err(|e| KeyError::Task(e.to_string()))?
}

/// Opens a stored key row. Public for the fuzz targets (fuzz/), which build a key set from
/// fixed keys without a database.
#[doc(hidden)]
pub fn open_key_row(kek: &Kek, row: &SigningKeyRow) -> Result<SigningKey, KeyError> {
    let corrupt = |what: &str| KeyError::Corrupt(format!("key {}: {what}", row.kid));
    let alg = SigningAlg::parse(&row.alg).ok_or_else(|| corrupt("unknown alg"))?;
    let state = KeyState::parse(&row.state).ok_or_else(|| corrupt("unknown state"))?;
    let private = Jwk::from_bytes(kek.open(&row.private_jwe, &row.kid)?)?;
    let mut public_jwk = public_members(&private, alg)?;
    if thumbprint(&public_jwk)? != row.kid {
        return Err(corrupt("kid does not match the key"));
    }
    public_jwk.insert("kid".into(), row.kid.clone().into());
    Ok(SigningKey {
        kid: row.kid.clone(),
        alg,
        state,
        created_at: row.created_at,
        signer: alg.signer(&private)?,
        verifier: alg.verifier(&private.to_public_key()?)?,
        public_jwk,
    })
}

/// Only the public members, whatever the private JWK holds: the allow-list is what keeps
/// `d`, `p`, `q`, `dp`, `dq` and `qi` out of the JWKS.
fn public_members(
    private: &Jwk,
    alg: SigningAlg,
) -> Result<serde_json::Map<String, serde_json::Value>, KeyError> {
    let public = private.to_public_key()?;
    let members: &[&str] = match alg {
        SigningAlg::Rs256 => &["kty", "n", "e"],
        SigningAlg::Es256 => &["kty", "crv", "x", "y"],
    };
    let mut out = serde_json::Map::new();
    for name in members {
        let value = public
            .parameter(name)
            .ok_or_else(|| KeyError::Corrupt(format!("public key lacks {name}")))?;
        out.insert((*name).to_owned(), value.clone());
    }
    out.insert("use".into(), "sig".into());
    out.insert("alg".into(), alg.as_str().into());
    Ok(out)
}

/// RFC 7638 JWK thumbprint (SHA-256, base64url) of the required public members.
fn thumbprint(public: &serde_json::Map<String, serde_json::Value>) -> Result<String, KeyError> {
    let required: &[&str] = match public.get("kty").and_then(|v| v.as_str()) {
        Some("RSA") => &["e", "kty", "n"],
        Some("EC") => &["crv", "kty", "x", "y"],
        _ => return Err(KeyError::Corrupt("unsupported kty".into())),
    };
    // serde_json's Map is ordered by key, so this serialises members in lexicographic order
    // without whitespace, as RFC 7638 §3 requires.
    let canonical: serde_json::Map<String, serde_json::Value> = required
        .iter()
        .filter_map(|name| public.get(*name).map(|v| ((*name).to_owned(), v.clone())))
        .collect();
    if canonical.len() != required.len() {
        return Err(KeyError::Corrupt(
            "public key lacks a thumbprint member".into(),
        ));
    }
    let digest = Sha256::digest(serde_json::Value::Object(canonical).to_string());
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprint_matches_rfc7638_example() {
        // RFC 7638 §3.1
        let jwk = serde_json::json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        let map = jwk.as_object().cloned().unwrap_or_default();
        assert_eq!(
            thumbprint(&map).ok().as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
    }

    #[test]
    fn generated_keys_publish_no_private_members() {
        for alg in SigningAlg::DEFAULTS {
            let private = alg.generate().ok();
            let public = private.as_ref().and_then(|p| public_members(p, alg).ok());
            let public = public.unwrap_or_default();
            assert!(private.and_then(|p| p.parameter("d").cloned()).is_some());
            for member in ["d", "p", "q", "dp", "dq", "qi"] {
                assert!(!public.contains_key(member), "{alg:?} leaks {member}");
            }
            assert_eq!(
                public.get("alg").and_then(|v| v.as_str()),
                Some(alg.as_str())
            );
        }
    }
}
