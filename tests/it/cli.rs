//! The binary as an operator runs it: configuration errors, check-config, keys list, serve,
//! shutdown, and two processes sharing one PostgreSQL database.

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{TestDb, http_client};
use crate::{on_both_backends, on_postgres};

const BIN: &str = env!("CARGO_BIN_EXE_munjigi");

/// A command with a clean munjigi environment, working in `dir`.
fn munjigi(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(BIN);
    for (key, _) in std::env::vars() {
        if key.starts_with("MUNJIGI_") || key == "DATABASE_URL" {
            cmd.env_remove(key);
        }
    }
    cmd.current_dir(dir)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null());
    cmd
}

fn run(cmd: &mut Command) -> Output {
    match cmd.output() {
        Ok(o) => o,
        Err(e) => panic!("cannot run munjigi: {e}"),
    }
}

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
        ("MUNJIGI_DB_MAX_CONNECTIONS", "many", "DB_MAX_CONNECTIONS"),
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
        "issuer = \"https://file.example.com\"\nbind = \"0.0.0.0:9000\"\n",
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
        ));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout.contains("issuer = \"https://env.example.com\""),
        "env beats file: {stdout}"
    );
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

/// Picks a free loopback port (released before the server binds it).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("free port: {e}"))
}

struct Running {
    child: Child,
    base: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(db: &TestDb, extra: &[(&str, &str)]) -> Running {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut cmd = munjigi(db.dir());
    cmd.arg("serve")
        .env("MUNJIGI_ISSUER", &base)
        .env("MUNJIGI_BIND", format!("127.0.0.1:{port}"))
        .env("DATABASE_URL", &db.url)
        .env("MUNJIGI_KEK", &db.kek)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    match cmd.spawn() {
        Ok(child) => Running { child, base },
        Err(e) => panic!("spawn munjigi: {e}"),
    }
}

async fn wait_ready(server: &Running, within: Duration) -> Duration {
    let http = http_client();
    let start = Instant::now();
    loop {
        let status = http
            .get(format!("{}/readyz", server.base))
            .send()
            .await
            .map(|r| r.status());
        if status.is_ok_and(|s| s == 200) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < within,
            "{} not ready within {within:?}",
            server.base
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn get_text(url: String) -> String {
    match http_client().get(&url).send().await {
        Ok(r) if r.status() == 200 => r.text().await.unwrap_or_default(),
        other => panic!("GET {url}: {other:?}"),
    }
}

on_both_backends!(
    serve_answers_quickly_and_stops_cleanly_on_sigterm,
    a_different_kek_is_refused
);
on_postgres!(two_processes_on_one_database_publish_identical_jwks);

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
