//! The page views: askama templates under `templates/`, answered as `text/html` by axum.
//!
//! askama escapes every value in `.html` templates; no template uses `|safe`.

use askama::Template;
use askama_web::WebTemplate;

use super::i18n::Texts;

/// The sign-in form.
#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub t: &'static Texts,
    pub csrf: String,
    /// The pending authorization request's id; may be empty.
    pub request: String,
    /// Prefilled username (for example from `login_hint`).
    pub username: String,
    pub error: Option<String>,
    pub client_name: Option<String>,
    pub signup_enabled: bool,
    /// Whether "forgot password" is offered (mail is configured).
    pub reset_by_mail: bool,
    /// Whether the passkey button is offered (the issuer is on a domain).
    pub passkeys: bool,
    /// Upstream providers' buttons, in the order configured.
    pub providers: Vec<ProviderButton>,
}

/// A "sign in with …" button: a form that POSTs with the page's CSRF token (no script), in
/// the provider's customary look.
pub struct ProviderButton {
    /// `/login/{provider}`.
    pub action: String,
    /// The pending request (may be empty).
    pub request: String,
    /// Confirming a pending link with a provider already linked to the account.
    pub confirm: bool,
    pub label: String,
    /// `google`, `kakao`, `naver` or `oidc`: the button's style.
    pub class: &'static str,
}

/// Confirming that an existing account is yours before an upstream account is linked to it.
#[derive(Template, WebTemplate)]
#[template(path = "link.html")]
pub struct LinkPage {
    pub t: &'static Texts,
    pub csrf: String,
    pub request: String,
    /// The provider being linked, by name.
    pub provider: String,
    /// The existing account's address (the one the provider gave too).
    pub account: String,
    pub has_password: bool,
    /// Providers already linked to that account, to confirm with instead.
    pub providers: Vec<ProviderButton>,
    pub error: Option<String>,
}

/// One way to sign in, on the account page.
pub struct MethodView {
    pub label: String,
    /// The provider's id, for unlinking; empty for the password.
    pub provider: String,
    pub detail: Option<String>,
    pub can_unlink: bool,
}

/// A provider that can still be linked, on the account page.
pub struct LinkOption {
    pub id: String,
    pub label: String,
    pub class: &'static str,
}

/// One browser session on the account page.
pub struct SessionRowView {
    /// The session id's hash, to end it.
    pub id: String,
    pub device: String,
    pub ip: Option<String>,
    pub signed_in: Option<String>,
    pub last_seen: String,
    pub current: bool,
}

/// An app the person allowed, on the account page.
pub struct AppView {
    pub client_id: String,
    pub name: String,
    pub scope: String,
    pub since: String,
}

/// The signed-in person's account: profile, password, second factors, ways to sign in,
/// sessions, apps allowed, deletion.
#[derive(Template, WebTemplate)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub t: &'static Texts,
    pub csrf: String,
    pub user_name: String,
    pub username: String,
    pub name: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub mail_on: bool,
    pub has_password: bool,
    pub status: Option<String>,
    pub error: Option<String>,
    pub methods: Vec<MethodView>,
    pub link_options: Vec<LinkOption>,
    pub sessions: Vec<SessionRowView>,
    pub apps: Vec<AppView>,
    /// When the authenticator app was set up, if it is on.
    pub totp_since: Option<String>,
    pub recovery_left: i64,
    pub passkeys_on: bool,
    pub passkeys: Vec<PasskeyView>,
    /// Other sessions signed in with one factor while the account has two (offered to end).
    pub one_factor_sessions: usize,
    /// What a change to how the account is entered asks for (`account::reauth`).
    pub asks_password: bool,
    pub asks_code: bool,
}

/// A passkey on the account page.
pub struct PasskeyView {
    pub id: String,
    pub name: String,
    pub created: String,
    pub last_used: Option<String>,
}

/// The second step of a sign-in: a code from the authenticator app or a recovery code.
#[derive(Template, WebTemplate)]
#[template(path = "second_factor.html")]
pub struct SecondFactorPage {
    pub t: &'static Texts,
    pub csrf: String,
    pub request: String,
    pub error: Option<String>,
    /// Whether the waiting account has passkeys to offer.
    pub passkeys: bool,
    /// Whether it has an authenticator app (codes and recovery codes).
    pub codes: bool,
}

/// Setting up an authenticator app: the QR code, the key, the confirming code.
#[derive(Template, WebTemplate)]
#[template(path = "totp_setup.html")]
pub struct TotpSetupPage {
    pub t: &'static Texts,
    pub csrf: String,
    pub secret: String,
    pub otpauth_uri: String,
    pub qr: Option<String>,
    pub error: Option<String>,
}

/// Recovery codes, shown once.
#[derive(Template, WebTemplate)]
#[template(path = "recovery_codes.html")]
pub struct RecoveryCodesPage {
    pub t: &'static Texts,
    pub codes: Vec<String>,
}

/// A short message page: what happened, and where to go next.
#[derive(Template, WebTemplate)]
#[template(path = "notice.html")]
pub struct NoticePage {
    pub t: &'static Texts,
    pub title: String,
    /// Paragraphs; the first is announced as the status.
    pub lines: Vec<String>,
    pub link: Option<(String, String)>,
}

/// "Forgot password": asks for the username or address.
#[derive(Template, WebTemplate)]
#[template(path = "forgot.html")]
pub struct ForgotPage {
    pub t: &'static Texts,
    pub csrf: String,
    pub request: String,
    pub error: Option<String>,
}

/// The new-password form a reset link opens.
#[derive(Template, WebTemplate)]
#[template(path = "reset.html")]
pub struct ResetPage {
    pub t: &'static Texts,
    pub csrf: String,
    pub token: String,
    pub username: String,
    pub errors: Vec<String>,
}

/// The button that uses an address link (a form around one button).
#[derive(Template, WebTemplate)]
#[template(path = "verify.html")]
pub struct VerifyPage {
    pub t: &'static Texts,
    pub csrf: String,
    pub token: String,
    /// The account the link is for, when the browser is not signed in to it.
    pub username: Option<String>,
    /// Not signed in to the link's account: its password confirms (or sign in first, for
    /// an account without one).
    pub ask_password: bool,
    pub sign_in_first: bool,
    pub error: Option<String>,
}

/// One requested scope on the consent page.
pub struct ScopeView {
    pub name: String,
    pub description: &'static str,
}

/// Asks the signed-in user to allow or deny a client's request.
#[derive(Template, WebTemplate)]
#[template(path = "consent.html")]
pub struct ConsentPage {
    pub t: &'static Texts,
    pub csrf: String,
    pub request: String,
    pub client_name: String,
    pub user_name: String,
    pub scopes: Vec<ScopeView>,
}

/// The sign-up form, refilled (except the password) when it comes back with errors.
#[derive(Template, WebTemplate)]
#[template(path = "signup.html")]
pub struct SignupPage {
    pub t: &'static Texts,
    pub csrf: String,
    pub request: String,
    pub username: String,
    pub email: String,
    pub name: String,
    pub errors: Vec<String>,
}

/// An error shown to a person (not to a client).
#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub t: &'static Texts,
    pub title: String,
    pub message: String,
    /// Shown so that a report can be matched with the logs; hidden when empty.
    pub request_id: String,
    /// The way back (the start page unless the error knows better).
    pub back_href: String,
    pub back_label: &'static str,
}

/// The sign-out question (`done == false`) or its confirmation.
#[derive(Template, WebTemplate)]
#[template(path = "logout.html")]
pub struct LogoutPage {
    pub t: &'static Texts,
    pub csrf: String,
    pub done: bool,
}

/// Shown after signing in without a pending authorization request.
#[derive(Template, WebTemplate)]
#[template(path = "signed_in.html")]
pub struct SignedInPage {
    pub t: &'static Texts,
    pub user_name: String,
    pub csrf: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::web::i18n::{EN, KO};

    #[test]
    fn login_escapes_and_links_to_signup() -> Result<(), askama::Error> {
        let html = LoginPage {
            t: &EN,
            csrf: "c\"srf".into(),
            request: "a b&c".into(),
            username: "<script>alert(1)</script>".into(),
            error: Some("<b>bad</b>".into()),
            client_name: Some("Evil & Co".into()),
            signup_enabled: true,
            reset_by_mail: true,
            passkeys: true,
            providers: vec![ProviderButton {
                action: "/login/kakao".into(),
                request: "a b&c".into(),
                confirm: false,
                label: "카카오 로그인".into(),
                class: "kakao",
            }],
        }
        .render()?;
        assert!(html.starts_with("<!doctype html>"));
        assert!(html.contains(r#"<html lang="en">"#));
        assert!(!html.contains("<script>"));
        assert!(!html.contains("<b>bad</b>"));
        // askama writes `<` as `&#60;` (or `&lt;`): either way, escaped.
        assert!(html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"));
        assert!(html.contains("Evil &#38; Co") || html.contains("Evil &amp; Co"));
        assert!(html.contains(r#"role="alert""#));
        assert!(html.contains("/signup?request=a%20b%26c"));
        // A provider button is a form that carries the CSRF token.
        let form = html
            .split_once(r#"<form method="post" action="/login/kakao">"#)
            .and_then(|(_, rest)| rest.split_once("</form>"))
            .map(|(form, _)| form)
            .unwrap_or_default();
        assert!(
            form.contains(r#"name="csrf" value="c&#34;srf""#)
                || form.contains(r#"name="csrf" value="c&quot;srf""#),
            "{form}"
        );
        assert!(form.contains(r#"class="provider kakao""#), "{form}");
        assert!(!html.contains("style="));
        Ok(())
    }

    #[test]
    fn login_without_extras() -> Result<(), askama::Error> {
        let html = LoginPage {
            t: &KO,
            csrf: "x".into(),
            request: String::new(),
            username: String::new(),
            error: None,
            client_name: None,
            signup_enabled: false,
            reset_by_mail: false,
            passkeys: false,
            providers: vec![],
        }
        .render()?;
        assert!(html.contains(r#"<html lang="ko">"#));
        assert!(!html.contains("role=\"alert\""));
        assert!(!html.contains("/signup"));
        assert!(
            !html.contains("class=\"providers\""),
            "no providers, no buttons"
        );
        Ok(())
    }

    #[test]
    fn consent_has_both_decisions() -> Result<(), askama::Error> {
        let html = ConsentPage {
            t: &KO,
            csrf: "x".into(),
            request: "r".into(),
            client_name: "앱".into(),
            user_name: "me".into(),
            scopes: vec![ScopeView {
                name: "email".into(),
                description: "이메일 주소",
            }],
        }
        .render()?;
        assert!(html.contains(r#"name="decision" value="allow""#));
        assert!(html.contains(r#"name="decision" value="deny""#));
        assert!(html.contains("이메일 주소"));
        Ok(())
    }

    #[test]
    fn other_pages_render() -> Result<(), askama::Error> {
        let signup = SignupPage {
            t: &EN,
            csrf: "x".into(),
            request: String::new(),
            username: "u".into(),
            email: "e@example.com".into(),
            name: String::new(),
            errors: vec!["nope".into()],
        }
        .render()?;
        assert!(signup.contains("nope") && signup.contains(r#"autocomplete="new-password""#));
        let error = ErrorPage {
            t: &EN,
            title: "T".into(),
            message: "M".into(),
            request_id: "rid-1".into(),
            back_href: "/login?request=r%201".into(),
            back_label: EN.back_to_login,
        }
        .render()?;
        assert!(error.contains("rid-1"));
        assert!(
            error.contains(r#"href="/login?request=r%201""#) && error.contains("Back to sign-in")
        );
        let ask = LogoutPage {
            t: &EN,
            csrf: "x".into(),
            done: false,
        }
        .render()?;
        assert!(ask.contains(r#"action="/logout""#));
        let done = LogoutPage {
            t: &EN,
            csrf: "x".into(),
            done: true,
        }
        .render()?;
        assert!(done.contains(EN.logged_out) && !done.contains("<form"));
        let signed_in = SignedInPage {
            t: &EN,
            user_name: "me".into(),
            csrf: "x".into(),
        }
        .render()?;
        assert!(signed_in.contains(r#"action="/logout""#));
        Ok(())
    }
}
