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
use crate::account::links::{Confirmed, ResetError};
use crate::app::AppState;
use crate::audit::{Event, Kind};
use crate::http::client_ip::ClientIp;
use crate::http::csrf::Csrf;
use crate::http::error::PageError;

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

/// `GET /email/verify?token=…`: a button that confirms the address.
pub async fn verify_show(
    page: Page,
    csrf: Csrf,
    Query(q): Query<TokenQuery>,
) -> Result<Response, PageError> {
    let t = page.lang(None).texts();
    let view = VerifyPage {
        t,
        csrf: csrf.token(),
        token: q.token,
    };
    Ok(no_store(view.into_response()))
}

pub async fn verify_submit(
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
    let confirmed = state
        .links()
        .confirm_email(&form.token, lang.code(), now)
        .await?;
    let (user_id, action) = match confirmed {
        None => return Err(link_invalid()),
        Some(Confirmed::Verified(user_id)) => (user_id, "email_verified"),
        Some(Confirmed::Changed(user_id)) => (user_id, "email_changed"),
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
    let event = Event::new(Kind::Account)
        .user(user_id)
        .ip(ip)
        .with("action", action);
    state.audit.record(event, now);
    Ok(notice(
        t,
        t.acct.email_verified_title,
        vec![t.acct.email_verified_message.to_owned()],
        Some(("/account".to_owned(), t.account_link)),
    ))
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
    let t = page.lang(None).texts();
    csrf.check(&form.csrf)?;
    let now = state.clock.now();
    let links = state.links();
    let ttl = state.config.lifetimes.access_token;
    match links
        .reset_password(&form.token, form.password, now, ttl)
        .await
    {
        Ok((user, ended)) => {
            let event = Event::new(Kind::Account)
                .user(user.id)
                .ip(ip)
                .with("action", "password_reset")
                .with("sessions_ended", ended.sessions)
                .with("grants_revoked", ended.grants);
            state.audit.record(event, now);
            Ok(notice(
                t,
                t.acct.reset_title,
                vec![t.acct.reset_done.to_owned()],
                Some(("/login".to_owned(), t.login_link)),
            ))
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
