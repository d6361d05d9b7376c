//! Operating on accounts from the command line: disabling ends everything at once, a new
//! password ends the old sessions, sessions can be ended alone, accounts can be deleted.

use std::process::{Command, Output, Stdio};

use munjigi::oauth::client::AuthMethod;

use crate::common::browser::{Browser, location, query};
use crate::common::fixtures::{PASSWORD, Registered, auth_url};
use crate::common::process::munjigi;
use crate::common::{TestApp, TestDb, spawn_app};
use crate::on_both_backends;

on_both_backends!(
    disabling_ends_sessions_and_refresh_tokens_at_once,
    a_new_password_ends_sessions_and_the_old_one_stops_working,
    sessions_can_be_ended_and_accounts_deleted,
    mistakes_are_told_in_sentences,
);

fn cli(db: &TestDb, args: &[&str]) -> Command {
    let mut cmd = munjigi(db.dir());
    cmd.args(args)
        .env("DATABASE_URL", &db.url)
        .env("MUNJIGI_KEK", &db.kek);
    cmd
}

fn run_ok(mut cmd: Command, stdin: Option<&str>) -> String {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run munjigi");
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        use std::io::Write;
        let _ = pipe.write_all(text.as_bytes());
    }
    let out: Output = child.wait_with_output().expect("munjigi finished");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a command that must fail; returns what it said on standard error.
fn run_err(mut cmd: Command, stdin: Option<&str>) -> String {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run munjigi");
    if let Some(mut pipe) = child.stdin.take() {
        use std::io::Write;
        let _ = pipe.write_all(stdin.unwrap_or_default().as_bytes());
    }
    let out: Output = child.wait_with_output().expect("munjigi finished");
    assert!(!out.status.success(), "the command should have failed");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// No Rust names, lists or quotes of debug output: a sentence a person can act on.
fn assert_sentence(said: &str, contains: &str) {
    assert!(said.contains(contains), "{said}");
    for debug in [
        "[",
        "]",
        "Password",
        "Invalid",
        "NoSuchUser",
        "Common",
        "{",
        "\\\"",
    ] {
        assert!(!said.contains(debug), "debug output {debug:?} in {said:?}");
    }
}

async fn mistakes_are_told_in_sentences(db: TestDb) {
    let app = spawn_app(&db).await;
    app.user("gail").await;
    let create = |username: &str, email: &str| {
        cli(
            &db,
            &[
                "user",
                "create",
                "--username",
                username,
                "--email",
                email,
                "--password-stdin",
            ],
        )
    };
    let common = run_err(create("hana", "hana@example.com"), Some("password\n"));
    assert_sentence(&common, "too common or too easy to guess");
    let short = run_err(create("hana", "hana@example.com"), Some("short\n"));
    assert_sentence(&short, "at least 8 characters");
    let bad = run_err(
        create("h", "not an address"),
        Some("a fine long passphrase\n"),
    );
    assert_sentence(&bad, "The email address is not valid.");
    assert_sentence(&bad, "Usernames are 3–32 letters");
    let taken = run_err(
        create("gail", "other@example.com"),
        Some("a fine long passphrase\n"),
    );
    assert_sentence(&taken, "That username or email address cannot be used");
    let empty = run_err(create("hana", "hana@example.com"), Some("\n"));
    assert_sentence(&empty, "No password was given on standard input");

    let nobody = run_err(
        cli(&db, &["user", "set-password", "nobody", "--password-stdin"]),
        Some("a fine long passphrase\n"),
    );
    assert_sentence(&nobody, "There is no account “nobody”");
    let weak = run_err(
        cli(&db, &["user", "set-password", "gail", "--password-stdin"]),
        Some("12345678\n"),
    );
    assert_sentence(&weak, "The password cannot be used.");
    assert_sentence(
        &run_err(cli(&db, &["user", "disable", "nobody"]), None),
        "There is no account",
    );
    assert_sentence(
        &run_err(cli(&db, &["client", "delete", "no-such-client"]), None),
        "There is no client “no-such-client”.",
    );
}

/// A signed-in browser and a refresh token of `username`.
async fn signed_in(app: &TestApp, c: &Registered, username: &str) -> (Browser, String) {
    let browser = Browser::new(app);
    let back = browser
        .sign_in(
            &auth_url(&c.id, &[("scope", "openid offline_access")]),
            username,
            PASSWORD,
        )
        .await;
    let code = query(&back).get("code").cloned().unwrap_or_default();
    let reply = app.redeem(c, &code).await;
    let rt = reply.json["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (browser, rt)
}

async fn still_signed_in(browser: &Browser, c: &Registered) -> bool {
    let r = browser.get(&auth_url(&c.id, &[("prompt", "none")])).await;
    query(&location(&r)).contains_key("code")
}

async fn refresh_works(app: &TestApp, c: &Registered, rt: &str) -> bool {
    app.token(c, &[("grant_type", "refresh_token"), ("refresh_token", rt)])
        .await
        .status
        == 200
}

async fn disabling_ends_sessions_and_refresh_tokens_at_once(db: TestDb) {
    let app = spawn_app(&db).await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    app.user("dana").await;
    let (browser, rt) = signed_in(&app, &c, "dana").await;
    assert!(still_signed_in(&browser, &c).await);
    let out = run_ok(cli(&db, &["user", "disable", "DANA"]), None);
    assert!(
        out.contains("1 sessions ended") && out.contains("1 token families revoked"),
        "{out}"
    );
    assert!(!still_signed_in(&browser, &c).await, "the session is gone");
    assert!(!refresh_works(&app, &c, &rt).await, "the family is revoked");
    let login = Browser::new(&app);
    let back = login.follow(login.get(&auth_url(&c.id, &[])).await).await;
    let again = login.login(back, "dana", PASSWORD).await;
    assert_eq!(again.status(), 401, "a disabled account cannot sign in");
    run_ok(cli(&db, &["user", "enable", "dana"]), None);
    let (_, rt) = signed_in(&app, &c, "dana").await;
    assert!(refresh_works(&app, &c, &rt).await, "enabled again");
    app.stop().await;
}

async fn a_new_password_ends_sessions_and_the_old_one_stops_working(db: TestDb) {
    let app = spawn_app(&db).await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    app.user("eli").await;
    let (browser, rt) = signed_in(&app, &c, "eli").await;
    let mut weak = cli(&db, &["user", "set-password", "eli", "--password-stdin"]);
    weak.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = weak.spawn().expect("run");
    if let Some(mut pipe) = child.stdin.take() {
        use std::io::Write;
        let _ = pipe.write_all(b"password\n");
    }
    let out = child.wait_with_output().expect("done");
    assert!(!out.status.success(), "a common password is refused");
    assert!(still_signed_in(&browser, &c).await, "and nothing changed");
    run_ok(
        cli(&db, &["user", "set-password", "eli", "--password-stdin"]),
        Some("a brand new passphrase\n"),
    );
    assert!(!still_signed_in(&browser, &c).await);
    assert!(!refresh_works(&app, &c, &rt).await);
    let login = Browser::new(&app);
    let page = login.follow(login.get(&auth_url(&c.id, &[])).await).await;
    assert_eq!(
        login.login(page, "eli", PASSWORD).await.status(),
        401,
        "the old one"
    );
    let back = Browser::new(&app)
        .sign_in(&auth_url(&c.id, &[]), "eli", "a brand new passphrase")
        .await;
    assert!(query(&back).contains_key("code"), "the new one");
    app.stop().await;
}

async fn sessions_can_be_ended_and_accounts_deleted(db: TestDb) {
    let app = spawn_app(&db).await;
    let c = app.client(AuthMethod::ClientSecretBasic, true).await;
    let id = app.user("fay").await;
    let (browser, rt) = signed_in(&app, &c, "fay").await;
    let out = run_ok(cli(&db, &["user", "sessions", "revoke", &id]), None);
    assert!(
        out.contains("1 sessions") && out.contains("1 token families revoked"),
        "{out}"
    );
    assert!(!still_signed_in(&browser, &c).await);
    assert!(
        !refresh_works(&app, &c, &rt).await,
        "ending every session ends the account's tokens too"
    );
    let listed = run_ok(cli(&db, &["user", "list", "--json"]), None);
    assert!(listed.contains("\"username\":\"fay\""), "{listed}");
    run_ok(cli(&db, &["user", "delete", "fay"]), None);
    assert!(app.store.user(&id).await.ok().flatten().is_none());
    let listed = run_ok(cli(&db, &["user", "list"]), None);
    assert!(!listed.contains("fay"), "{listed}");
    app.stop().await;
}
