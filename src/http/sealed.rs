//! State a browser holds for us before anyone has signed in, so that an anonymous request
//! stores nothing on the server: sealed under the KEK as a compact JWE (dir, A256GCM — the
//! browser can neither read nor change it), in an `HttpOnly`, `SameSite=Strict` cookie that
//! lives as long as the state is good. The JWE's authenticated `kid` names what the state is
//! for, so one kind can never be presented as another.
//!
//! Unlike a session row, a sealed cookie cannot be "taken": the same browser could present it
//! again until it expires. Whatever is sealed must therefore be safe to use twice within its
//! lifetime from the browser it was given to (a passkey challenge is: the assertion it
//! checks names its own passkey, whose counter and owner are checked again).

use axum::http::{HeaderMap, HeaderValue, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tower_sessions::cookie::{Cookie, SameSite};

use crate::keys::Kek;

/// One kind of sealed state and its cookie.
pub struct SealedCookie {
    /// The cookie's name on an http issuer; `__Host-` is put before it on https.
    pub name: &'static str,
    /// What the state is for (the JWE's `kid`).
    pub purpose: &'static str,
    /// Seconds the browser keeps it.
    pub max_age: i64,
}

impl SealedCookie {
    fn cookie_name(&self, secure: bool) -> String {
        if secure {
            format!("__Host-{}", self.name)
        } else {
            self.name.to_owned()
        }
    }

    fn cookie(&self, secure: bool, value: String, max_age: i64) -> Option<HeaderValue> {
        let cookie = Cookie::build((self.cookie_name(secure), value))
            .path("/")
            .http_only(true)
            .secure(secure)
            .same_site(SameSite::Strict)
            .max_age(time::Duration::seconds(max_age))
            .build();
        HeaderValue::from_str(&cookie.to_string()).ok()
    }

    /// The `Set-Cookie` that gives the browser `value`, sealed.
    pub fn seal<T: Serialize>(&self, kek: &Kek, secure: bool, value: &T) -> Option<HeaderValue> {
        let json = serde_json::to_vec(value).ok()?;
        let sealed = kek.seal(&json, self.purpose).ok()?;
        self.cookie(secure, sealed, self.max_age)
    }

    /// The state the browser presents, if it is one we sealed for this purpose.
    pub fn open<T: DeserializeOwned>(
        &self,
        kek: &Kek,
        secure: bool,
        headers: &HeaderMap,
    ) -> Option<T> {
        let name = self.cookie_name(secure);
        let value = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| Cookie::split_parse(v).filter_map(Result::ok))
            .find(|c| c.name() == name)?
            .value()
            .to_owned();
        let json = kek.open(&value, self.purpose).ok()?;
        serde_json::from_slice(&json).ok()
    }

    /// The `Set-Cookie` that makes the browser forget it.
    pub fn clear(&self, secure: bool) -> Option<HeaderValue> {
        self.cookie(secure, String::new(), 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROMPT: SealedCookie = SealedCookie {
        name: "munjigi_test",
        purpose: "test-prompt",
        max_age: 300,
    };

    fn presented(set_cookie: &HeaderValue) -> HeaderMap {
        let pair = set_cookie
            .to_str()
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .to_owned();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&pair).expect("a cookie header"),
        );
        headers
    }

    #[test]
    fn sealed_state_opens_only_with_our_key_and_purpose() {
        let kek = Kek::from_bytes([7; 32]);
        let set = PROMPT.seal(&kek, true, &vec![1, 2, 3]).expect("sealed");
        let text = set.to_str().unwrap_or_default();
        assert!(text.starts_with("__Host-munjigi_test="), "{text}");
        assert!(text.contains("HttpOnly") && text.contains("SameSite=Strict"));
        assert!(!text.contains("[1,2,3]"), "not readable by the browser");
        let headers = presented(&set);
        assert_eq!(
            PROMPT.open::<Vec<i32>>(&kek, true, &headers),
            Some(vec![1, 2, 3])
        );
        let other_key = Kek::from_bytes([8; 32]);
        assert_eq!(PROMPT.open::<Vec<i32>>(&other_key, true, &headers), None);
        let other_purpose = SealedCookie {
            purpose: "other",
            ..PROMPT
        };
        assert_eq!(other_purpose.open::<Vec<i32>>(&kek, true, &headers), None);
    }
}
