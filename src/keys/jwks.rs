//! The JWKS document as served: rendered once per key set, with a strong ETag.

use base64::Engine;
use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::KeyError;

#[derive(Clone, Debug)]
pub struct PublishedJwks {
    body: Bytes,
    etag: String,
}

impl PublishedJwks {
    pub(super) fn render<'a>(
        keys: impl Iterator<Item = &'a serde_json::Map<String, serde_json::Value>>,
    ) -> Result<Self, KeyError> {
        let keys: Vec<_> = keys.cloned().map(serde_json::Value::Object).collect();
        let body = serde_json::to_vec(&serde_json::json!({ "keys": keys }))
            .map_err(|e| KeyError::Corrupt(e.to_string()))?;
        let digest = Sha256::digest(&body);
        let etag = format!(
            "\"{}\"",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
        );
        Ok(Self {
            body: Bytes::from(body),
            etag,
        })
    }

    pub fn body(&self) -> Bytes {
        self.body.clone()
    }

    pub fn etag(&self) -> &str {
        &self.etag
    }
}
