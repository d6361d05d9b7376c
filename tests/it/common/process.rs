//! The compiled binary as a separate process: a clean environment, `serve` on a free port with
//! its log in a file, and waiting until it is ready.

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::{TestDb, http_client};

const BIN: &str = env!("CARGO_BIN_EXE_munjigi");

/// A command with a clean munjigi environment, working in `dir`.
pub fn munjigi(dir: &std::path::Path) -> Command {
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

pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run munjigi: {e}"))
}

/// Picks a free loopback port (released before the server binds it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("free port: {e}"))
}

pub struct Running {
    pub child: Child,
    pub base: String,
    log: std::path::PathBuf,
}

impl Running {
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start_server(db: &TestDb, extra: &[(&str, &str)]) -> Running {
    start_server_on(db, "127.0.0.1", free_port(), extra)
}

/// `serve` on `port` with the issuer `http://{host}:{port}` (`localhost` keeps its cookies
/// apart from another munjigi's on 127.0.0.1: browsers key cookies by host, not port).
pub fn start_server_on(db: &TestDb, host: &str, port: u16, extra: &[(&str, &str)]) -> Running {
    let base = format!("http://{host}:{port}");
    let mut cmd = munjigi(db.dir());
    cmd.arg("serve")
        .env("MUNJIGI_ISSUER", &base)
        .env("MUNJIGI_BIND", format!("127.0.0.1:{port}"))
        .env("DATABASE_URL", &db.url)
        .env("MUNJIGI_KEK", &db.kek)
        .env("RUST_LOG", "info,tower_http=warn,sqlx=warn")
        .stdout(Stdio::null());
    // Logs go to a file: a pipe nobody reads would fill up and stall the server.
    let log = db.dir().join(format!("server-{port}.log"));
    match std::fs::File::create(&log) {
        Ok(file) => cmd.stderr(file),
        Err(_) => cmd.stderr(Stdio::null()),
    };
    for (k, v) in extra {
        cmd.env(k, v);
    }
    match cmd.spawn() {
        Ok(child) => Running { child, base, log },
        Err(e) => panic!("spawn munjigi: {e}"),
    }
}

pub async fn wait_ready(server: &Running, within: Duration) -> Duration {
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
