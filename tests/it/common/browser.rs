//! A person with a browser, as far as HTTP goes: a cookie jar, no automatic redirects, and
//! the hosted forms filled in.

use super::{TestApp, http_client};

pub struct Browser {
    pub http: reqwest::Client,
    pub base: String,
}

/// The value of a hidden input in a page.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    html.split_once(&marker)
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(value, _)| value.replace("&amp;", "&"))
        .unwrap_or_default()
}

pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

impl Browser {
    pub fn new(app: &TestApp) -> Self {
        Self {
            http: http_client(),
            base: app.base.clone(),
        }
    }

    /// A browser that names itself `user_agent` (the sessions list shows it).
    pub fn with_user_agent(app: &TestApp, user_agent: &str) -> Self {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(user_agent)
            .timeout(std::time::Duration::from_secs(20))
            .build()
            .expect("http client");
        Self {
            http,
            base: app.base.clone(),
        }
    }

    /// The account page's HTML and its CSRF token, asserting the person is signed in.
    pub async fn account_page(&self) -> (String, String) {
        let page = self.get("/account").await;
        assert_eq!(page.status(), 200, "signed in");
        let html = page.text().await.unwrap_or_default();
        let csrf = hidden(&html, "csrf");
        (html, csrf)
    }

    /// Whether this browser is still signed in.
    pub async fn signed_in(&self) -> bool {
        let page = self.get("/account").await;
        match page.status().as_u16() {
            200 => true,
            303 => false,
            other => panic!("GET /account: {other}"),
        }
    }

    fn absolute(&self, url: &str) -> String {
        if url.starts_with('/') {
            format!("{}{url}", self.base)
        } else {
            url.to_owned()
        }
    }

    pub async fn get(&self, url: &str) -> reqwest::Response {
        self.http
            .get(self.absolute(url))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"))
    }

    pub async fn post(&self, url: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(self.absolute(url))
            .form(form)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {url}: {e}"))
    }

    /// A JSON post, as the pages' scripts make them.
    pub async fn post_json(&self, url: &str, body: &serde_json::Value) -> reqwest::Response {
        self.http
            .post(self.absolute(url))
            .json(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {url}: {e}"))
    }

    /// Follows redirects that stay on munjigi; returns the first response that is a page, or
    /// a redirect leaving munjigi (to the client).
    pub async fn follow(&self, mut response: reqwest::Response) -> reqwest::Response {
        for _ in 0..10 {
            let next = location(&response);
            if !response.status().is_redirection()
                || !(next.starts_with('/') || next.starts_with(&self.base))
            {
                return response;
            }
            response = self.get(&next).await;
        }
        panic!("redirect loop")
    }

    /// Submits the login form of the page `page` (an HTML login page).
    pub async fn login(
        &self,
        page: reqwest::Response,
        username: &str,
        password: &str,
    ) -> reqwest::Response {
        let html = page.text().await.unwrap_or_default();
        assert!(
            html.contains("name=\"password\""),
            "expected the login page, got: {html}"
        );
        let csrf = hidden(&html, "csrf");
        let request = hidden(&html, "request");
        self.post(
            "/login",
            &[
                ("csrf", &csrf),
                ("request", &request),
                ("username", username),
                ("password", password),
            ],
        )
        .await
    }

    /// Answers the consent page with `decision` (allow/deny).
    pub async fn consent(&self, page: reqwest::Response, decision: &str) -> reqwest::Response {
        let html = page.text().await.unwrap_or_default();
        assert!(
            html.contains("name=\"decision\""),
            "expected the consent page, got: {html}"
        );
        let csrf = hidden(&html, "csrf");
        let request = hidden(&html, "request");
        self.post(
            "/consent",
            &[
                ("csrf", &csrf),
                ("request", &request),
                ("decision", decision),
            ],
        )
        .await
    }

    /// From an authorization URL through login and consent to the redirect back to the client.
    pub async fn sign_in(&self, auth_url: &str, username: &str, password: &str) -> String {
        let page = self.follow(self.get(auth_url).await).await;
        let after_login = self
            .follow(self.login(page, username, password).await)
            .await;
        let back = if after_login.status().is_redirection() {
            after_login
        } else {
            self.follow(self.consent(after_login, "allow").await).await
        };
        assert!(
            back.status().is_redirection(),
            "expected a redirect to the client, got {}",
            back.status()
        );
        location(&back)
    }
}

/// The query parameters of a redirect URL.
pub fn query(url: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(url)
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default()
}
