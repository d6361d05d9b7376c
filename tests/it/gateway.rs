//! Forward authentication (`/gateway/verify`): directly, as Envoy calls it, and through a real
//! nginx (`auth_request`, Debian's package) in front of a tiny upstream on loopback.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use munjigi::oauth::client::{AuthMethod, NewClient};
use munjigi::oauth::grant::GrantType;

use crate::common::fixtures::{Registered, web_client};
use crate::common::process::free_port;
use crate::common::{TestApp, TestDb, spawn_app};
use crate::on_both_backends;

on_both_backends!(
    verify_answers_identity_or_a_challenge,
    nginx_passes_only_requests_with_a_good_token,
    the_gateway_says_whether_the_subject_is_a_user_or_a_client,
);

const NGINX: &str = "/usr/sbin/nginx";
const API: &str = "https://api.example.com";

fn machine_client() -> NewClient {
    NewClient {
        name: "Reporting job".into(),
        redirect_uris: vec![],
        grant_types: vec![GrantType::ClientCredentials],
        scopes: "api.read api.write".into(),
        access_token_audience: vec![API.into()],
        require_mfa: false,
        ..web_client(AuthMethod::ClientSecretBasic, true)
    }
}

/// A machine client whose tokens are for `API` with `api.read` (and `api.write` on request).
async fn api_client(app: &TestApp) -> Registered {
    app.register(machine_client()).await
}

async fn token(app: &TestApp, c: &Registered, scope: &str) -> String {
    let reply = app
        .token(c, &[("grant_type", "client_credentials"), ("scope", scope)])
        .await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    reply.json["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

async fn verify_answers_identity_or_a_challenge(db: TestDb) {
    let app = spawn_app(&db).await;
    let c = api_client(&app).await;
    let read = token(&app, &c, "api.read").await;
    let check =
        |path: &'static str, token: Option<String>, extra: Option<(&'static str, &'static str)>| {
            let mut request = app.http.get(app.url(path));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if let Some((name, value)) = extra {
                request = request.header(name, value);
            }
            async move { request.send().await.expect("verify") }
        };

    let ok = check(
        "/gateway/verify?scope=api.read&audience=https%3A%2F%2Fapi.example.com",
        Some(read.clone()),
        None,
    )
    .await;
    assert_eq!(ok.status(), 200);
    assert_eq!(header(&ok, "x-auth-subject"), c.id);
    assert_eq!(header(&ok, "x-auth-client"), c.id);
    assert_eq!(header(&ok, "x-auth-scope"), "api.read");
    assert_eq!(header(&ok, "x-auth-subject-type"), "client");
    assert_eq!(header(&ok, "cache-control"), "no-store");

    let none = check("/gateway/verify", None, None).await;
    assert_eq!(none.status(), 401);
    assert_eq!(
        header(&none, "www-authenticate"),
        "Bearer realm=\"munjigi\""
    );

    let forged = check("/gateway/verify", Some(format!("{read}x")), None).await;
    assert_eq!(forged.status(), 401);
    assert!(header(&forged, "www-authenticate").contains("error=\"invalid_token\""));

    let scope = check("/gateway/verify?scope=api.write", Some(read.clone()), None).await;
    assert_eq!(scope.status(), 403);
    assert!(header(&scope, "www-authenticate").contains("error=\"insufficient_scope\""));

    let audience = check(
        "/gateway/verify?audience=https%3A%2F%2Fother.example",
        Some(read.clone()),
        None,
    )
    .await;
    assert_eq!(audience.status(), 401);

    // Envoy: the original path appended, requirements in headers (its query is the app's).
    let envoy = check(
        "/gateway/verify/reports/42?scope=api.write",
        Some(read.clone()),
        Some(("x-require-scope", "api.read")),
    )
    .await;
    assert_eq!(envoy.status(), 200);
    let envoy = check(
        "/gateway/verify/reports/42",
        Some(read.clone()),
        Some(("x-require-scope", "api.write")),
    )
    .await;
    assert_eq!(envoy.status(), 403);

    // Revoked: refused at once.
    let revoked = app
        .client_post(&c, "/revoke", &[("token", read.as_str())])
        .await;
    assert_eq!(revoked.status, 200);
    let after = check("/gateway/verify", Some(read), None).await;
    assert_eq!(after.status(), 401);
    app.stop().await;
}

/// nginx in the foreground with its files in `dir`, killed when dropped.
struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn nginx_available() -> bool {
    if Path::new(NGINX).exists() {
        return true;
    }
    assert!(
        !std::env::var("CI").is_ok_and(|v| v == "true"),
        "CI=true but {NGINX} is missing (apt-get install nginx)"
    );
    eprintln!("notice: {NGINX} is missing; skipping the nginx test (apt-get install nginx)");
    false
}

/// docs/gateway.md's nginx example, with the test's ports and folders filled in.
fn nginx_config(dir: &Path, listen: u16, munjigi: &str, upstream: u16) -> String {
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/gateway/nginx.conf"),
    )
    .expect("docs/gateway/nginx.conf");
    let dir = dir.display();
    let server = example
        .replace("listen 80;", &format!("listen 127.0.0.1:{listen};"))
        .replace("http://munjigi:8080", munjigi)
        .replace("http://app:3000", &format!("http://127.0.0.1:{upstream}"));
    format!(
        "daemon off;\nworker_processes 1;\npid {dir}/nginx.pid;\nerror_log {dir}/error.log warn;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {dir}/body;\n  proxy_temp_path {dir}/proxy;\n\
         fastcgi_temp_path {dir}/fastcgi;\n  uwsgi_temp_path {dir}/uwsgi;\n  scgi_temp_path {dir}/scgi;\n\
         {server}\n}}\n"
    )
}

/// An upstream that answers with the identity headers nginx passed on.
async fn serve_upstream() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind upstream");
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    let echo = |headers: axum::http::HeaderMap| async move {
        let get = |n: &str| {
            headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        axum::Json(serde_json::json!({
            "subject": get("x-auth-subject"),
            "scope": get("x-auth-scope"),
            "client": get("x-auth-client"),
            "authorization": get("authorization"),
        }))
    };
    let router = axum::Router::new().fallback(echo);
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    port
}

async fn nginx_passes_only_requests_with_a_good_token(db: TestDb) {
    if !nginx_available() {
        return;
    }
    let app = spawn_app(&db).await;
    let c = api_client(&app).await;
    let read = token(&app, &c, "api.read").await;
    let upstream = serve_upstream().await;
    let port = free_port();
    let dir = db.dir().join("nginx");
    std::fs::create_dir_all(&dir).expect("nginx dir");
    let conf = dir.join("nginx.conf");
    std::fs::write(&conf, nginx_config(&dir, port, &app.base, upstream)).expect("write conf");
    let child = Command::new(NGINX)
        .arg("-p")
        .arg(&dir)
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start nginx");
    let _nginx = Nginx(child);
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while app
        .http
        .get(format!("{base}/healthz-of-nginx"))
        .send()
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "nginx did not start: {}",
            std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let allowed = app
        .http
        .get(format!("{base}/reports/42"))
        .bearer_auth(&read)
        .send()
        .await
        .expect("through nginx");
    assert_eq!(allowed.status(), 200);
    let seen: serde_json::Value = allowed.json().await.unwrap_or_default();
    assert_eq!(seen["subject"], c.id.as_str(), "{seen}");
    assert_eq!(seen["scope"], "api.read", "{seen}");
    assert_eq!(seen["client"], c.id.as_str(), "{seen}");

    let refused = app
        .http
        .get(format!("{base}/reports/42"))
        .bearer_auth(format!("{read}x"))
        .send()
        .await
        .expect("through nginx");
    assert_eq!(refused.status(), 401);
    assert!(
        header(&refused, "www-authenticate").contains("invalid_token"),
        "{:?}",
        refused.headers()
    );
    let anonymous = app
        .http
        .get(format!("{base}/reports/42"))
        .send()
        .await
        .expect("through nginx");
    assert_eq!(anonymous.status(), 401);
    // The configuration requires the API's audience: a good token for another resource
    // server does not get through.
    let other = app
        .register(NewClient {
            name: "Other API job".into(),
            access_token_audience: vec!["https://other.example.com".into()],
            ..machine_client()
        })
        .await;
    let for_other = token(&app, &other, "api.read").await;
    let wrong_audience = app
        .http
        .get(format!("{base}/reports/42"))
        .bearer_auth(&for_other)
        .send()
        .await
        .expect("through nginx");
    assert_eq!(wrong_audience.status(), 401, "another audience");
    // A client that forges identity headers gets its own overwritten.
    let forged = app
        .http
        .get(format!("{base}/reports/42"))
        .bearer_auth(&read)
        .header("x-auth-subject", "admin")
        .send()
        .await
        .expect("through nginx");
    let seen: serde_json::Value = forged.json().await.unwrap_or_default();
    assert_eq!(seen["subject"], c.id.as_str(), "{seen}");
    app.stop().await;
}

async fn the_gateway_says_whether_the_subject_is_a_user_or_a_client(db: TestDb) {
    let app = spawn_app(&db).await;
    let web = app
        .register(NewClient {
            scopes: "openid profile roles".into(),
            ..web_client(AuthMethod::ClientSecretBasic, true)
        })
        .await;
    let user = app.user("ana").await;
    let code = app
        .code_for(&web, "ana", &[("scope", "openid roles")])
        .await;
    let issued = app.redeem(&web, &code).await;
    let person = issued.json["access_token"].as_str().unwrap_or_default();
    let machine = api_client(&app).await;
    let machine_token = token(&app, &machine, "api.read").await;
    let verify = |token: String| {
        let request = app.http.get(app.url("/gateway/verify")).bearer_auth(token);
        async move { request.send().await.expect("verify") }
    };

    let as_person = verify(person.to_owned()).await;
    assert_eq!(as_person.status(), 200);
    assert_eq!(header(&as_person, "x-auth-subject"), user);
    assert_eq!(header(&as_person, "x-auth-subject-type"), "user");
    assert_eq!(header(&as_person, "x-auth-client"), web.id);
    assert_eq!(header(&as_person, "x-auth-role"), "user");

    let as_machine = verify(machine_token).await;
    assert_eq!(as_machine.status(), 200);
    assert_eq!(header(&as_machine, "x-auth-subject"), machine.id);
    assert_eq!(header(&as_machine, "x-auth-subject-type"), "client");
    assert_eq!(header(&as_machine, "x-auth-client"), machine.id);
    assert!(as_machine.headers().get("x-auth-role").is_none());
    app.stop().await;
}

/// docs/gateway.md quotes the nginx file that the test above runs: the quoted lines, the
/// audience among them, must be the file's.
#[test]
fn the_nginx_excerpt_in_the_docs_is_the_tested_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/gateway.md")).expect("docs/gateway.md");
    let conf = std::fs::read_to_string(root.join("docs/gateway/nginx.conf")).expect("nginx.conf");
    let excerpt = doc
        .split("```nginx")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("an nginx excerpt in docs/gateway.md");
    let conf_lines: Vec<&str> = conf.lines().map(str::trim).collect();
    for line in excerpt
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
    {
        if line.is_empty() || line == "}" || line.ends_with('{') {
            continue;
        }
        assert!(
            conf_lines.iter().any(|c| c.starts_with(line)),
            "docs/gateway.md quotes {line:?}, which docs/gateway/nginx.conf does not have"
        );
    }
    assert!(
        excerpt.contains("audience="),
        "the excerpt carries the audience"
    );
}
