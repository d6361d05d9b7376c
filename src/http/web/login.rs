//! The sign-in page: shows the form, checks the password through `account::sign_in`, and
//! hands the new sign-in to `crate::sign_in` to complete (`super::sign_in` answers it).

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tower_sessions::Session;

use super::federation::login_buttons;
use super::page::{Page, no_store, retry_after};
use super::sign_in::{complete, place};
use super::views::LoginPage;
use crate::account::sign_in::PasswordSignInError;
use crate::app::AppState;
use crate::http::client_ip::Device;
use crate::http::csrf::Csrf;
use crate::http::error::PageError;
use crate::http::oauth::authorize::RequestId;
use crate::http::session;
use crate::oauth::authorize::Pending;
use crate::sign_in::Attempt;

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

pub async fn show(
    State(state): State<AppState>,
    page: Page,
    session: Session,
    csrf: Csrf,
    Query(q): Query<RequestId>,
) -> Result<Response, PageError> {
    let form = LoginForm {
        csrf: String::new(),
        request: q.request,
        username: String::new(),
        password: String::new(),
    };
    let pending = session::get_pending(&session, &form.request).await?;
    render(&state, &page, &csrf, &form, pending.as_ref(), None).await
}

/// The form, prefilled from the pending request (login_hint, client name, language) and from
/// a failed attempt.
async fn render(
    state: &AppState,
    page: &Page,
    csrf: &Csrf,
    form: &LoginForm,
    pending: Option<&Pending>,
    failure: Option<(StatusCode, String)>,
) -> Result<Response, PageError> {
    let lang = page.lang(pending.and_then(|p| p.request.ui_locales.as_deref()));
    let client_name = match pending {
        Some(p) => {
            let keys = state.keys.current();
            let ctx = state.oauth(&keys, state.clock.now());
            ctx.client(&p.request.client_id)
                .await?
                .map(|c| c.record.name)
        }
        None => None,
    };
    let username = match (&form.username, pending) {
        (typed, _) if !typed.is_empty() => typed.clone(),
        (_, Some(p)) => p.request.login_hint.clone().unwrap_or_default(),
        _ => String::new(),
    };
    let (status, error) = match failure {
        Some((status, message)) => (status, Some(message)),
        None => (StatusCode::OK, None),
    };
    let view = LoginPage {
        t: lang.texts(),
        csrf: csrf.token(),
        request: if pending.is_some() {
            form.request.clone()
        } else {
            String::new()
        },
        username,
        error,
        client_name,
        signup_enabled: state.config.signup_enabled,
        reset_by_mail: state.mailer.is_on(),
        passkeys: state.webauthn.is_some(),
        providers: login_buttons(
            &state.federation,
            lang.texts(),
            if pending.is_some() { &form.request } else { "" },
        ),
    };
    Ok((status, no_store(view.into_response())).into_response())
}

pub async fn submit(
    State(state): State<AppState>,
    page: Page,
    session: Session,
    csrf: Csrf,
    device: Device,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    let (pending, lang) = page.for_pending(&session, &form.request).await?;
    let t = lang.texts();
    let mut wait = None;
    let failure = if csrf.check(&form.csrf).is_err() {
        (StatusCode::FORBIDDEN, t.csrf_failed.to_owned())
    } else {
        let place = place(&session, &form.request, &device, lang).await?;
        let attempt = state
            .sign_ins(state.clock.now())
            .password(&form.username, form.password.clone(), &place)
            .await;
        match attempt {
            Ok(signed_in) => {
                let attempt = Attempt::new(signed_in, &form.request);
                return complete(&state, &session, &csrf, &device, lang, attempt).await;
            }
            Err(PasswordSignInError::Throttled(secs)) => {
                wait = Some(secs);
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    t.throttled_message(secs.unsigned_abs()),
                )
            }
            Err(PasswordSignInError::Invalid) => {
                (StatusCode::UNAUTHORIZED, t.invalid_credentials.to_owned())
            }
            Err(PasswordSignInError::Store(e)) => return Err(e.into()),
            Err(PasswordSignInError::Password(e)) => return Err(e.into()),
        }
    };
    let answer = render(&state, &page, &csrf, &form, pending.as_ref(), Some(failure)).await?;
    Ok(match wait {
        Some(secs) => retry_after(answer, secs),
        None => answer,
    })
}
