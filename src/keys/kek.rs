//! The key-encryption key: seals private signing keys at rest and derives the pepper for
//! stored secrets.

use std::fmt;
use std::io::Write;
use std::path::Path;

use base64::Engine;
use hmac::{Hmac, Mac};
use josekit::jwe::{Dir, JweHeader};
use sha2::Sha256;

use crate::config::{KekSource, decode_kek};

use super::KeyError;

#[derive(Clone)]
pub struct Kek([u8; 32]);

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Kek(<redacted>)")
    }
}

impl Kek {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// From `MUNJIGI_KEK`, or from the development key file (created with mode 0600 the first
    /// time, so a fresh checkout starts without setup).
    pub fn load(source: &KekSource) -> Result<Self, KeyError> {
        match source {
            KekSource::Inline(bytes) => Ok(Self(*bytes)),
            KekSource::File(path) => load_or_create_file(path),
        }
    }

    /// Seals `plaintext` as a compact JWE (dir, A256GCM). `kid` goes into the protected header,
    /// which is authenticated, so a sealed key cannot be moved to another row unnoticed.
    pub fn seal(&self, plaintext: &[u8], kid: &str) -> Result<String, KeyError> {
        let mut header = JweHeader::new();
        header.set_content_encryption("A256GCM");
        header.set_key_id(kid);
        let encrypter = Dir.encrypter_from_bytes(self.0)?;
        Ok(josekit::jwe::serialize_compact(
            plaintext, &header, &encrypter,
        )?)
    }

    pub fn open(&self, sealed: &str, kid: &str) -> Result<Vec<u8>, KeyError> {
        let decrypter = Dir.decrypter_from_bytes(self.0)?;
        let (plaintext, header) = josekit::jwe::deserialize_compact(sealed, &decrypter)
            .map_err(|_| KeyError::WrongKek)?;
        if header.key_id() != Some(kid) {
            return Err(KeyError::Corrupt(format!(
                "sealed key does not belong to kid {kid}"
            )));
        }
        Ok(plaintext)
    }

    /// A key for HMAC-hashing stored secrets, separate from the sealing key.
    pub fn pepper(&self) -> [u8; 32] {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.0) else {
            unreachable!("HMAC accepts keys of any length")
        };
        mac.update(b"munjigi secret pepper v1");
        mac.finalize().into_bytes().into()
    }
}

fn load_or_create_file(path: &Path) -> Result<Kek, KeyError> {
    let io = |e: std::io::Error| KeyError::KekFile {
        path: path.display().to_string(),
        source: e,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let bytes = decode_kek(&text)
                .map_err(|e| KeyError::Corrupt(format!("KEK file {}: {e}", path.display())))?;
            Ok(Kek(bytes))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(io)?;
            }
            let bytes: [u8; 32] = rand::random();
            let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            match options.open(path) {
                Ok(mut file) => {
                    file.write_all(encoded.as_bytes()).map_err(io)?;
                    file.write_all(b"\n").map_err(io)?;
                    file.sync_all().map_err(io)?;
                    tracing::warn!(
                        path = %path.display(),
                        "generated a development key-encryption key; set MUNJIGI_KEK in production"
                    );
                    Ok(Kek(bytes))
                }
                // Another process created it between our read and our create: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    load_or_create_file(path)
                }
                Err(e) => Err(io(e)),
            }
        }
        Err(e) => Err(io(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open_round_trip_bound_to_kid() {
        let kek = Kek([1; 32]);
        let sealed = kek.seal(b"secret material", "kid-1").unwrap_or_default();
        assert_eq!(sealed.split('.').count(), 5, "compact JWE");
        assert!(!sealed.contains("secret"));
        assert_eq!(
            kek.open(&sealed, "kid-1").ok().as_deref(),
            Some(&b"secret material"[..])
        );
        assert!(matches!(
            kek.open(&sealed, "kid-2"),
            Err(KeyError::Corrupt(_))
        ));
        assert!(matches!(
            Kek([2; 32]).open(&sealed, "kid-1"),
            Err(KeyError::WrongKek)
        ));
    }

    #[test]
    fn dev_kek_file_is_created_private_and_reused() {
        let dir = std::env::temp_dir().join(format!("munjigi-kek-{}", uuid::Uuid::new_v4()));
        let path = dir.join("kek");
        let first = load_or_create_file(&path).map(|k| k.0).ok();
        let second = load_or_create_file(&path).map(|k| k.0).ok();
        assert!(first.is_some());
        assert_eq!(first, second);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .map(|m| m.permissions().mode() & 0o777)
                .ok();
            assert_eq!(mode, Some(0o600));
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn pepper_differs_from_kek() {
        let kek = Kek([3; 32]);
        assert_ne!(kek.pepper(), [3; 32]);
        assert_eq!(kek.pepper(), Kek([3; 32]).pepper());
    }
}
