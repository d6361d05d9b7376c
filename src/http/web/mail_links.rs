//! The pages behind mailed links: confirming an address, "forgot password" and the reset form.
//! Each link opens a page with a button, and only the button's post uses the link: mail
//! scanners that fetch links do not use them up.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::i18n::{Lang, Texts};
use super::page::{Page, for_request, no_store};
use super::signup::invalid_message;
use super::views::{ForgotPage, NoticePage, ResetPage, VerifyPage};
use tower_sessions::Session;

use crate::account::links::{ConfirmError, Confirmed, LinkAccount, LinkUser, ResetError};
use crate::account::proof_of_address::Removed;
use crate::account::sign_in::SignIn;
use crate::app::AppState;
use crate::audit::{Event, EventKind};
use crate::http::client_ip::ClientIp;
use crate::http::csrf::Csrf;
use crate::http::error::PageError;
use crate::http::session::MaybeSignedIn;

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
}

#[derive(Deserialize)]
pub struct ForgotQuery {
    #[serde(default)]
    request: String,
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    login: String,
}

fn link_invalid() -> PageError {
    PageError::new(StatusCode::BAD_REQUEST, |t| t.acct.link_invalid)
        .back("/login", |t| t.back_to_login)
}

pub fn notice(
    t: &'static Texts,
    title: &str,
    lines: Vec<String>,
    link: Option<(String, &str)>,
) -> Response {
    no_store(
        NoticePage {
            t,
            title: title.to_owned(),
            lines,
            link: link.map(|(href, label)| (href, label.to_owned())),
        }
        .into_response(),
    )
}

/// `GET /email/verify?token=…`: a button that confirms the address — with the account's
/// password when this browser is not signed in to it (`Links::confirm_email`).
pub async fn verify_show(
    State(state): State<AppState>,
    page: Page,
    csrf: Csrf,
    signed_in: MaybeSignedIn,
    Query(q): Query<TokenQuery>,
) -> Result<Response, PageError> {
    let t = page.lang(None).texts();
    let now = state.clock.now();
    let account = state
        .links()
        .address_link_account(&q.token, now)
        .await?
        .ok_or_else(link_invalid)?;
    let view = verify_page(t, &csrf, q.token, &account, signed_in.sign_in(), None);
    Ok(no_store(view.into_response()))
}

fn verify_page(
    t: &'static Texts,
    csrf: &Csrf,
    token: String,
    account: &LinkAccount,
    sign_in: Option<&SignIn>,
    error: Option<&str>,
) -> VerifyPage {
    let theirs = sign_in.is_some_and(|s| s.user_id == account.user_id);
    VerifyPage {
        t,
        csrf: csrf.token(),
        token,
        username: (!theirs).then(|| account.username.clone()),
        ask_password: !theirs && account.has_password,
        sign_in_first: !theirs && !account.has_password,
        error: error.map(str::to_owned),
    }
}

pub async fn verify_submit(
    State(state): State<AppState>,
    page: Page,
    session: Session,
    csrf: Csrf,
    signed_in: MaybeSignedIn,
    ClientIp(ip): ClientIp,
    Form(form): Form<TokenForm>,
) -> Result<Response, PageError> {
    let lang = page.lang(None);
    let t = lang.texts();
    csrf.check(&form.csrf)?;
    let now = state.clock.now();
    let links = state.links();
    let by = match signed_in.sign_in() {
        Some(sign_in) if form.password.is_empty() => LinkUser::SignedIn(sign_in),
        _ => LinkUser::Password {
            password: form.password,
            ip,
        },
    };
    let by_session = matches!(by, LinkUser::SignedIn(_));
    let ttl = state.config.lifetimes.access_token;
    let confirmed = match links
        .confirm_email(&form.token, by, lang.code(), now, ttl)
        .await
    {
        Ok(confirmed) => confirmed,
        Err(e @ (ConfirmError::ShowWayIn | ConfirmError::SignInFirst)) => {
            let account = links
                .address_link_account(&form.token, now)
                .await?
                .ok_or_else(link_invalid)?;
            let error = matches!(e, ConfirmError::ShowWayIn).then_some(t.acct.wrong_password);
            let view = verify_page(t, &csrf, form.token, &account, None, error);
            return Ok((StatusCode::UNAUTHORIZED, no_store(view.into_response())).into_response());
        }
        Err(ConfirmError::Throttled(secs)) => return Err(PageError::throttled(secs)),
        Err(ConfirmError::Store(e)) => return Err(e.into()),
        Err(ConfirmError::Hash(e)) => return Err(e.into()),
    };
    let (user_id, action, removed) = match confirmed {
        None => return Err(link_invalid()),
        Some(Confirmed::Verified { user_id, removed }) => (user_id, "email_verified", removed),
        Some(Confirmed::Changed { user_id, removed }) => (user_id, "email_changed", removed),
        Some(Confirmed::Stale) => {
            return Err(
                PageError::new(StatusCode::CONFLICT, |t| t.acct.email_changed_since)
                    .back("/account", |t| t.back_to_account),
            );
        }
        Some(Confirmed::Taken) => {
            return Err(
                PageError::new(StatusCode::CONFLICT, |t| t.signup_unavailable)
                    .back("/account", |t| t.back_to_account),
            );
        }
    };
    let mut event = Event::new(EventKind::Account)
        .user(user_id)
        .ip(ip)
        .with("action", action);
    let mut lines = vec![t.acct.email_verified_message.to_owned()];
    if let Some(removed) = &removed {
        event = event
            .with("first_proof", true)
            .with("sessions_ended", removed.ended.sessions)
            .with("grants_revoked", removed.ended.grants)
            .with("ways_removed", removed_ways(t, removed).len());
        if removed.any_way_in() {
            lines.push(t.acct.ways_removed.to_owned());
            lines.extend(removed_ways(t, removed));
        }
        if by_session {
            // The proof ended every session of the account; the one that used the link
            // stays, under a new id.
            session
                .cycle_id()
                .await
                .map_err(crate::http::session::SessionError::from)?;
            csrf.rotate();
        }
    }
    state.audit.record(event, now);
    Ok(notice(
        t,
        t.acct.email_verified_title,
        lines,
        Some(("/account".to_owned(), t.account_link)),
    ))
}

/// The ways a first proof removed, one line each.
fn removed_ways(t: &Texts, removed: &Removed) -> Vec<String> {
    let mut lines = Vec::new();
    if removed.password_replaced {
        lines.push(format!("– {}", t.acct.way_earlier_password));
    }
    lines.extend(way_lines(
        t,
        &removed.providers,
        &removed.passkeys,
        removed.authenticator,
    ));
    lines
}

/// Providers, passkeys and the authenticator app, one line each.
fn way_lines(
    t: &Texts,
    providers: &[String],
    passkeys: &[String],
    authenticator: bool,
) -> Vec<String> {
    let mut lines: Vec<String> = providers
        .iter()
        .map(|p| format!("– {} {p}", t.acct.way_provider))
        .collect();
    lines.extend(
        passkeys
            .iter()
            .map(|p| format!("– {} “{p}”", t.acct.way_passkey)),
    );
    if authenticator {
        lines.push(format!("– {}", t.acct.way_authenticator));
    }
    lines
}

/// Reset by mail needs mail.
fn require_mail(state: &AppState) -> Result<(), PageError> {
    if state.mailer.is_on() {
        Ok(())
    } else {
        Err(
            PageError::new(StatusCode::NOT_FOUND, |t| t.acct.forgot_unavailable)
                .back("/login", |t| t.back_to_login),
        )
    }
}

pub async fn forgot_show(
    State(state): State<AppState>,
    page: Page,
    csrf: Csrf,
    Query(q): Query<ForgotQuery>,
) -> Result<Response, PageError> {
    let t = page.lang(None).texts();
    require_mail(&state)?;
    let view = ForgotPage {
        t,
        csrf: csrf.token(),
        request: q.request,
        error: None,
    };
    Ok(no_store(view.into_response()))
}

/// Always the same answer, at once: the lookup and the mail happen after the response, so
/// neither the page nor its timing says whether the account exists.
pub async fn forgot_submit(
    State(state): State<AppState>,
    page: Page,
    csrf: Csrf,
    Form(form): Form<ForgotForm>,
) -> Result<Response, PageError> {
    let lang: Lang = page.lang(None);
    let t = lang.texts();
    require_mail(&state)?;
    if csrf.check(&form.csrf).is_err() {
        let view = ForgotPage {
            t,
            csrf: csrf.token(),
            request: form.request,
            error: Some(t.csrf_failed.to_owned()),
        };
        return Ok((StatusCode::FORBIDDEN, no_store(view.into_response())).into_response());
    }
    let now = state.clock.now();
    let background = state.clone();
    let login = form.login;
    tokio::spawn(async move {
        if let Err(error) = background
            .links()
            .request_reset(&login, lang.code(), now)
            .await
        {
            tracing::warn!(%error, "password reset request not handled");
        }
    });
    Ok(notice(
        t,
        t.acct.forgot_title,
        vec![t.acct.forgot_sent.to_owned()],
        Some((for_request("/login", &form.request), t.back_to_login)),
    ))
}

pub async fn reset_show(
    State(state): State<AppState>,
    page: Page,
    csrf: Csrf,
    Query(q): Query<TokenQuery>,
) -> Result<Response, PageError> {
    let t = page.lang(None).texts();
    let now = state.clock.now();
    let user = state
        .links()
        .reset_link_account(&q.token, now)
        .await?
        .ok_or_else(link_invalid)?;
    let view = ResetPage {
        t,
        csrf: csrf.token(),
        token: q.token,
        username: user.username,
        errors: Vec::new(),
    };
    Ok(no_store(view.into_response()))
}

pub async fn reset_submit(
    State(state): State<AppState>,
    page: Page,
    csrf: Csrf,
    ClientIp(ip): ClientIp,
    Form(form): Form<TokenForm>,
) -> Result<Response, PageError> {
    let lang = page.lang(None);
    let t = lang.texts();
    csrf.check(&form.csrf)?;
    let now = state.clock.now();
    let links = state.links();
    let ttl = state.config.lifetimes.access_token;
    match links
        .reset_password(&form.token, form.password, lang.code(), now, ttl)
        .await
    {
        Ok(reset) => {
            let mut event = Event::new(EventKind::Account)
                .user(reset.user.id)
                .ip(ip)
                .with("action", "password_reset")
                .with("sessions_ended", reset.ended.sessions)
                .with("grants_revoked", reset.ended.grants);
            let mut lines = vec![t.acct.reset_done.to_owned()];
            if let Some(removed) = &reset.removed {
                event = event
                    .with("first_proof", true)
                    .with("ways_removed", removed_ways(t, removed).len());
                if removed.any_way_in() {
                    lines.push(t.acct.ways_removed.to_owned());
                    lines.extend(removed_ways(t, removed));
                }
            }
            state.audit.record(event, now);
            let left = &reset.remaining;
            let link = if left.beyond_password() {
                lines.push(t.acct.ways_remaining.to_owned());
                lines.extend(way_lines(
                    t,
                    &left.providers,
                    &left.passkeys,
                    left.authenticator,
                ));
                ("/account".to_owned(), t.account_link)
            } else {
                lines.push(t.acct.only_password_left.to_owned());
                ("/login".to_owned(), t.login_link)
            };
            Ok(notice(t, t.acct.reset_title, lines, Some(link)))
        }
        Err(ResetError::LinkInvalid) => Err(link_invalid()),
        Err(ResetError::Password(problems)) => {
            let username = links
                .reset_link_account(&form.token, now)
                .await?
                .map(|u| u.username)
                .unwrap_or_default();
            let view = ResetPage {
                t,
                csrf: csrf.token(),
                token: form.token,
                username,
                errors: problems
                    .iter()
                    .map(|p| invalid_message(t, p).to_owned())
                    .collect(),
            };
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                no_store(view.into_response()),
            )
                .into_response())
        }
        Err(ResetError::Store(e)) => Err(e.into()),
        Err(ResetError::Hash(e)) => Err(e.into()),
    }
}
