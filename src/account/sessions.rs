//! A person's browser sessions, as the account page and the admin API list them: which
//! device, from where, since when, last seen.

use serde::{Deserialize, Serialize};

use crate::store::{SessionRow, Store, StoreError};

use super::sign_in::SignIn;

use super::Accounts;

/// Kept in a session at sign-in, so the list can say which device it is.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeviceInfo {
    pub ip: String,
    /// The browser's `User-Agent`, cut to a bounded length.
    pub user_agent: String,
    pub signed_in_at: i64,
}

/// Longest `User-Agent` kept.
const USER_AGENT_MAX: usize = 256;

impl DeviceInfo {
    pub fn new(ip: std::net::IpAddr, user_agent: &str, now: i64) -> Self {
        Self {
            ip: ip.to_string(),
            user_agent: user_agent
                .chars()
                .filter(|c| !c.is_control())
                .take(USER_AGENT_MAX)
                .collect(),
            signed_in_at: now,
        }
    }
}

/// One session in the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    /// The hash of the session id (the id itself is never stored): names it for "end".
    pub id_hash: String,
    /// "Chrome on Windows", or the raw agent when we cannot tell.
    pub device: String,
    pub ip: Option<String>,
    pub signed_in_at: Option<i64>,
    /// The last request (the idle expiry moves with each one).
    pub last_seen: i64,
    pub expires_at: i64,
    /// Signed in with one factor only (see `one_factor_sessions`).
    pub one_factor: bool,
}

/// The session key the device is kept under (see `http::session`).
pub const DEVICE_KEY: &str = "device";
/// The session key the sign-in is kept under (see `http::session`).
pub const SIGN_IN_KEY: &str = "auth";

impl SessionInfo {
    pub fn of(row: &SessionRow, idle_secs: i64) -> Self {
        let record = serde_json::from_str::<serde_json::Value>(&row.data).ok();
        let device: Option<DeviceInfo> = record
            .as_ref()
            .and_then(|record| record.get("data")?.get(DEVICE_KEY).cloned())
            .and_then(|d| serde_json::from_value(d).ok());
        let sign_in: Option<SignIn> = record
            .as_ref()
            .and_then(|record| record.get("data")?.get(SIGN_IN_KEY).cloned())
            .and_then(|s| serde_json::from_value(s).ok());
        Self {
            id_hash: row.id_hash.clone(),
            device: device
                .as_ref()
                .map_or_else(String::new, |d| describe_user_agent(&d.user_agent)),
            ip: device.as_ref().map(|d| d.ip.clone()),
            signed_in_at: device.as_ref().map(|d| d.signed_in_at),
            last_seen: row.expires_at - idle_secs,
            expires_at: row.expires_at,
            one_factor: sign_in.is_some_and(|s| !crate::oauth::acr::is_multi_factor(&s.amr)),
        }
    }
}

/// "Browser on system" from a `User-Agent`, for people to recognise their devices. Order
/// matters: Edge and Whale also say Chrome, Chrome also says Safari.
pub fn describe_user_agent(agent: &str) -> String {
    const BROWSERS: [(&str, &str); 8] = [
        ("Edg/", "Edge"),
        ("Whale/", "Whale"),
        ("SamsungBrowser/", "Samsung Internet"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Safari/", "Safari"),
    ];
    const SYSTEMS: [(&str, &str); 7] = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ];
    let browser = BROWSERS
        .iter()
        .find(|(m, _)| agent.contains(m))
        .map(|b| b.1);
    let system = SYSTEMS.iter().find(|(m, _)| agent.contains(m)).map(|s| s.1);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} · {s}"),
        (Some(one), None) | (None, Some(one)) => one.to_owned(),
        (None, None) => agent.chars().take(60).collect(),
    }
}

impl Accounts<'_> {
    /// The account's live sessions, most recently used first.
    pub async fn sessions(
        &self,
        user_id: &str,
        idle_secs: i64,
    ) -> Result<Vec<SessionInfo>, StoreError> {
        let mut list: Vec<SessionInfo> = self
            .store
            .sessions_of(user_id)
            .await?
            .iter()
            .map(|row| SessionInfo::of(row, idle_secs))
            .collect();
        list.sort_by_key(|s| std::cmp::Reverse(s.last_seen));
        Ok(list)
    }

    /// Ends one of the account's sessions; false when it is not one of theirs (or gone).
    pub async fn end_session(&self, user_id: &str, id_hash: &str) -> Result<bool, StoreError> {
        self.store.delete_session_of(user_id, id_hash).await
    }

    /// "Sign out every other device": the account's access ends (`end_access`: sessions,
    /// refresh-token families, access tokens issued until now) except the session asking.
    pub async fn end_other_sessions(
        &self,
        user_id: &str,
        keep: &str,
        now: i64,
        access_token_ttl: i64,
    ) -> Result<super::admin::Ended, StoreError> {
        self.end_access_except(user_id, Some(keep), now, access_token_ttl)
            .await
    }

    /// The account's other sessions that signed in with one factor, once it has a second
    /// (a second factor added now does not reach back into them): what the account page
    /// offers to end.
    pub async fn one_factor_sessions(
        &self,
        user_id: &str,
        keep: &str,
        idle_secs: i64,
    ) -> Result<Vec<SessionInfo>, StoreError> {
        if !self.store.has_second_factor(user_id).await? {
            return Ok(Vec::new());
        }
        let list = self.sessions(user_id, idle_secs).await?;
        Ok(list
            .into_iter()
            .filter(|s| s.one_factor && s.id_hash != keep)
            .collect())
    }

    /// Ends the sessions `one_factor_sessions` lists.
    pub async fn end_one_factor_sessions(
        &self,
        user_id: &str,
        keep: &str,
        idle_secs: i64,
    ) -> Result<u64, StoreError> {
        let mut ended = 0;
        for s in self.one_factor_sessions(user_id, keep, idle_secs).await? {
            if self.store.delete_session_of(user_id, &s.id_hash).await? {
                ended += 1;
            }
        }
        Ok(ended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_people_recognise() {
        let chrome_win = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
        assert_eq!(describe_user_agent(chrome_win), "Chrome · Windows");
        let whale = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120 Whale/3.24 Mobile Safari/537.36";
        assert_eq!(describe_user_agent(whale), "Whale · Android");
        let safari_ios = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(describe_user_agent(safari_ios), "Safari · iPhone");
        assert_eq!(describe_user_agent("curl/8.5.0"), "curl/8.5.0");
    }

    #[test]
    fn device_from_a_stored_record() {
        let row = SessionRow {
            id_hash: "h".into(),
            expires_at: 10_000,
            data: r#"{"id":"x","data":{"device":{"ip":"192.0.2.1","user_agent":"Firefox/130 (X11; Linux)","signed_in_at":5}},"expiry_date":"x"}"#.into(),
        };
        let info = SessionInfo::of(&row, 1000);
        assert_eq!(info.device, "Firefox · Linux");
        assert_eq!(info.ip.as_deref(), Some("192.0.2.1"));
        assert_eq!((info.signed_in_at, info.last_seen), (Some(5), 9000));
        let bare = SessionInfo::of(
            &SessionRow {
                data: "{}".into(),
                ..row
            },
            1000,
        );
        assert_eq!((bare.device.as_str(), bare.ip), ("", None));
    }

    #[test]
    fn agents_are_bounded_and_clean() {
        let d = DeviceInfo::new(
            [127, 0, 0, 1].into(),
            &format!("a\u{0}b{}", "x".repeat(1000)),
            1,
        );
        assert!(d.user_agent.starts_with("ab") && d.user_agent.chars().count() == USER_AGENT_MAX);
    }
}

/// Sessions nobody has signed in to that one address (an IPv6 /64 counts as one) keeps at
/// most: a new one beyond this ends that address's least recently used one. Anonymous state
/// that can live in the browser does (the passkey prompt, CSRF tokens); what stays in a
/// session — a pending authorization request, a round trip to a provider — is bounded by this
/// instead. Enough for the people behind one NAT signing in at once; a flood from one address
/// costs at most this many rows.
pub const ANONYMOUS_PER_ADDRESS: i64 = 32;

/// The browser sessions' records, as the session layer keeps them: opaque data under the
/// hash of the cookie's id, with whose sign-in it holds (so an account's sessions end
/// together) or, for an anonymous one, the hashed address that made it (so each address
/// keeps at most `ANONYMOUS_PER_ADDRESS`).
#[derive(Clone)]
pub struct SessionRecords {
    pub(crate) store: Store,
}

impl SessionRecords {
    /// Stores a new session; `false` when the id is taken (the caller draws another).
    pub async fn create(
        &self,
        id_hash: &str,
        data: &str,
        expires_at: i64,
        user_id: Option<&str>,
        anonymous_from: Option<&str>,
    ) -> Result<bool, StoreError> {
        self.store
            .create_session(
                id_hash,
                data,
                expires_at,
                user_id,
                anonymous_from.map(|from| (from, ANONYMOUS_PER_ADDRESS)),
            )
            .await
    }

    pub async fn save(
        &self,
        id_hash: &str,
        data: &str,
        expires_at: i64,
        user_id: Option<&str>,
        anonymous_from: Option<&str>,
    ) -> Result<(), StoreError> {
        self.store
            .save_session(id_hash, data, expires_at, user_id, anonymous_from)
            .await
    }

    /// The session's data, unless it has expired.
    pub async fn load(&self, id_hash: &str, now: i64) -> Result<Option<String>, StoreError> {
        self.store.load_session(id_hash, now).await
    }

    pub async fn delete(&self, id_hash: &str) -> Result<(), StoreError> {
        self.store.delete_session(id_hash).await
    }
}
