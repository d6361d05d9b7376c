//! The binary as an operator runs it: configuration errors, check-config, keys list, serve,
//! shutdown, and two processes sharing one PostgreSQL database.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::process::{munjigi, run, start_server, wait_ready};
use crate::common::{TestDb, http_client};
use crate::{on_both_backends, on_postgres};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn scratch() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("munjigi-cli-{}", uuid::Uuid::new_v4().simple()));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

#[test]
fn bad_configuration_stops_with_a_message_naming_the_setting() {
    let dir = scratch();
    let cases: &[(&str, &str, &str)] = &[
        (
            "MUNJIGI_ISSUER",
            "https://id.example.com/",
            "MUNJIGI_ISSUER (issuer)",
        ),
        ("MUNJIGI_ISSUER", "http://id.example.com", "must use https"),
        ("MUNJIGI_BIND", "localhost", "MUNJIGI_BIND (bind)"),
        (
            "DATABASE_URL",
            "mysql://root@127.0.0.1/x",
            "DATABASE_URL (database_url)",
        ),
        ("MUNJIGI_KEK", "c2hvcnQ=", "MUNJIGI_KEK (kek)"),
        (
            "MUNJIGI_LOG_FORMAT",
            "xml",
            "MUNJIGI_LOG_FORMAT (log_format)",
        ),
        (
            "MUNJIGI_METRICS_BIND",
            "everywhere",
            "MUNJIGI_METRICS_BIND (metrics_bind)",
        ),
        (
            "MUNJIGI_AUDIT_RETENTION_DAYS",
            "-1",
            "MUNJIGI_AUDIT_RETENTION_DAYS (audit_retention_days)",
        ),
        ("MUNJIGI_DB_MAX_CONNECTIONS", "many", "DB_MAX_CONNECTIONS"),
        (
            "MUNJIGI_FEDERATION_NAVER_CLIENT_ID",
            "only-the-id",
            "MUNJIGI_FEDERATION_NAVER (federation.naver)",
        ),
        (
            "MUNJIGI_FEDERATION_KAKAO_AUTH_BASE_URL",
            "http://kauth.kakao.com",
            "must use https",
        ),
        ("MUNJIGI_FEDERATION_LINE_CLIENT_ID", "x", "line_client_id"),
    ];
    for (var, value, expected) in cases {
        for command in ["check-config", "serve"] {
            let out = run(munjigi(&dir).arg(command).env(var, value));
            assert_eq!(out.status.code(), Some(2), "{command} with {var}={value}");
            assert!(
                stderr(&out).contains(expected),
                "{var}={value}: {}",
                stderr(&out)
            );
        }
    }
    // A typo in the file is an error, not a silently ignored setting.
    let file = dir.join("munjigi.toml");
    let _ = std::fs::write(&file, "isuer = \"https://id.example.com\"\n");
    let out = run(munjigi(&dir)
        .arg("check-config")
        .env("MUNJIGI_CONFIG", &file));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("isuer"), "{}", stderr(&out));
    let out = run(munjigi(&dir)
        .arg("check-config")
        .env("MUNJIGI_CONFIG", dir.join("missing.toml")));
    assert!(stderr(&out).contains("MUNJIGI_CONFIG"), "{}", stderr(&out));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn check_config_layers_file_and_environment_and_redacts_secrets() {
    let dir = scratch();
    let file = dir.join("munjigi.toml");
    let _ = std::fs::write(
        &file,
        "issuer = \"https://file.example.com\"\nbind = \"0.0.0.0:9000\"\n\
         [federation.google]\nclient_id = \"g.apps.example\"\nclient_secret = \"google-secret\"\n\
         [[federation.oidc]]\nid = \"corp\"\ndisplay_name = \"Corp\"\n\
         issuer = \"https://sso.corp.example\"\nclient_id = \"c\"\nclient_secret = \"corp-secret\"\n",
    );
    let out = run(munjigi(&dir)
        .arg("check-config")
        .env("MUNJIGI_CONFIG", &file)
        .env("MUNJIGI_ISSUER", "https://env.example.com")
        .env(
            "DATABASE_URL",
            "postgres://app:hunter2@127.0.0.1:5432/munjigi",
        )
        .env(
            "MUNJIGI_KEK",
            "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=",
        )
        // A numeric-looking key stays a string, leading zero and all.
        .env("MUNJIGI_FEDERATION_KAKAO_CLIENT_ID", "0123456789")
        .env("MUNJIGI_FEDERATION_KAKAO_CLIENT_SECRET", "kakao-secret"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("federation kakao: auth https://kauth.kakao.com")
            && stdout.contains("client_id 0123456789"),
        "{stdout}"
    );
    assert!(
        stdout.contains("federation google: issuer https://accounts.google.com")
            && stdout.contains("federation corp: issuer https://sso.corp.example"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("kakao-secret")
            && !stdout.contains("google-secret")
            && !stdout.contains("corp-secret"),
        "{stdout}"
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout.contains("issuer = \"https://env.example.com\""),
        "env beats file: {stdout}"
    );
    for key in [
        "trusted_proxies = [",
        "rate_limit_token_per_minute = ",
        "access_token_ttl_secs = ",
        "key_poll_secs = ",
    ] {
        assert!(stdout.contains(key), "check-config shows {key}: {stdout}");
    }
    assert!(
        stdout.contains("bind = \"0.0.0.0:9000\""),
        "file beats default: {stdout}"
    );
    assert!(
        !stdout.contains("hunter2") && stdout.contains("****"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("QUFB") && stdout.contains("redacted"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

async fn get_text(url: String) -> String {
    match http_client().get(&url).send().await {
        Ok(r) if r.status() == 200 => r.text().await.unwrap_or_default(),
        other => panic!("GET {url}: {other:?}"),
    }
}

on_both_backends!(
    serve_answers_quickly_and_stops_cleanly_on_sigterm,
    a_different_kek_is_refused,
    commands_without_the_servers_kek_write_nothing
);
on_postgres!(
    two_processes_on_one_database_publish_identical_jwks,
    two_instances_share_codes_tokens_revocations_and_keys,
);

async fn serve_answers_quickly_and_stops_cleanly_on_sigterm(db: TestDb) {
    let started = Instant::now();
    let mut server = start_server(&db, &[]);
    let ready = wait_ready(&server, Duration::from_secs(20)).await;
    eprintln!(
        "{:?}: ready {ready:?} after spawn (debug build)",
        db.backend
    );
    let discovery = get_text(format!("{}/.well-known/openid-configuration", server.base)).await;
    assert!(discovery.contains(&format!("\"issuer\":\"{}\"", server.base)));
    get_text(format!("{}/jwks.json", server.base)).await;

    // The container health check: the bind address comes from the configuration.
    let port = server
        .base
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    let healthcheck = |bind: String| {
        run(munjigi(db.dir())
            .arg("healthcheck")
            .env("MUNJIGI_BIND", bind)
            .env("DATABASE_URL", &db.url))
    };
    let out = healthcheck(format!("0.0.0.0:{port}"));
    assert!(out.status.success(), "healthcheck: {}", stderr(&out));

    let pid = server.child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status();
    assert!(killed.is_ok_and(|s| s.success()));
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Ok(Some(status)) = server.child.try_wait() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "munjigi did not stop after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "clean exit after SIGTERM: {status:?}");
    assert!(started.elapsed() < Duration::from_secs(30));
    let out = healthcheck(format!("127.0.0.1:{port}"));
    assert_eq!(
        out.status.code(),
        Some(1),
        "healthcheck of a stopped server"
    );
    assert!(stderr(&out).contains("/readyz"), "{}", stderr(&out));

    // keys list reads the same database.
    let out = run(munjigi(db.dir())
        .args(["keys", "list", "--json"])
        .env("DATABASE_URL", &db.url)
        .env("MUNJIGI_KEK", &db.kek));
    assert!(out.status.success(), "{}", stderr(&out));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let states: Vec<&str> = listed
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| k["state"].as_str())
        .collect();
    assert_eq!(states, ["active", "active"], "{listed}");
    let out = run(munjigi(db.dir())
        .args(["keys", "list"])
        .env("DATABASE_URL", &db.url));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.starts_with("KID") && table.contains("RS256") && table.contains("ES256"),
        "{table}"
    );
}

async fn a_different_kek_is_refused(db: TestDb) {
    let server = start_server(&db, &[]);
    wait_ready(&server, Duration::from_secs(20)).await;
    drop(server);
    let other_kek = "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=";
    let out = run(munjigi(db.dir())
        .arg("serve")
        .env("MUNJIGI_BIND", "127.0.0.1:0")
        .env("DATABASE_URL", &db.url)
        .env("MUNJIGI_KEK", other_kek));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("different key-encryption key"),
        "{}",
        stderr(&out)
    );
}

/// A command that seals or peppers with the KEK, run without the server's KEK, writes nothing
/// (before, it made a new KEK file and sealed a key no instance could open).
async fn commands_without_the_servers_kek_write_nothing(db: TestDb) {
    let server = start_server(&db, &[]);
    wait_ready(&server, Duration::from_secs(20)).await;
    let elsewhere = scratch();
    let cli = |args: &[&str], kek: Option<&str>| {
        let mut cmd = munjigi(&elsewhere);
        cmd.args(args).env("DATABASE_URL", &db.url);
        if let Some(kek) = kek {
            cmd.env("MUNJIGI_KEK", kek);
        }
        run(&mut cmd)
    };
    let create = [
        "client",
        "create",
        "--name",
        "Late",
        "--redirect-uri",
        "http://127.0.0.1:9/cb",
    ];
    for args in [&create[..], &["keys", "rotate"], &["admin", "token"]] {
        let out = cli(args, None);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("MUNJIGI_KEK"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(
            !elsewhere.join("keys/kek").exists(),
            "{args:?} made a KEK file"
        );
        let wrong = cli(args, Some("QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI="));
        assert!(
            stderr(&wrong).contains("different key-encryption key"),
            "{args:?}: {}",
            stderr(&wrong)
        );
    }
    let listed = cli(&["keys", "list", "--json"], None);
    let keys: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap_or_default();
    assert_eq!(
        keys.as_array().map(Vec::len),
        Some(2),
        "nothing was added: {keys}"
    );
    let right = cli(&create, Some(&db.kek));
    assert!(right.status.success(), "{}", stderr(&right));
    drop(server);
}

async fn two_processes_on_one_database_publish_identical_jwks(db: TestDb) {
    // Started together on an empty database: they race to create the first keys.
    let a = start_server(&db, &[]);
    let b = start_server(&db, &[]);
    wait_ready(&a, Duration::from_secs(20)).await;
    wait_ready(&b, Duration::from_secs(20)).await;
    let jwks_a = get_text(format!("{}/jwks.json", a.base)).await;
    let jwks_b = get_text(format!("{}/jwks.json", b.base)).await;
    assert_eq!(jwks_a, jwks_b);
    let parsed: serde_json::Value = serde_json::from_str(&jwks_a).unwrap_or_default();
    assert_eq!(parsed["keys"].as_array().map(Vec::len), Some(2));
}

/// Posts a form to `url` with HTTP Basic client credentials; returns status and JSON.
async fn post_form(
    url: String,
    id: &str,
    secret: &str,
    form: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    let response = http_client()
        .post(&url)
        .basic_auth(id, Some(secret))
        .form(form)
        .send()
        .await;
    let Ok(response) = response else {
        panic!("POST {url}")
    };
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

fn jwt_kid(jwt: &str) -> String {
    let header = jwt.split('.').next().unwrap_or_default();
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header)
        .unwrap_or_default();
    let header: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    header["kid"].as_str().unwrap_or_default().to_owned()
}

async fn two_instances_share_codes_tokens_revocations_and_keys(db: TestDb) {
    // Short key timings so a rotation completes within the test.
    let timings = [
        ("MUNJIGI_JWKS_MAX_AGE_SECS", "1"),
        ("MUNJIGI_KEY_PUBLISH_SECS", "2"),
        ("MUNJIGI_KEY_POLL_SECS", "1"),
    ];
    let a = start_server(&db, &timings);
    // One issuer for both, as behind a load balancer; we talk to each by its own port.
    let mut b_env = timings.to_vec();
    b_env.push(("MUNJIGI_ISSUER", a.base.as_str()));
    let b = start_server(&db, &b_env);
    wait_ready(&a, Duration::from_secs(20)).await;
    wait_ready(&b, Duration::from_secs(20)).await;

    let cli = |args: &[&str]| {
        let mut cmd = munjigi(db.dir());
        cmd.args(args)
            .env("DATABASE_URL", &db.url)
            .env("MUNJIGI_KEK", &db.kek)
            .envs(timings);
        cmd
    };
    let out = run(&mut cli(&[
        "client",
        "create",
        "--name",
        "Shared",
        "--redirect-uri",
        "http://127.0.0.1:9999/cb",
        "--grant-types",
        "authorization_code,refresh_token,client_credentials",
        "--scopes",
        "openid profile offline_access api.read",
        "--skip-consent",
        "--json",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let registered: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let id = registered["client_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let secret = registered["client_secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut create_user = cli(&[
        "user",
        "create",
        "--username",
        "shared",
        "--email",
        "shared@example.com",
        "--password-stdin",
    ]);
    create_user
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let Ok(mut child) = create_user.spawn() else {
        panic!("user create")
    };
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        let _ = stdin.write_all(b"correct horse battery staple\n");
    }
    let done = child.wait_with_output();
    assert!(done.as_ref().is_ok_and(|o| o.status.success()), "{done:?}");

    // Sign in and get a code on A...
    let browser = crate::common::browser::Browser {
        http: http_client(),
        base: a.base.clone(),
    };
    let auth =
        crate::common::fixtures::auth_url(&id, &[("scope", "openid profile offline_access")]);
    let back = browser
        .sign_in(&auth, "shared", "correct horse battery staple")
        .await;
    let code = crate::common::browser::query(&back)
        .get("code")
        .cloned()
        .unwrap_or_default();
    // ...redeem it on B...
    let (status, tokens) = post_form(
        format!("{}/token", b.base),
        &id,
        &secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9999/cb"),
            (
                "code_verifier",
                "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            ),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    // ...refresh on A...
    let rt = tokens["refresh_token"].as_str().unwrap_or_default();
    let (status, refreshed) = post_form(
        format!("{}/token", a.base),
        &id,
        &secret,
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    let rt2 = refreshed["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let access2 = refreshed["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (status, active) = post_form(
        format!("{}/introspect", b.base),
        &id,
        &secret,
        &[("token", &access2)],
    )
    .await;
    assert_eq!((status, active["active"].as_bool()), (200, Some(true)));
    // ...revoke on B, introspect on A.
    let (status, _) = post_form(
        format!("{}/revoke", b.base),
        &id,
        &secret,
        &[("token", &rt2)],
    )
    .await;
    assert_eq!(status, 200);
    for token in [&rt2, &access2] {
        let (_, answer) = post_form(
            format!("{}/introspect", a.base),
            &id,
            &secret,
            &[("token", token)],
        )
        .await;
        assert_eq!(answer["active"], false, "revoked on B, seen on A");
    }

    // Rotate with the CLI: both instances publish the new keys, then sign with them.
    let out = run(&mut cli(&["keys", "rotate", "--alg", "ES256"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    let new_kid = printed
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    assert!(!new_kid.is_empty(), "{printed}");
    let deadline = Instant::now() + Duration::from_secs(20);
    for server in [&a, &b] {
        loop {
            let (_, issued) = post_form(
                format!("{}/token", server.base),
                &id,
                &secret,
                &[("grant_type", "client_credentials")],
            )
            .await;
            let kid = jwt_kid(issued["access_token"].as_str().unwrap_or_default());
            let jwks = get_text(format!("{}/jwks.json", server.base)).await;
            if kid == new_kid {
                assert!(jwks.contains(&new_kid));
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{} never signed with {new_kid} (still {kid}); logs:\n{}",
                server.base,
                server.logs()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// The image's HEALTHCHECK runs a command the binary has, and the image copies only folders
/// that exist (no engine here to build it).
#[test]
fn the_dockerfile_health_check_is_a_command_the_binary_knows() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap_or_default();
    let command = dockerfile
        .lines()
        .skip_while(|l| !l.starts_with("HEALTHCHECK"))
        .find_map(|l| l.trim().strip_prefix("CMD "))
        .and_then(|json| serde_json::from_str::<Vec<String>>(json).ok())
        .unwrap_or_default();
    assert_eq!(
        command.first().map(String::as_str),
        Some("munjigi"),
        "{command:?}"
    );
    let out = run(munjigi(&scratch()).args(&command[1..]).arg("--help"));
    assert!(out.status.success(), "{command:?}: {}", stderr(&out));
    for line in dockerfile
        .lines()
        .filter(|l| l.starts_with("COPY ") && !l.contains("--from"))
    {
        let sources: Vec<&str> = line.split_whitespace().skip(1).collect();
        for source in &sources[..sources.len().saturating_sub(1)] {
            assert!(
                root.join(source).exists(),
                "Dockerfile copies missing {source}"
            );
        }
    }
}
