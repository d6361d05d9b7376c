//! Load that wrk cannot express, against munjigi or any OpenID provider with a password form:
//!
//!   driver flow    --base URL --client ID [--secret S] --user U --password P --conns N --seconds D
//!   driver refresh --base URL --client ID --secret S --user U --password P --conns N --seconds D
//!   driver token   --base URL --client ID --secret S --user U --password P
//!
//! `flow`: full sign-ins (authorization request → login form with the real password → consent
//! when asked → code → token), each worker a fresh browser. `refresh`: each worker signs in
//! once, then rotates its own refresh-token chain as fast as it can (every request a durable
//! write). `token`: prints one access token (for userinfo and introspection under wrk).
//! Prints one JSON line: ok, errors, seconds, rps, p50_ms, p99_ms. Loopback only.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine;
use sha2::{Digest, Sha256};

const REDIRECT: &str = "http://127.0.0.1:9999/cb";

#[derive(Clone)]
struct Opts {
    base: String,
    client: String,
    secret: Option<String>,
    user: String,
    password: String,
    conns: usize,
    seconds: u64,
}

fn parse_args() -> Result<(String, Opts), String> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().ok_or("usage: driver flow|refresh|token --base URL ...")?;
    let mut map = HashMap::new();
    while let Some(key) = args.next() {
        let value = args.next().ok_or(format!("{key} needs a value"))?;
        map.insert(key.trim_start_matches("--").to_owned(), value);
    }
    let get = |k: &str| map.get(k).cloned().ok_or(format!("--{k} is required"));
    let base = get("base")?;
    let host = url::Url::parse(&base).map_err(|e| e.to_string())?;
    if !matches!(host.host_str(), Some("127.0.0.1" | "localhost" | "::1")) {
        return Err("only loopback targets".into());
    }
    Ok((
        mode,
        Opts {
            base,
            client: get("client")?,
            secret: map.get("secret").cloned(),
            user: get("user")?,
            password: get("password")?,
            conns: map.get("conns").and_then(|c| c.parse().ok()).unwrap_or(8),
            seconds: map.get("seconds").and_then(|c| c.parse().ok()).unwrap_or(10),
        },
    ))
}

struct Endpoints {
    authorize: String,
    token: String,
}

async fn discover(http: &reqwest::Client, base: &str) -> Result<Endpoints, String> {
    let doc: serde_json::Value = http
        .get(format!("{base}/.well-known/openid-configuration"))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let field = |k: &str| doc[k].as_str().map(str::to_owned).ok_or(format!("no {k}"));
    Ok(Endpoints {
        authorize: field("authorization_endpoint")?,
        token: field("token_endpoint")?,
    })
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_default()
}

/// The value of an attribute in a tag.
fn attr(tag: &str, name: &str) -> Option<String> {
    let marker = format!("{name}=\"");
    let start = tag.find(&marker)? + marker.len();
    let end = tag[start..].find('"')? + start;
    Some(tag[start..end].replace("&amp;", "&").replace("&#38;", "&"))
}

/// A form of the page to submit: the login form, else the one that allows (consent).
fn form_to_submit(html: &str, o: &Opts) -> Option<(String, Vec<(String, String)>)> {
    let forms: Vec<&str> = html.split("<form").skip(1).map(|f| f.split("</form>").next().unwrap_or(f)).collect();
    let chosen = forms
        .iter()
        .find(|f| f.contains("name=\"password\""))
        .or_else(|| forms.iter().find(|f| f.contains("value=\"allow\"")))?;
    let action = attr(chosen, "action")?;
    let mut fields = Vec::new();
    for input in chosen.split("<input").skip(1) {
        let tag = input.split('>').next().unwrap_or(input);
        let Some(name) = attr(tag, "name") else { continue };
        let value = match name.as_str() {
            "username" => o.user.clone(),
            "password" => o.password.clone(),
            _ => attr(tag, "value").unwrap_or_default(),
        };
        fields.push((name, value));
    }
    if chosen.contains("value=\"allow\"") {
        fields.push(("decision".into(), "allow".into()));
    }
    Some((action, fields))
}

/// A sign-in as a browser would: returns the code and the PKCE verifier.
async fn sign_in(
    http: &reqwest::Client,
    e: &Endpoints,
    o: &Opts,
    scope: &str,
    prompt: Option<&str>,
) -> Result<(String, String), String> {
    let verifier: String = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let mut url = url::Url::parse(&e.authorize).map_err(|e| e.to_string())?;
    url.query_pairs_mut()
        .append_pair("client_id", &o.client)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("response_type", "code")
        .append_pair("scope", scope)
        .append_pair("state", "bench")
        .append_pair("nonce", "bench")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    if let Some(prompt) = prompt {
        url.query_pairs_mut().append_pair("prompt", prompt);
    }
    let mut response = http.get(url.as_str()).send().await.map_err(|e| e.to_string())?;
    for _ in 0..20 {
        let here = response.url().clone();
        if response.status().is_redirection() {
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            if location.starts_with(REDIRECT) {
                let back = url::Url::parse(&location).map_err(|e| e.to_string())?;
                let code = back
                    .query_pairs()
                    .find(|(k, _)| k == "code")
                    .map(|(_, v)| v.into_owned())
                    .ok_or(format!("no code in {location}"))?;
                return Ok((code, verifier));
            }
            let next = here.join(&location).map_err(|e| e.to_string())?;
            response = http.get(next).send().await.map_err(|e| e.to_string())?;
            continue;
        }
        let status = response.status();
        let html = response.text().await.map_err(|e| e.to_string())?;
        let (action, fields) =
            form_to_submit(&html, o).ok_or(format!("{status} at {here}: no form to submit"))?;
        let target = here.join(&action).map_err(|e| e.to_string())?;
        response = http.post(target).form(&fields).send().await.map_err(|e| e.to_string())?;
    }
    Err("too many steps".into())
}

async fn token_request(http: &reqwest::Client, e: &Endpoints, o: &Opts, form: &[(&str, &str)]) -> Result<serde_json::Value, String> {
    let mut request = http.post(&e.token).form(form);
    match &o.secret {
        Some(secret) => request = request.basic_auth(&o.client, Some(secret)),
        None => {
            let mut with_id = form.to_vec();
            with_id.push(("client_id", &o.client));
            request = http.post(&e.token).form(&with_id);
        }
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{status}: {body}"));
    }
    Ok(body)
}

async fn redeem(http: &reqwest::Client, e: &Endpoints, o: &Opts, code: &str, verifier: &str) -> Result<serde_json::Value, String> {
    token_request(
        http,
        e,
        o,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ],
    )
    .await
}

#[derive(Default)]
struct Tally {
    ok: u64,
    errors: u64,
    micros: Vec<u32>,
    first_error: Option<String>,
}

impl Tally {
    fn record(&mut self, started: Instant, result: Result<(), String>) {
        match result {
            Ok(()) => {
                self.ok += 1;
                self.micros.push(started.elapsed().as_micros().min(u32::MAX as u128) as u32);
            }
            Err(e) => {
                self.errors += 1;
                self.first_error.get_or_insert(e);
            }
        }
    }
}

/// `--user a,b,c`: worker `i` signs in as the `i`-th (round robin), so concurrent sign-ins are
/// different people, as they would be (munjigi throttles many at once on one account).
fn as_worker(o: &Opts, worker: usize) -> Opts {
    let users: Vec<&str> = o.user.split(',').filter(|u| !u.is_empty()).collect();
    let mut mine = o.clone();
    if !users.is_empty() {
        mine.user = users[worker % users.len()].to_owned();
    }
    mine
}

async fn run(mode: &str, o: Opts) -> Result<(), String> {
    let setup = browser();
    let e = std::sync::Arc::new(discover(&setup, &o.base).await?);
    if mode == "token" {
        let o = as_worker(&o, 0);
        let (code, verifier) = sign_in(&setup, &e, &o, "openid profile email", None).await?;
        let tokens = redeem(&setup, &e, &o, &code, &verifier).await?;
        println!("{}", tokens["access_token"].as_str().unwrap_or_default());
        return Ok(());
    }
    // Refresh chains start before the clock does: one sign-in per worker.
    let mut chains = Vec::new();
    if mode == "refresh" {
        for chain in 0..o.conns {
            let (http, o) = (browser(), as_worker(&o, chain));
            let (code, verifier) = sign_in(&http, &e, &o, "openid offline_access", Some("consent")).await?;
            let tokens = redeem(&http, &e, &o, &code, &verifier).await?;
            let rt = tokens["refresh_token"].as_str().ok_or(format!("no refresh token: {tokens}"))?;
            chains.push(rt.to_owned());
        }
    }
    let deadline = Instant::now() + Duration::from_secs(o.seconds);
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..o.conns {
        let (e, o, mode) = (e.clone(), as_worker(&o, worker), mode.to_owned());
        let mut rt = chains.get(worker).cloned().unwrap_or_default();
        workers.spawn(async move {
            let mut tally = Tally::default();
            let shared = browser();
            while Instant::now() < deadline {
                let t = Instant::now();
                let result = if mode == "flow" {
                    let http = browser();
                    match sign_in(&http, &e, &o, "openid profile email", None).await {
                        Ok((code, verifier)) => redeem(&http, &e, &o, &code, &verifier).await.map(|_| ()),
                        Err(err) => Err(err),
                    }
                } else {
                    match token_request(&shared, &e, &o, &[("grant_type", "refresh_token"), ("refresh_token", &rt)]).await {
                        Ok(tokens) => match tokens["refresh_token"].as_str() {
                            Some(next) => {
                                rt = next.to_owned();
                                Ok(())
                            }
                            None => Err("no new refresh token".into()),
                        },
                        Err(err) => Err(err),
                    }
                };
                tally.record(t, result);
                if tally.errors > 100 && tally.ok == 0 {
                    break;
                }
            }
            tally
        });
    }
    let mut all = Tally::default();
    while let Some(done) = workers.join_next().await {
        let t = done.map_err(|e| e.to_string())?;
        all.ok += t.ok;
        all.errors += t.errors;
        all.micros.extend(t.micros);
        if all.first_error.is_none() {
            all.first_error = t.first_error;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    all.micros.sort_unstable();
    let pct = |p: f64| {
        if all.micros.is_empty() {
            0.0
        } else {
            let i = ((all.micros.len() as f64 - 1.0) * p).round() as usize;
            f64::from(all.micros[i]) / 1000.0
        }
    };
    let out = serde_json::json!({
        "scenario": mode,
        "ok": all.ok,
        "errors": all.errors,
        "seconds": seconds,
        "rps": all.ok as f64 / seconds,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "first_error": all.first_error,
    });
    println!("{out}");
    Ok(())
}

#[tokio::main]
async fn main() {
    let outcome = match parse_args() {
        Ok((mode, opts)) if matches!(mode.as_str(), "flow" | "refresh" | "token") => run(&mode, opts).await,
        Ok((mode, _)) => Err(format!("unknown mode {mode}")),
        Err(e) => Err(e),
    };
    if let Err(e) = outcome {
        eprintln!("driver: {e}");
        std::process::exit(2);
    }
}
