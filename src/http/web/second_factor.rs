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
use super::views::SecondFactorPage;
use crate::account::second_factor::SecondFactorError;
use crate::app::AppState;
use crate::audit::{Event, Kind};
use crate::http::client_ip::Device;
use crate::http::csrf::Csrf;
use crate::http::error::PageError;
use crate::http::oauth::authorize::RequestId;
use crate::http::session;
use crate::oidc::acr;

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
    let codes = state.second_factors().has_authenticator(user_id).await?;
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

pub async fn submit(
    State(state): State<AppState>,
    page: Page,
    session: Session,
    csrf: Csrf,
    device: Device,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    let (pending, lang) = page.for_pending(&session, &form.request).await?;
    let t = lang.texts();
    let now = state.clock.now();
    let awaiting = session::awaiting_second_factor(&session, now).await?;
    let (passkeys, codes) = match &awaiting {
        Some(a) => offers(&state, &a.sign_in.user_id).await?,
        None => (false, true),
    };
    let again = |status: StatusCode, message: &str| {
        let view = SecondFactorPage {
            t,
            csrf: csrf.token(),
            request: form.request.clone(),
            error: Some(message.to_owned()),
            passkeys,
            codes,
        };
        (status, no_store(view.into_response())).into_response()
    };
    if csrf.check(&form.csrf).is_err() {
        return Ok(again(StatusCode::FORBIDDEN, t.csrf_failed));
    }
    let Some(awaiting) = awaiting else {
        return Ok(back_to_login(&form.request));
    };
    let user_id = awaiting.sign_in.user_id.clone();
    let checked = state
        .second_factors()
        .check(&user_id, &form.code, device.ip, now)
        .await;
    let client_id = pending.as_ref().map(|p| p.request.client_id.as_str());
    let used = match checked {
        Ok(used) => used,
        Err(e) => {
            let kind = match e {
                SecondFactorError::Throttled(_) => Kind::Lockout,
                _ => Kind::SignInFailed,
            };
            let event = Event::new(kind)
                .user(user_id)
                .client(client_id)
                .ip(device.ip)
                .with("method", "otp");
            state.audit.record(event, now);
            return match e {
                SecondFactorError::WrongCode => {
                    Ok(again(StatusCode::UNAUTHORIZED, t.acct.wrong_code))
                }
                SecondFactorError::Throttled(secs) => Ok(retry_after(
                    again(
                        StatusCode::TOO_MANY_REQUESTS,
                        &t.throttled_message(secs.unsigned_abs()),
                    ),
                    secs,
                )),
                SecondFactorError::Store(e) => Err(e.into()),
                other => Err(PageError::unavailable(other)),
            };
        }
    };
    let place = place(&session, &awaiting.request_id, &device, lang).await?;
    let outcome = state
        .sign_ins(now)
        .second_factor_given(awaiting, &acr::one_time_code(), Some(used), &place)
        .await?;
    respond(&state, &session, &csrf, &device, lang, outcome).await
}
