//! The second step of a sign-in: a code from the authenticator app, or a recovery code. The
//! sign-in waiting for it (from a password, an upstream provider, or a current sign-in that
//! a request asks to step up) is in the session; once the code is right `crate::sign_in`
//! completes it, now with `otp` and `mfa` among its methods.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tower_sessions::Session;

use super::page::{Page, for_request, no_store, retry_after, see_other};
use super::sign_in::{place, respond};
use super::texts::Texts;
use super::views::SecondFactorPage;
use crate::account::second_factor::SecondFactorError;
use crate::app::AppState;
use crate::http::client_ip::Device;
use crate::http::csrf::Csrf;
use crate::http::error::PageError;
use crate::http::oauth::authorize::RequestId;
use crate::http::session;

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    code: String,
}

/// What the account waiting for its second step can give: (passkeys, codes).
async fn offers(state: &AppState, user_id: &str) -> Result<(bool, bool), PageError> {
    let passkeys = state.webauthn.is_some() && !state.passkeys().list(user_id).await?.is_empty();
    let codes = state.second_factors().accepts_codes(user_id).await?;
    Ok((passkeys, codes))
}

fn back_to_login(request: &str) -> Response {
    see_other(&for_request("/login", request))
}

pub async fn show(
    State(state): State<AppState>,
    page: Page,
    session: Session,
    csrf: Csrf,
    Query(q): Query<RequestId>,
) -> Result<Response, PageError> {
    let t = page.for_pending(&session, &q.request).await?.1.texts();
    let now = state.clock.now();
    let Some(awaiting) = session::awaiting_second_factor(&session, now).await? else {
        return Ok(back_to_login(&q.request));
    };
    let (passkeys, codes) = offers(&state, &awaiting.sign_in.user_id).await?;
    let view = SecondFactorPage {
        t,
        csrf: csrf.token(),
        request: q.request,
        error: None,
        passkeys,
        codes,
    };
    Ok(no_store(view.into_response()))
}

/// The page again, with what went wrong.
async fn again(
    state: &AppState,
    t: &'static Texts,
    csrf: &Csrf,
    request: &str,
    user_id: Option<&str>,
    (status, message): (StatusCode, &str),
) -> Result<Response, PageError> {
    let (passkeys, codes) = match user_id {
        Some(user_id) => offers(state, user_id).await?,
        None => (false, true),
    };
    let view = SecondFactorPage {
        t,
        csrf: csrf.token(),
        request: request.to_owned(),
        error: Some(message.to_owned()),
        passkeys,
        codes,
    };
    Ok((status, no_store(view.into_response())).into_response())
}

pub async fn submit(
    State(state): State<AppState>,
    page: Page,
    session: Session,
    csrf: Csrf,
    device: Device,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    let lang = page.for_pending(&session, &form.request).await?.1;
    let t = lang.texts();
    let now = state.clock.now();
    let awaiting = session::awaiting_second_factor(&session, now).await?;
    let user_id = awaiting.as_ref().map(|a| a.sign_in.user_id.clone());
    let user_id = user_id.as_deref();
    if csrf.check(&form.csrf).is_err() {
        let failure = (StatusCode::FORBIDDEN, t.csrf_failed);
        return again(&state, t, &csrf, &form.request, user_id, failure).await;
    }
    let Some(awaiting) = awaiting else {
        return Ok(back_to_login(&form.request));
    };
    let place = place(&session, &awaiting.request_id, &device, lang).await?;
    let sign_ins = state.sign_ins(now);
    match sign_ins.code_given(awaiting, &form.code, &place).await {
        Ok(outcome) => respond(&state, &session, &csrf, &device, lang, outcome).await,
        Err(SecondFactorError::WrongCode) => {
            let failure = (StatusCode::UNAUTHORIZED, t.acct.wrong_code);
            again(&state, t, &csrf, &form.request, user_id, failure).await
        }
        Err(SecondFactorError::Throttled(secs)) => {
            let message = t.throttled_message(secs.unsigned_abs());
            let failure = (StatusCode::TOO_MANY_REQUESTS, message.as_str());
            let page = again(&state, t, &csrf, &form.request, user_id, failure).await?;
            Ok(retry_after(page, secs))
        }
        Err(SecondFactorError::Store(e)) => Err(e.into()),
        Err(other) => Err(PageError::unavailable(other)),
    }
}
