//! The account page's forms: each checks the CSRF token, asks the domain (`account::`) to do
//! one thing, records it, and sends the person back to `/account` saying what happened — or
//! shows the page again with what went wrong.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tower_sessions::Session;

use super::account::render;
use super::federation::start_link;
use super::i18n::EN;
use super::i18n::Texts;
use super::mail_links::notice;
use super::page::{Page, no_store, see_other};
use super::signup::invalid_message;
use super::views::{RecoveryCodesPage, TotpSetupPage};
use crate::account::links::EmailChangeStarted;
use crate::account::reauth::{Offered, ReauthError, Reauthenticated};
use crate::account::second_factor::SecondFactorError;
use crate::account::self_service::SelfServiceError;
use crate::app::AppState;
use crate::audit::{Event, EventKind};
use crate::http::client_ip::ClientIp;
use crate::http::csrf::Csrf;
use crate::http::error::PageError;
use crate::http::session::{self, SignedIn};

#[derive(Deserialize)]
pub struct AccountForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    session: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    credential_id: String,
}

/// Everything a form handler needs, taken once.
pub struct Ctx {
    state: AppState,
    t: &'static Texts,
    lang: &'static str,
    session: Session,
    csrf: Csrf,
    signed_in: SignedIn,
    ip: std::net::IpAddr,
}

impl Ctx {
    /// Back to the page, saying what happened.
    fn done(&self, what: &str) -> Response {
        see_other(&format!("/account?done={what}"))
    }

    /// The page again, with what went wrong.
    async fn refused(
        &self,
        code: StatusCode,
        message: &'static str,
    ) -> Result<Response, PageError> {
        render(
            &self.state,
            self.t,
            &self.session,
            &self.csrf,
            &self.signed_in,
            None,
            Some((code, message)),
        )
        .await
    }

    fn audit(&self, action: &str) -> Event {
        Event::new(EventKind::Account)
            .user(self.signed_in.user.id.clone())
            .ip(self.ip)
            .with("action", action)
    }

    fn record(&self, event: Event) {
        self.state.audit.record(event, self.state.clock.now());
    }

    /// Asks again who this is before a change to how the account is entered (the rule is
    /// `account::reauth`'s). `Err(page)` is the refusal to show.
    async fn prove(
        &self,
        form: &AccountForm,
    ) -> Result<Result<Reauthenticated, Response>, PageError> {
        let offered = Offered {
            password: form.current_password.clone(),
            code: form.code.clone(),
        };
        let checked = self
            .state
            .reauth()
            .check(
                &self.signed_in.user,
                &self.signed_in.sign_in,
                offered,
                self.ip,
                self.state.clock.now(),
            )
            .await;
        match checked {
            Ok(proof) => Ok(Ok(proof)),
            Err(e) => self.reauth_error(e).await.map(Err),
        }
    }

    async fn reauth_error(&self, e: ReauthError) -> Result<Response, PageError> {
        let t = self.t;
        match e {
            ReauthError::WrongPassword => {
                self.refused(StatusCode::UNAUTHORIZED, t.acct.wrong_password)
                    .await
            }
            ReauthError::WrongCode => {
                self.refused(StatusCode::UNAUTHORIZED, t.acct.wrong_code)
                    .await
            }
            ReauthError::SignInAgain => {
                self.refused(StatusCode::UNAUTHORIZED, t.acct.sign_in_again)
                    .await
            }
            ReauthError::Throttled(secs) => Err(PageError::throttled(secs)),
            ReauthError::Sealed(e) => Err(PageError::unavailable(e)),
            ReauthError::Store(e) => Err(e.into()),
            ReauthError::Hash(e) => Err(e.into()),
        }
    }

    async fn second_factor_error(&self, e: SecondFactorError) -> Result<Response, PageError> {
        match e {
            SecondFactorError::WrongCode => {
                self.refused(StatusCode::UNAUTHORIZED, self.t.acct.wrong_code)
                    .await
            }
            SecondFactorError::Throttled(secs) => Err(PageError::throttled(secs)),
            SecondFactorError::EnrolmentExpired => {
                self.refused(StatusCode::UNPROCESSABLE_ENTITY, self.t.acct.setup_expired)
                    .await
            }
            SecondFactorError::Sealed(e) => Err(PageError::unavailable(e)),
            SecondFactorError::Store(e) => Err(e.into()),
        }
    }

    /// A refusal of the self-service rules, as the page shows it.
    async fn self_service_error(&self, e: SelfServiceError) -> Result<Response, PageError> {
        let t = self.t;
        match e {
            SelfServiceError::WrongPassword => {
                self.refused(StatusCode::UNAUTHORIZED, t.acct.wrong_password)
                    .await
            }
            SelfServiceError::NotConfirmed => {
                self.refused(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    t.acct.delete_not_confirmed,
                )
                .await
            }
            SelfServiceError::Invalid(problems) => {
                let first = problems
                    .first()
                    .map_or(t.error_generic, |p| invalid_message(t, p));
                self.refused(StatusCode::UNPROCESSABLE_ENTITY, first).await
            }
            SelfServiceError::Throttled(secs) => Err(PageError::throttled(secs)),
            SelfServiceError::Store(e) => Err(e.into()),
            SelfServiceError::Hash(e) => Err(e.into()),
        }
    }
}

/// Signed in, CSRF checked: the context of one account form.
async fn open(
    state: AppState,
    page: &Page,
    session: Session,
    csrf: Csrf,
    signed_in: SignedIn,
    ip: std::net::IpAddr,
    token: &str,
) -> Result<Ctx, PageError> {
    let lang = page.lang(None);
    csrf.check(token)?;
    Ok(Ctx {
        state,
        t: lang.texts(),
        lang: lang.code(),
        session,
        csrf,
        signed_in,
        ip,
    })
}

/// The extractors every account form takes.
macro_rules! account_form {
    ($name:ident, |$ctx:ident, $form:ident| $body:block) => {
        pub async fn $name(
            State(state): State<AppState>,
            page: Page,
            session: Session,
            csrf: Csrf,
            signed_in: SignedIn,
            ClientIp(ip): ClientIp,
            Form($form): Form<AccountForm>,
        ) -> Result<Response, PageError> {
            let $ctx = open(state, &page, session, csrf, signed_in, ip, &$form.csrf).await?;
            $body
        }
    };
}

account_form!(profile, |ctx, form| {
    let now = ctx.state.clock.now();
    let accounts = ctx.state.accounts();
    if let Err(e) = accounts
        .set_own_name(&ctx.signed_in.user, &form.name, now)
        .await
    {
        return ctx.self_service_error(e).await;
    }
    ctx.record(ctx.audit("name_changed"));
    Ok(ctx.done("saved"))
});

account_form!(email, |ctx, form| {
    let proof = match ctx.prove(&form).await? {
        Ok(proof) => proof,
        Err(refused) => return Ok(refused),
    };
    let now = ctx.state.clock.now();
    let t = ctx.t;
    let started = ctx
        .state
        .links()
        .change_email(&proof, &form.email, ctx.lang, now)
        .await?;
    match started {
        EmailChangeStarted::LinkSent => {
            ctx.record(ctx.audit("email_change_requested"));
            Ok(ctx.done("email_sent"))
        }
        EmailChangeStarted::Changed => {
            ctx.record(ctx.audit("email_changed"));
            Ok(ctx.done("email_changed"))
        }
        EmailChangeStarted::Unchanged => Ok(ctx.done("saved")),
        EmailChangeStarted::Invalid => {
            ctx.refused(StatusCode::UNPROCESSABLE_ENTITY, t.email_invalid)
                .await
        }
        EmailChangeStarted::Unavailable => {
            ctx.refused(StatusCode::UNPROCESSABLE_ENTITY, t.signup_unavailable)
                .await
        }
        EmailChangeStarted::NotSent => {
            ctx.refused(StatusCode::TOO_MANY_REQUESTS, t.acct.mail_not_sent)
                .await
        }
    }
});

account_form!(resend_verification, |ctx, form| {
    let _ = &form;
    let now = ctx.state.clock.now();
    let sent = ctx
        .state
        .links()
        .send_verification(&ctx.signed_in.user, ctx.lang, now)
        .await?;
    if sent == crate::account::links::Sent::Yes {
        Ok(ctx.done("verification_sent"))
    } else {
        ctx.refused(StatusCode::TOO_MANY_REQUESTS, ctx.t.acct.mail_not_sent)
            .await
    }
});

account_form!(password, |ctx, form| {
    let proof = match ctx.prove(&form).await? {
        Ok(proof) => proof,
        Err(refused) => return Ok(refused),
    };
    let now = ctx.state.clock.now();
    let this_session = session::id_hash(&ctx.session).unwrap_or_default();
    let changed = ctx
        .state
        .accounts()
        .change_password(
            &proof,
            form.new_password,
            &this_session,
            now,
            ctx.state.config.lifetimes.access_token,
        )
        .await;
    match changed {
        Ok(ended) => {
            ctx.record(ctx.audit("password_changed").with("sessions_ended", ended));
            // A new secret, a new session id (and CSRF token) for the one that stays.
            ctx.session
                .cycle_id()
                .await
                .map_err(session::SessionError::from)?;
            ctx.csrf.rotate();
            Ok(ctx.done("password_changed"))
        }
        Err(e) => ctx.self_service_error(e).await,
    }
});

account_form!(end_session, |ctx, form| {
    let ended = ctx
        .state
        .accounts()
        .end_session(&ctx.signed_in.user.id, &form.session)
        .await?;
    if ended {
        ctx.record(ctx.audit("session_ended"));
    }
    Ok(ctx.done("session_ended"))
});

account_form!(end_other_sessions, |ctx, form| {
    let _ = &form;
    let this_session = session::id_hash(&ctx.session).unwrap_or_default();
    let now = ctx.state.clock.now();
    let ttl = ctx.state.config.lifetimes.access_token;
    let ended = ctx
        .state
        .accounts()
        .end_other_sessions(&ctx.signed_in.user.id, &this_session, now, ttl)
        .await?;
    ctx.record(
        ctx.audit("sessions_ended")
            .with("sessions_ended", ended.sessions)
            .with("grants_revoked", ended.grants),
    );
    Ok(ctx.done("session_ended"))
});

account_form!(end_one_factor_sessions, |ctx, form| {
    let _ = &form;
    let this_session = session::id_hash(&ctx.session).unwrap_or_default();
    let ended = ctx
        .state
        .accounts()
        .end_one_factor_sessions(
            &ctx.signed_in.user.id,
            &this_session,
            ctx.state.config.lifetimes.session_idle,
        )
        .await?;
    ctx.record(
        ctx.audit("one_factor_sessions_ended")
            .with("sessions_ended", ended),
    );
    Ok(ctx.done("session_ended"))
});

account_form!(revoke_app, |ctx, form| {
    let now = ctx.state.clock.now();
    let user = &ctx.signed_in.user;
    let revoked = ctx
        .state
        .accounts()
        .revoke_consent(
            &user.id,
            &form.client_id,
            now,
            ctx.state.config.lifetimes.access_token,
        )
        .await
        .map_err(PageError::unavailable)?;
    if let Some(families) = revoked {
        let event = Event::new(EventKind::ConsentRevoked)
            .user(user.id.clone())
            .client(Some(&form.client_id))
            .ip(ctx.ip)
            .with("by", "user")
            .with("grants_revoked", families);
        ctx.record(event);
    }
    Ok(ctx.done("app_revoked"))
});

account_form!(delete, |ctx, form| {
    let proof = match ctx.prove(&form).await? {
        Ok(proof) => proof,
        Err(refused) => return Ok(refused),
    };
    let user = &ctx.signed_in.user;
    if let Err(e) = ctx.state.accounts().delete_own(&proof, &form.confirm).await {
        return ctx.self_service_error(e).await;
    }
    ctx.record(
        ctx.audit("account_deleted")
            .with("username", user.username.clone()),
    );
    session::sign_out(&ctx.session).await?;
    let t = ctx.t;
    Ok(notice(
        t,
        t.acct.delete_heading,
        vec![t.acct.account_deleted.to_owned()],
        Some(("/".to_owned(), t.back_link)),
    ))
});

account_form!(totp_start, |ctx, form| {
    let proof = match ctx.prove(&form).await? {
        Ok(proof) => proof,
        Err(refused) => return Ok(refused),
    };
    let now = ctx.state.clock.now();
    let enrolment = ctx
        .state
        .second_factors()
        .begin_enrolment(&proof, now)
        .map_err(PageError::unavailable)?;
    session::put_enrolment(&ctx.session, &enrolment).await?;
    Ok(see_other("/account/2fa/totp"))
});

/// `GET /account/2fa/totp`: the QR code and key of the authenticator being set up.
pub async fn totp_show(
    State(state): State<AppState>,
    page: Page,
    session: Session,
    csrf: Csrf,
    signed_in: SignedIn,
) -> Result<Response, PageError> {
    let t = page.lang(None).texts();
    totp_setup_page(&state, t, &session, &csrf, &signed_in, None).await
}

async fn totp_setup_page(
    state: &AppState,
    t: &'static Texts,
    session: &Session,
    csrf: &Csrf,
    signed_in: &SignedIn,
    error: Option<(StatusCode, &'static str)>,
) -> Result<Response, PageError> {
    let now = state.clock.now();
    let Some(enrolment) = session::enrolment(session, now).await? else {
        return Ok(see_other("/account"));
    };
    let user = &signed_in.user;
    let host = url::Url::parse(state.config.issuer.as_str())
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    let issuer_name = format!("{} ({host})", EN.site_name);
    let shown = state
        .second_factors()
        .show_enrolment(&user.id, &user.username, &issuer_name, &enrolment)
        .map_err(PageError::unavailable)?;
    let (code, error) = match error {
        Some((code, message)) => (code, Some(message.to_owned())),
        None => (StatusCode::OK, None),
    };
    let view = TotpSetupPage {
        t,
        csrf: csrf.token(),
        secret: shown.secret,
        otpauth_uri: shown.otpauth_uri,
        qr: shown.qr,
        error,
    };
    Ok((code, no_store(view.into_response())).into_response())
}

account_form!(totp_confirm, |ctx, form| {
    let now = ctx.state.clock.now();
    let user_id = &ctx.signed_in.user.id;
    let Some(enrolment) = session::enrolment(&ctx.session, now).await? else {
        // None kept, or kept too long: say so (the page offers to start again).
        return ctx
            .second_factor_error(SecondFactorError::EnrolmentExpired)
            .await;
    };
    let confirmed = ctx
        .state
        .second_factors()
        .confirm_enrolment(user_id, &enrolment, &form.code, now)
        .await;
    match confirmed {
        Ok(codes) => {
            session::forget_enrolment(&ctx.session).await?;
            ctx.record(ctx.audit("totp_enabled"));
            Ok(recovery_codes(ctx.t, codes))
        }
        Err(SecondFactorError::WrongCode) => {
            let error = Some((StatusCode::UNPROCESSABLE_ENTITY, ctx.t.acct.wrong_code));
            totp_setup_page(
                &ctx.state,
                ctx.t,
                &ctx.session,
                &ctx.csrf,
                &ctx.signed_in,
                error,
            )
            .await
        }
        Err(e) => ctx.second_factor_error(e).await,
    }
});

account_form!(recovery_new, |ctx, form| {
    let proof = match ctx.prove(&form).await? {
        Ok(proof) => proof,
        Err(refused) => return Ok(refused),
    };
    let user_id = proof.user_id();
    let now = ctx.state.clock.now();
    let second = ctx.state.second_factors();
    // Recovery codes belong to any second factor (a passkey alone too).
    if !second.enrolled(user_id).await? {
        return Ok(see_other("/account"));
    }
    let codes = second.new_recovery_codes(user_id, now).await?;
    ctx.record(ctx.audit("recovery_codes_replaced"));
    Ok(recovery_codes(ctx.t, codes))
});

account_form!(totp_disable, |ctx, form| {
    let proof = match ctx.prove(&form).await? {
        Ok(proof) => proof,
        Err(refused) => return Ok(refused),
    };
    if ctx.state.second_factors().disable(&proof).await? {
        ctx.record(ctx.audit("totp_disabled"));
    }
    Ok(ctx.done("totp_disabled"))
});

/// `GET /account/2fa/recovery/codes`: the recovery codes that came with the account's first
/// passkey, shown once.
pub async fn codes_show(
    State(state): State<AppState>,
    page: Page,
    session: Session,
    signed_in: SignedIn,
) -> Result<Response, PageError> {
    let t = page.lang(None).texts();
    let Some(sealed) = session::take_codes_to_show(&session).await? else {
        return Ok(see_other("/account"));
    };
    let codes = state
        .second_factors()
        .open_codes(&signed_in.user.id, &sealed)
        .map_err(PageError::unavailable)?;
    Ok(recovery_codes(t, codes))
}

/// The recovery codes, once; never cached.
fn recovery_codes(t: &'static Texts, codes: Vec<String>) -> Response {
    no_store(RecoveryCodesPage { t, codes }.into_response())
}

account_form!(passkey_remove, |ctx, form| {
    let proof = match ctx.prove(&form).await? {
        Ok(proof) => proof,
        Err(refused) => return Ok(refused),
    };
    let now = ctx.state.clock.now();
    let user_id = proof.user_id();
    if !ctx
        .state
        .accounts()
        .ways_in(user_id)
        .await?
        .passkeys
        .contains(&form.credential_id)
    {
        return Ok(see_other("/account"));
    }
    if !ctx
        .state
        .passkeys()
        .remove(&proof, &form.credential_id, now)
        .await?
    {
        return ctx
            .refused(StatusCode::CONFLICT, ctx.t.pk.last_way_in)
            .await;
    }
    ctx.record(ctx.audit("passkey_removed"));
    Ok(ctx.done("passkey_removed"))
});

/// `POST /account/link/{provider}`: linking another provider is a new way in, so it asks
/// again who this is before the round trip starts.
#[allow(clippy::too_many_arguments)] // axum extractors, one per argument
pub async fn link(
    State(state): State<AppState>,
    page: Page,
    session: Session,
    csrf: Csrf,
    signed_in: SignedIn,
    ClientIp(ip): ClientIp,
    Path(provider): Path<String>,
    Form(form): Form<AccountForm>,
) -> Result<Response, PageError> {
    let ctx = open(state, &page, session, csrf, signed_in, ip, &form.csrf).await?;
    let proof = match ctx.prove(&form).await? {
        Ok(proof) => proof,
        Err(refused) => return Ok(refused),
    };
    start_link(&ctx.state, &page, &ctx.session, &provider, &proof).await
}
