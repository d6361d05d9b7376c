//! The signup page (switchable off with `signup_enabled = false`).

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tower_sessions::Session;

use super::i18n::{Lang, Texts};
use super::mail_links::notice;
use super::page::{Page, for_request, no_store};
use super::sign_in::complete;
use super::views::SignupPage;
use crate::account::sign_in::SignIn;
use crate::account::user::{CreateUserError, InvalidUser, NewUser, Role, SignedUp};
use crate::app::AppState;
use crate::http::client_ip::Device;
use crate::http::csrf::Csrf;
use crate::http::error::PageError;
use crate::http::oauth::authorize::RequestId;
use crate::sign_in::Attempt;

#[derive(Deserialize)]
pub struct SignupForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
}

/// The page language (from the pending request, if any); signup must be on.
async fn open_page(
    state: &AppState,
    page: &Page,
    session: &Session,
    request: &str,
) -> Result<Lang, PageError> {
    let (_, lang) = page.for_pending(session, request).await?;
    if !state.config.signup_enabled {
        return Err(PageError::new(StatusCode::NOT_FOUND, |t| t.signup_disabled));
    }
    Ok(lang)
}

pub async fn show(
    State(state): State<AppState>,
    page: Page,
    session: Session,
    csrf: Csrf,
    Query(q): Query<RequestId>,
) -> Result<Response, PageError> {
    let lang = open_page(&state, &page, &session, &q.request).await?;
    let view = SignupPage {
        t: lang.texts(),
        csrf: csrf.token(),
        request: q.request,
        username: String::new(),
        email: String::new(),
        name: String::new(),
        errors: Vec::new(),
    };
    Ok(no_store(view.into_response()))
}

/// What the page says about a problem with the account details.
pub fn invalid_message(t: &Texts, problem: &InvalidUser) -> &'static str {
    match problem {
        InvalidUser::Username => t.username_invalid,
        InvalidUser::Email => t.email_invalid,
        InvalidUser::PasswordTooShort => t.password_too_short,
        InvalidUser::PasswordTooLong => t.password_too_long,
        InvalidUser::PasswordCommon => t.password_common,
        InvalidUser::NameTooLong => t.name_too_long,
        InvalidUser::UsernameTaken => t.acct.username_taken,
        InvalidUser::Unavailable => t.signup_unavailable,
    }
}

pub async fn submit(
    State(state): State<AppState>,
    page: Page,
    session: Session,
    csrf: Csrf,
    device: Device,
    Form(form): Form<SignupForm>,
) -> Result<Response, PageError> {
    let lang = open_page(&state, &page, &session, &form.request).await?;
    let t = lang.texts();
    let again = |errors: Vec<String>, csrf: String, status: StatusCode| {
        let view = SignupPage {
            t,
            csrf,
            request: form.request.clone(),
            username: form.username.clone(),
            email: form.email.clone(),
            name: form.name.clone(),
            errors,
        };
        Ok((status, no_store(view.into_response())).into_response())
    };
    let token = csrf.token();
    if csrf.check(&form.csrf).is_err() {
        return again(vec![t.csrf_failed.to_owned()], token, StatusCode::FORBIDDEN);
    }
    let now = state.clock.now();
    let new = NewUser {
        username: form.username.trim().to_owned(),
        email: form.email.trim().to_owned(),
        name: Some(form.name.trim().to_owned()),
        password: Some(form.password.clone()),
        role: Role::User,
        email_verified: false,
    };
    let signed_up = match state.accounts().sign_up(new, Some(device.ip), now).await {
        Ok(outcome) => outcome,
        Err(CreateUserError::Invalid(problems)) => {
            let errors = problems
                .iter()
                .map(|p| invalid_message(t, p).to_owned())
                .collect();
            return again(errors, token, StatusCode::UNPROCESSABLE_ENTITY);
        }
        Err(CreateUserError::Throttled(wait)) => {
            return Err(PageError::throttled(wait));
        }
        Err(CreateUserError::Password(e)) => return Err(e.into()),
        Err(e) => return Err(PageError::unavailable(e)),
    };
    let links = state.links();
    let mail_on = state.mailer.is_on();
    // With mail, a new address and a known one get the same page ("check your mail"); the
    // owner of a known one is told by mail. Without mail there is no one else to tell.
    match signed_up {
        SignedUp::Created(user) if mail_on => {
            links.send_verification(&user, lang.code(), now).await?;
            Ok(check_mail(t, &form.email, &form.request))
        }
        SignedUp::AddressTaken(owner) if mail_on => {
            links
                .notify_signup_attempt(&owner, lang.code(), now)
                .await?;
            Ok(check_mail(t, &form.email, &form.request))
        }
        SignedUp::Created(user) => {
            let attempt = Attempt::new(SignIn::password(user.id, now), &form.request);
            complete(&state, &session, &csrf, &device, lang, attempt).await
        }
        SignedUp::AddressTaken(_) => again(
            vec![t.signup_unavailable.to_owned()],
            token,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    }
}

/// "We sent a message to …; then sign in."
fn check_mail(t: &'static Texts, email: &str, request: &str) -> Response {
    notice(
        t,
        t.acct.check_mail_title,
        vec![
            format!("{} {}", t.acct.check_mail_sent_to, email.trim()),
            t.acct.check_mail_next.to_owned(),
        ],
        Some((for_request("/login", request), t.acct.continue_to_sign_in)),
    )
}
