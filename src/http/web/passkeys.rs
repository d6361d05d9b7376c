//! The passkey prompts behind the pages' buttons (`static/passkeys.js`): JSON in, JSON out.
//! Each prompt is two calls — options (the challenge) and the browser's answer — and every
//! answer is checked against the state kept for it. A prompt to sign in with a passkey alone
//! comes from someone nobody knows yet: its state is sealed in the browser (`http::sealed`),
//! not stored. The others (second step, registration) are kept in the session, once.
//! A refusal says, in the person's language, what happened and whether trying again helps.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use tower_sessions::Session;
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

use super::i18n::{Lang, Texts};
use super::page::Page;
use super::sign_in::{complete, place, respond};
use crate::account::passkeys::{Ceremony, CloneReport, PasskeyError, report_clone};
use crate::account::reauth::{Offered, ReauthError};
use crate::account::sign_in::SignIn;
use crate::app::AppState;
use crate::audit::{Event, EventKind};
use crate::clock::{Expires, fresh};
use crate::http::client_ip::Device;
use crate::http::csrf::Csrf;
use crate::http::error::PageError;
use crate::http::sealed::SealedCookie;
use crate::http::session::{self, MaybeSignedIn, PASSKEY_CEREMONY_TTL};
use crate::sign_in::Attempt;

/// The prompt to sign in with a passkey alone, sealed in the browser.
const PROMPT: SealedCookie = SealedCookie {
    name: "munjigi_passkey",
    purpose: "passkey-sign-in-prompt",
    max_age: PASSKEY_CEREMONY_TTL,
};

#[derive(serde::Serialize, serde::Deserialize)]
struct SealedPrompt {
    ceremony: Ceremony,
    started_at: i64,
    /// The browser's CSRF token: the sealed prompt works only where it was given.
    csrf: String,
}

impl Expires for SealedPrompt {
    const TTL: i64 = PASSKEY_CEREMONY_TTL;
    fn made_at(&self) -> i64 {
        self.started_at
    }
}

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
    /// As in the options: `second-factor`, or a passkey alone.
    #[serde(default)]
    purpose: String,
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

/// Why a prompt failed: its code for the script, its status, and what the page says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Why {
    Csrf,
    Expired,
    Off,
    Refused,
    Unknown,
    OtherAccount,
    Cloned,
    SignInAgain,
    NotSignedIn,
    Exists,
    WrongPassword,
    WrongCode,
    Throttled,
}

impl Why {
    fn code(self) -> &'static str {
        match self {
            Self::Csrf => "csrf",
            Self::Expired => "expired",
            Self::Off => "passkeys_off",
            Self::Refused => "passkey_refused",
            Self::Unknown => "passkey_unknown",
            Self::OtherAccount => "passkey_other_account",
            Self::Cloned => "passkey_cloned",
            Self::SignInAgain => "sign_in_again",
            Self::NotSignedIn => "sign_in",
            Self::Exists => "passkey_exists",
            Self::WrongPassword => "wrong_password",
            Self::WrongCode => "wrong_code",
            Self::Throttled => "throttled",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            Self::Csrf => StatusCode::FORBIDDEN,
            Self::Expired => StatusCode::BAD_REQUEST,
            Self::Off => StatusCode::NOT_FOUND,
            Self::Exists => StatusCode::CONFLICT,
            Self::Throttled => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    fn message(self, t: &'static Texts) -> &'static str {
        let pk = t.pk;
        match self {
            Self::Csrf => pk.page_expired,
            Self::Expired => pk.prompt_expired,
            Self::Off => pk.off,
            Self::Refused => pk.refused,
            Self::Unknown => pk.unknown,
            Self::OtherAccount => pk.other_account,
            Self::Cloned => pk.cloned,
            Self::SignInAgain => pk.sign_in_again,
            Self::NotSignedIn => pk.not_signed_in,
            Self::Exists => pk.already_added,
            Self::WrongPassword => t.acct.wrong_password,
            Self::WrongCode => t.acct.wrong_code,
            Self::Throttled => t.too_many_attempts,
        }
    }
}

/// An answer the script shows: `{"error": code, "message": sentence}` with a status.
fn refusal(t: &'static Texts, why: Why) -> Response {
    let body = json!({ "error": why.code(), "message": why.message(t) });
    (why.status(), Json(body)).into_response()
}

fn passkey_refusal(t: &'static Texts, e: PasskeyError) -> Result<Response, PageError> {
    let why = match e {
        PasskeyError::Unavailable => Why::Off,
        PasskeyError::Refused(why) => {
            tracing::info!(%why, "passkey refused");
            Why::Refused
        }
        PasskeyError::Unknown => Why::Unknown,
        PasskeyError::Cloned { .. } => Why::Cloned,
        PasskeyError::Exists => Why::Exists,
        PasskeyError::Store(e) => return Err(e.into()),
    };
    Ok(refusal(t, why))
}

/// A call from the account page: its CSRF token right and someone signed in, or the refusal.
fn account_call(
    csrf: &Csrf,
    token: &str,
    signed_in: MaybeSignedIn,
) -> Result<crate::http::session::SignedIn, Why> {
    if csrf.check(token).is_err() {
        return Err(Why::Csrf);
    }
    signed_in.0.ok_or(Why::NotSignedIn)
}

/// The options for the browser's prompt; the ceremony's state stays in the session.
async fn offer<T: serde::Serialize>(
    t: &'static Texts,
    session: &Session,
    started: Result<(T, Ceremony), PasskeyError>,
    now: i64,
) -> Result<Response, PageError> {
    let (options, ceremony) = match started {
        Ok(started) => started,
        Err(e) => return passkey_refusal(t, e),
    };
    session::put_passkey_ceremony(session, ceremony, now).await?;
    Ok(Json(options).into_response())
}

/// The options for a prompt to sign in with a passkey alone; its state goes to the browser,
/// sealed (nothing is stored for someone nobody knows yet).
fn offer_sealed<T: serde::Serialize>(
    state: &AppState,
    t: &'static Texts,
    csrf: &Csrf,
    started: Result<(T, Ceremony), PasskeyError>,
    now: i64,
) -> Result<Response, PageError> {
    let (options, ceremony) = match started {
        Ok(started) => started,
        Err(e) => return passkey_refusal(t, e),
    };
    let prompt = SealedPrompt {
        ceremony,
        started_at: now,
        csrf: csrf.token(),
    };
    let secure = state.config.issuer.is_https();
    let Some(cookie) = PROMPT.seal(state.keys.kek(), secure, &prompt) else {
        return Err(PageError::unavailable(
            "the passkey prompt could not be sealed",
        ));
    };
    let mut response = Json(options).into_response();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

/// The sealed prompt this browser presents, if it is ours, its own and not too old.
fn open_sealed(state: &AppState, csrf: &Csrf, headers: &HeaderMap, now: i64) -> Option<Ceremony> {
    let secure = state.config.issuer.is_https();
    let prompt: Option<SealedPrompt> = PROMPT.open(state.keys.kek(), secure, headers);
    fresh(prompt, now)
        .filter(|p| csrf.check(&p.csrf).is_ok())
        .map(|p| p.ceremony)
}

/// `response`, telling the browser to forget the sealed prompt (it has been answered).
fn forget_sealed(state: &AppState, mut response: Response) -> Response {
    if let Some(clear) = PROMPT.clear(state.config.issuer.is_https()) {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    response
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
    page: Page,
    session: Session,
    csrf: Csrf,
    Json(body): Json<OptionsBody>,
) -> Result<Response, PageError> {
    let t = page.lang(None).texts();
    if csrf.check(&body.csrf).is_err() {
        return Ok(refusal(t, Why::Csrf));
    }
    let now = state.clock.now();
    let passkeys = state.passkeys();
    if body.purpose == "second-factor" {
        let Some(awaiting) = session::awaiting_second_factor(&session, now).await? else {
            return Ok(refusal(t, Why::Expired));
        };
        let started = passkeys
            .start_second_factor(&awaiting.sign_in.user_id)
            .await;
        return offer(t, &session, started, now).await;
    }
    offer_sealed(&state, t, &csrf, passkeys.start_passwordless(), now)
}

/// `POST /login/passkey`: the browser's answer. A passkey alone signs the person in; after a
/// password it is the second factor.
pub async fn sign_in(
    State(state): State<AppState>,
    page: Page,
    session: Session,
    csrf: Csrf,
    device: Device,
    headers: HeaderMap,
    Json(body): Json<AssertionBody>,
) -> Result<Response, PageError> {
    // The page's language, or the pending request's `ui_locales`.
    let lang = page.for_pending(&session, &body.request).await?.1;
    let t = lang.texts();
    if csrf.check(&body.csrf).is_err() {
        return Ok(refusal(t, Why::Csrf));
    }
    let now = state.clock.now();
    if body.purpose != "second-factor" {
        // A passkey alone: its prompt is the sealed one, answered once from this page.
        let ceremony = open_sealed(&state, &csrf, &headers, now);
        let answer = check_assertion(&state, lang, &device, &body, ceremony, now).await;
        let response = match answer {
            Ok((user_id, methods)) => {
                if state.accounts().active_user(&user_id).await?.is_none() {
                    refusal(t, Why::Unknown)
                } else {
                    let attempt =
                        Attempt::new(SignIn::passkey(user_id, methods, now), &body.request);
                    go(complete(&state, &session, &csrf, &device, lang, attempt).await?)
                }
            }
            Err(refused) => refused?,
        };
        return Ok(forget_sealed(&state, response));
    }
    let ceremony = session::take_passkey_ceremony(&session, now).await?;
    let (user_id, methods) =
        match check_assertion(&state, lang, &device, &body, ceremony, now).await {
            Ok(done) => done,
            Err(refused) => return refused,
        };
    let Some(awaiting) = session::awaiting_second_factor(&session, now).await? else {
        return Ok(refusal(t, Why::Expired));
    };
    if awaiting.sign_in.user_id != user_id {
        return Ok(refusal(t, Why::OtherAccount));
    }
    let place = place(&session, &awaiting.request_id, &device, lang).await?;
    let outcome = state
        .sign_ins(now)
        .second_factor_given(awaiting, &methods, None, &place)
        .await?;
    Ok(go(
        respond(&state, &session, &csrf, &device, lang, outcome).await?
    ))
}

/// Checks the browser's answer against the prompt's state: the account and what the passkey
/// proved, or the refusal to send (recorded; a passkey refused as a copy is reported).
async fn check_assertion(
    state: &AppState,
    lang: Lang,
    device: &Device,
    body: &AssertionBody,
    ceremony: Option<Ceremony>,
    now: i64,
) -> Result<(String, Vec<String>), Result<Response, PageError>> {
    let t = lang.texts();
    let Some(ceremony) = ceremony else {
        return Err(Ok(refusal(t, Why::Expired)));
    };
    let checked = state
        .passkeys()
        .finish_sign_in(&body.credential, ceremony, now)
        .await;
    match checked {
        Ok(done) => Ok(done),
        Err(PasskeyError::Cloned { user_id, passkey }) => {
            let report = CloneReport {
                user_id: &user_id,
                passkey: &passkey,
                ip: device.ip,
                lang: lang.code(),
                now,
            };
            if let Err(e) = report_clone(&state.links(), &state.audit, report).await {
                return Err(Err(e.into()));
            }
            Err(Ok(refusal(t, Why::Cloned)))
        }
        Err(e) => {
            let event = Event::new(EventKind::SignInFailed)
                .ip(device.ip)
                .with("method", "passkey")
                .with("reason", refusal_reason(&e));
            state.audit.record(event, now);
            Err(passkey_refusal(t, e))
        }
    }
}

/// The audit's word for a refused passkey.
fn refusal_reason(e: &PasskeyError) -> &'static str {
    match e {
        PasskeyError::Unavailable => "passkeys_off",
        PasskeyError::Refused(_) => "assertion_refused",
        PasskeyError::Unknown => "passkey_unknown",
        PasskeyError::Cloned { .. } => "passkey_counter_not_increasing",
        PasskeyError::Exists => "passkey_exists",
        PasskeyError::Store(_) => "store",
    }
}

/// `POST /account/passkeys/options`: a challenge to register a new passkey, once the person
/// has shown again who they are (a passkey is a new way in).
pub async fn register_options(
    State(state): State<AppState>,
    page: Page,
    session: Session,
    csrf: Csrf,
    device: Device,
    signed_in: MaybeSignedIn,
    Json(body): Json<OptionsBody>,
) -> Result<Response, PageError> {
    let t = page.lang(None).texts();
    let signed_in = match account_call(&csrf, &body.csrf, signed_in) {
        Ok(signed_in) => signed_in,
        Err(why) => return Ok(refusal(t, why)),
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
        Err(ReauthError::WrongPassword) => return Ok(refusal(t, Why::WrongPassword)),
        Err(ReauthError::WrongCode) => return Ok(refusal(t, Why::WrongCode)),
        Err(ReauthError::SignInAgain) => return Ok(refusal(t, Why::SignInAgain)),
        Err(ReauthError::Throttled(_)) => return Ok(refusal(t, Why::Throttled)),
        Err(ReauthError::Sealed(e)) => return Err(PageError::unavailable(e)),
        Err(ReauthError::Store(e)) => return Err(e.into()),
        Err(ReauthError::Hash(e)) => return Err(e.into()),
    };
    let started = state.passkeys().start_registration(&proof).await;
    offer(t, &session, started, now).await
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
    let t = page.lang(None).texts();
    let signed_in = match account_call(&csrf, &body.csrf, signed_in) {
        Ok(signed_in) => signed_in,
        Err(why) => return Ok(refusal(t, why)),
    };
    let now = state.clock.now();
    let Some(Ceremony::Register(ceremony)) = session::take_passkey_ceremony(&session, now).await?
    else {
        return Ok(refusal(t, Why::Expired));
    };
    let user = &signed_in.user;
    let second = state.second_factors();
    let first_second_factor = !second.enrolled(&user.id).await?;
    let added = state
        .passkeys()
        .finish_registration(user, &body.name, &body.credential, &ceremony, now)
        .await;
    match added {
        Ok(record) => {
            state
                .links()
                .notify_passkey_added(user, &record.name, page.lang(None).code());
            let event = Event::new(EventKind::Account)
                .user(user.id.clone())
                .ip(device.ip)
                .with("action", "passkey_added")
                .with("name", record.name);
            state.audit.record(event, now);
            let codes = if first_second_factor {
                second
                    .recovery_codes_for_first_factor(&user.id, now)
                    .await?
            } else {
                None
            };
            let location = match codes {
                // The first second factor: its recovery codes, shown once on the next page.
                Some(codes) => {
                    let sealed = second
                        .seal_codes(&user.id, &codes)
                        .map_err(PageError::unavailable)?;
                    session::put_codes_to_show(&session, &sealed).await?;
                    "/account/2fa/recovery/codes"
                }
                None => "/account?done=passkey_added",
            };
            Ok(Json(json!({ "location": location })).into_response())
        }
        Err(e) => passkey_refusal(t, e),
    }
}
