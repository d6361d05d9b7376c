//! Random values handed out (client secrets, codes, tokens) and how they are stored.
//!
//! Codes and tokens are 256-bit random, so SHA-256 is enough to store them. Client secrets are
//! HMAC-SHA256 under the pepper (derived from the KEK): a leaked database alone does not allow
//! an offline check, and no slow hash caps the token endpoint.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// 32 random bytes, base64url without padding (43 characters).
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256, hex: the stored form of a code, refresh token or session id.
pub fn sha256_hex(value: &str) -> String {
    hex(&Sha256::digest(value.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

#[derive(Clone)]
pub struct SecretHasher {
    pepper: [u8; 32],
}

impl std::fmt::Debug for SecretHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretHasher(<redacted>)")
    }
}

impl SecretHasher {
    pub fn new(pepper: [u8; 32]) -> Self {
        Self { pepper }
    }

    pub fn hash(&self, secret: &str) -> String {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.pepper) else {
            unreachable!("HMAC accepts keys of any length")
        };
        mac.update(secret.as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// Constant-time comparison of a presented secret with a stored hash. With no stored hash
    /// the same work is done and the answer is no.
    pub fn verify(&self, presented: &str, stored: Option<&str>) -> bool {
        let computed = self.hash(presented);
        match stored {
            Some(stored) => computed.as_bytes().ct_eq(stored.as_bytes()).into(),
            None => {
                let _ = computed.as_bytes().ct_eq(computed.as_bytes());
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashes_stable() {
        let a = random_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token());
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn secrets_verify_only_against_their_pepper() {
        let h = SecretHasher::new([1; 32]);
        let stored = h.hash("s3cret");
        assert!(h.verify("s3cret", Some(&stored)));
        assert!(!h.verify("s3creT", Some(&stored)));
        assert!(!h.verify("s3cret", None));
        assert!(!SecretHasher::new([2; 32]).verify("s3cret", Some(&stored)));
    }
}
