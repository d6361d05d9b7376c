//! Delivering logout tokens to clients' `backchannel_logout_uri` (Back-Channel Logout 1.0 §2.5):
//! in the background, with a timeout and a bounded number of attempts, so a slow or absent
//! client never holds up the person logging out.

use std::time::Duration;

const ATTEMPTS: u32 = 3;
const TIMEOUT: Duration = Duration::from_secs(5);

/// A client to build the deliveries with: no redirects followed (§2.5), short timeouts.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .build()
        .unwrap_or_default()
}

pub fn deliver(http: &reqwest::Client, uri: String, logout_token: String) {
    let http = http.clone();
    tokio::spawn(async move {
        for attempt in 1..=ATTEMPTS {
            let sent = http
                .post(&uri)
                .form(&[("logout_token", logout_token.as_str())])
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => return,
                // §2.8: 400 means the client refused the token; trying again will not help.
                Ok(r) if r.status() == reqwest::StatusCode::BAD_REQUEST => {
                    tracing::warn!(%uri, "back-channel logout refused by the client");
                    return;
                }
                Ok(r) => {
                    tracing::warn!(%uri, status = %r.status(), attempt, "back-channel logout failed")
                }
                Err(e) => tracing::warn!(%uri, error = %e, attempt, "back-channel logout failed"),
            }
            tokio::time::sleep(Duration::from_secs(u64::from(attempt))).await;
        }
    });
}
