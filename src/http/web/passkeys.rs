//! The passkey prompts behind the pages' buttons (`static/passkeys.js`): JSON in, JSON out.
//! Each prompt is two calls — options (the challenge, kept in the session) and the browser's
//! answer — and every answer is checked against the state kept for it, once.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use tower_sessions::Session;
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

use super::page::Page;
use super::sign_in::{complete, place, respond};
use crate::account::passkeys::{Ceremony, PasskeyError};
use crate::account::reauth::{Offered, ReauthError};
use crate::account::sign_in::SignIn;
use crate::app::AppState;
use crate::audit::{Event, Kind};
use crate::http::client_ip::Device;
use crate::http::csrf::Csrf;
use crate::http::error::PageError;
use crate::http::session::{self, MaybeSignedIn};
use crate::sign_in::Attempt;

#[derive(Deserialize)]
pub struct OptionsBody {
    #[serde(default)]
    csrf: String,
    /// `sign-in` (no username) or `second-factor` (after a password).
    #[serde(default)]
    purpose: String,
    /// Registering asks again who this is (`account::reauth`): the current password, or a
    /// code of the authenticator app.
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    code: String,
}

#[derive(Deserialize)]
pub struct AssertionBody {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request: String,
    credential: PublicKeyCredential,
}

#[derive(Deserialize)]
pub struct RegistrationBody {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    credential: RegisterPublicKeyCredential,
}

/// An answer the script can show: `{"error": code}` with a status.
fn refusal(status: StatusCode, code: &str) -> Response {
    (status, Json(json!({ "error": code }))).into_response()
}

fn passkey_refusal(e: PasskeyError) -> Result<Response, PageError> {
    match e {
        PasskeyError::Unavailable => Ok(refusal(StatusCode::NOT_FOUND, "passkeys_off")),
        PasskeyError::Refused(why) => {
            tracing::info!(%why, "passkey refused");
            Ok(refusal(StatusCode::UNAUTHORIZED, "passkey_refused"))
        }
        PasskeyError::Unknown => Ok(refusal(StatusCode::UNAUTHORIZED, "passkey_unknown")),
        PasskeyError::Store(e) => Err(e.into()),
    }
}

/// A call from the account page: its CSRF token right and someone signed in, or the refusal.
fn account_call(
    csrf: &Csrf,
    token: &str,
    signed_in: MaybeSignedIn,
) -> Result<crate::http::session::SignedIn, (StatusCode, &'static str)> {
    if csrf.check(token).is_err() {
        return Err((StatusCode::FORBIDDEN, "csrf"));
    }
    signed_in.0.ok_or((StatusCode::UNAUTHORIZED, "sign_in"))
}

/// The options for the browser's prompt; the ceremony's state stays in the session.
async fn offer<T: serde::Serialize>(
    session: &Session,
    started: Result<(T, Ceremony), PasskeyError>,
    now: i64,
) -> Result<Response, PageError> {
    let (options, ceremony) = match started {
        Ok(started) => started,
        Err(e) => return passkey_refusal(e),
    };
    session::put_passkey_ceremony(session, ceremony, now).await?;
    Ok(Json(options).into_response())
}

/// Where the script sends the browser next: the `Location` of a page answer.
fn go(response: Response) -> Response {
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("/")
        .to_owned();
    Json(json!({ "location": location })).into_response()
}

/// `POST /login/passkey/options`: a challenge for a passkey sign-in, or for the second step
/// of the sign-in waiting in this session.
pub async fn sign_in_options(
    State(state): State<AppState>,
    session: Session,
    csrf: Csrf,
    Json(body): Json<OptionsBody>,
) -> Result<Response, PageError> {
    if csrf.check(&body.csrf).is_err() {
        return Ok(refusal(StatusCode::FORBIDDEN, "csrf"));
    }
    let now = state.clock.now();
    let passkeys = state.passkeys();
    let started = if body.purpose == "second-factor" {
        let Some(awaiting) = session::awaiting_second_factor(&session, now).await? else {
            return Ok(refusal(StatusCode::BAD_REQUEST, "expired"));
        };
        passkeys
            .start_second_factor(&awaiting.sign_in.user_id)
            .await
    } else {
        passkeys.start_passwordless()
    };
    offer(&session, started, now).await
}

/// `POST /login/passkey`: the browser's answer. A passkey alone signs the person in; after a
/// password it is the second factor.
pub async fn sign_in(
    State(state): State<AppState>,
    page: super::page::Page,
    session: Session,
    csrf: Csrf,
    device: Device,
    Json(body): Json<AssertionBody>,
) -> Result<Response, PageError> {
    if csrf.check(&body.csrf).is_err() {
        return Ok(refusal(StatusCode::FORBIDDEN, "csrf"));
    }
    let now = state.clock.now();
    let Some(ceremony) = session::take_passkey_ceremony(&session, now).await? else {
        return Ok(refusal(StatusCode::BAD_REQUEST, "expired"));
    };
    let second_factor = matches!(ceremony, Ceremony::SecondFactor { .. });
    let checked = state
        .passkeys()
        .finish_sign_in(&body.credential, ceremony, now)
        .await;
    let (user_id, methods) = match checked {
        Ok(done) => done,
        Err(e) => {
            let event = Event::new(Kind::SignInFailed)
                .ip(device.ip)
                .with("method", "passkey");
            state.audit.record(event, now);
            return passkey_refusal(e);
        }
    };
    let lang = page.for_pending(&session, &body.request).await?.1;
    let done = if second_factor {
        let Some(awaiting) = session::awaiting_second_factor(&session, now).await? else {
            return Ok(refusal(StatusCode::BAD_REQUEST, "expired"));
        };
        if awaiting.sign_in.user_id != user_id {
            return Ok(refusal(StatusCode::UNAUTHORIZED, "passkey_unknown"));
        }
        let place = place(&session, &awaiting.request_id, &device, lang).await?;
        let outcome = state
            .sign_ins(now)
            .second_factor_given(awaiting, &methods, None, &place)
            .await?;
        respond(&state, &session, &csrf, &device, lang, outcome).await?
    } else {
        if state.accounts().active_user(&user_id).await?.is_none() {
            return Ok(refusal(StatusCode::UNAUTHORIZED, "passkey_unknown"));
        }
        let attempt = Attempt::new(SignIn::passkey(user_id, methods, now), &body.request);
        complete(&state, &session, &csrf, &device, lang, attempt).await?
    };
    Ok(go(done))
}

/// `POST /account/passkeys/options`: a challenge to register a new passkey, once the person
/// has shown again who they are (a passkey is a new way in).
pub async fn register_options(
    State(state): State<AppState>,
    session: Session,
    csrf: Csrf,
    device: Device,
    signed_in: MaybeSignedIn,
    Json(body): Json<OptionsBody>,
) -> Result<Response, PageError> {
    let signed_in = match account_call(&csrf, &body.csrf, signed_in) {
        Ok(signed_in) => signed_in,
        Err((status, code)) => return Ok(refusal(status, code)),
    };
    let now = state.clock.now();
    let offered = Offered {
        password: body.current_password,
        code: body.code,
    };
    let checked = state
        .reauth()
        .check(&signed_in.user, &signed_in.sign_in, offered, device.ip, now)
        .await;
    let proof = match checked {
        Ok(proof) => proof,
        Err(ReauthError::WrongPassword) => {
            return Ok(refusal(StatusCode::UNAUTHORIZED, "wrong_password"));
        }
        Err(ReauthError::WrongCode) => return Ok(refusal(StatusCode::UNAUTHORIZED, "wrong_code")),
        Err(ReauthError::SignInAgain) => {
            return Ok(refusal(StatusCode::UNAUTHORIZED, "sign_in_again"));
        }
        Err(ReauthError::Throttled(_)) => {
            return Ok(refusal(StatusCode::TOO_MANY_REQUESTS, "throttled"));
        }
        Err(ReauthError::Sealed(e)) => return Err(PageError::unavailable(e)),
        Err(ReauthError::Store(e)) => return Err(e.into()),
        Err(ReauthError::Hash(e)) => return Err(e.into()),
    };
    let started = state.passkeys().start_registration(&proof).await;
    offer(&session, started, now).await
}

/// `POST /account/passkeys`: the new credential, checked and kept; the account's address is
/// told.
pub async fn register(
    State(state): State<AppState>,
    page: Page,
    session: Session,
    csrf: Csrf,
    device: Device,
    signed_in: MaybeSignedIn,
    Json(body): Json<RegistrationBody>,
) -> Result<Response, PageError> {
    let signed_in = match account_call(&csrf, &body.csrf, signed_in) {
        Ok(signed_in) => signed_in,
        Err((status, code)) => return Ok(refusal(status, code)),
    };
    let now = state.clock.now();
    let Some(Ceremony::Register(ceremony)) = session::take_passkey_ceremony(&session, now).await?
    else {
        return Ok(refusal(StatusCode::BAD_REQUEST, "expired"));
    };
    let user = &signed_in.user;
    let added = state
        .passkeys()
        .finish_registration(user, &body.name, &body.credential, &ceremony, now)
        .await;
    match added {
        Ok(record) => {
            state
                .links()
                .notify_passkey_added(user, &record.name, page.lang(None).code());
            let event = Event::new(Kind::Account)
                .user(user.id.clone())
                .ip(device.ip)
                .with("action", "passkey_added")
                .with("name", record.name);
            state.audit.record(event, now);
            Ok(Json(json!({ "location": "/account?done=passkey_added" })).into_response())
        }
        Err(PasskeyError::Store(crate::store::StoreError::Conflict)) => {
            Ok(refusal(StatusCode::CONFLICT, "passkey_exists"))
        }
        Err(e) => passkey_refusal(e),
    }
}
