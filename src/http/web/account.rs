//! `/account`: the signed-in person's page — profile, password, ways to sign in (link another
//! provider, unlink one but never the last way in), sessions, apps allowed, deletion. The
//! forms that change things are in `account_forms.rs`; each sends the person back here.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tower_sessions::Session;

use super::federation::{provider_class, provider_name};
use super::i18n::Texts;
use super::page::{Page, no_store, see_other};
use super::views::{AccountPage, AppView, LinkOption, MethodView, PasskeyView, SessionRowView};
use crate::account::reauth::Asks;
use crate::app::AppState;
use crate::federation::link::{Told, unlink_and_tell};
use crate::http::client_ip::Device;
use crate::http::csrf::Csrf;
use crate::http::error::PageError;
use crate::http::session::{self, SignedIn};

#[derive(Deserialize)]
pub struct UnlinkForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    provider: String,
}

/// What the last form did, named in the redirect back (`/account?done=saved`).
#[derive(Deserialize)]
pub struct Done {
    #[serde(default)]
    done: String,
}

fn done_message(t: &'static Texts, done: &str) -> Option<&'static str> {
    Some(match done {
        "saved" => t.acct.saved,
        "email_sent" => t.acct.email_change_sent,
        "email_changed" => t.acct.email_changed_now,
        "verification_sent" => t.acct.verification_sent,
        "password_changed" => t.acct.password_changed,
        "session_ended" => t.acct.sessions_ended,
        "app_revoked" => t.acct.app_revoked,
        "totp_disabled" => t.acct.two_factor_disabled,
        "passkey_added" => t.acct.passkey_added,
        "passkey_removed" => t.acct.passkey_removed,
        _ => return None,
    })
}

/// Unix seconds as people read them here: `2026-11-27 23:54 UTC`.
pub fn when(unix: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

pub async fn show(
    State(state): State<AppState>,
    page: Page,
    session: Session,
    csrf: Csrf,
    signed_in: SignedIn,
    Query(q): Query<Done>,
) -> Result<Response, PageError> {
    let t = page.lang(None).texts();
    let status = done_message(t, &q.done).map(str::to_owned);
    render(&state, t, &session, &csrf, &signed_in, status, None).await
}

/// The page, with what the last action said: a status (done) or an error (status code).
pub async fn render(
    state: &AppState,
    t: &'static Texts,
    session: &Session,
    csrf: &Csrf,
    signed_in: &SignedIn,
    status: Option<String>,
    error: Option<(StatusCode, &'static str)>,
) -> Result<Response, PageError> {
    let user = &signed_in.user;
    let accounts = state.accounts();
    let identities = accounts.identities(&user.id).await?;
    let has_password = user.password_hash.is_some();
    // The last way in stays (a password, a provider or a passkey): `account::ways_in`.
    let ways_in = accounts.ways_in(&user.id).await?;
    let federation = &state.federation;
    let mut methods = Vec::new();
    if has_password {
        methods.push(MethodView {
            label: t.password_method.to_owned(),
            provider: String::new(),
            detail: None,
            can_unlink: false,
        });
    }
    for identity in &identities {
        let label = federation.connector(&identity.provider).map_or_else(
            || identity.provider.clone(),
            |c| provider_name(t, c.as_ref()),
        );
        methods.push(MethodView {
            label,
            provider: identity.provider.clone(),
            detail: identity.email.clone(),
            can_unlink: ways_in.may_unlink(&identity.provider),
        });
    }
    let link_options = federation
        .connectors()
        .iter()
        .filter(|c| !identities.iter().any(|i| i.provider == c.id()))
        .map(|c| LinkOption {
            id: c.id().to_owned(),
            label: provider_name(t, c.as_ref()),
            class: provider_class(c.kind()),
        })
        .collect();
    let current = session::id_hash(session).unwrap_or_default();
    let sessions = accounts
        .sessions(&user.id, state.config.lifetimes.session_idle)
        .await?
        .into_iter()
        .map(|s| SessionRowView {
            current: s.id_hash == current,
            id: s.id_hash,
            device: s.device,
            ip: s.ip,
            signed_in: s.signed_in_at.map(when),
            last_seen: when(s.last_seen),
        })
        .collect();
    let keys = state.keys.current();
    let ctx = state.oauth(&keys, state.clock.now());
    let mut apps = Vec::new();
    for consent in accounts.allowed_apps(&user.id).await? {
        let name = ctx
            .client(&consent.client_id)
            .await?
            .map_or_else(|| consent.client_id.clone(), |c| c.record.name);
        apps.push(AppView {
            client_id: consent.client_id,
            name,
            scope: consent.scope,
            since: when(consent.created_at),
        });
    }
    let second = state.second_factors();
    let totp_since = second.authenticator_since(&user.id).await?;
    let recovery_left = second.recovery_codes_left(&user.id).await?;
    let one_factor_sessions = accounts
        .one_factor_sessions(&user.id, &current, state.config.lifetimes.session_idle)
        .await?
        .len();
    let passkeys = state
        .passkeys()
        .list(&user.id)
        .await?
        .into_iter()
        .map(|p| PasskeyView {
            id: p.credential_id,
            name: p.name,
            created: when(p.created_at),
            last_used: p.last_used_at.map(when),
        })
        .collect();
    let (code, error) = match error {
        Some((code, message)) => (code, Some(message.to_owned())),
        None => (StatusCode::OK, None),
    };
    let asks = state.reauth().asks(user).await?;
    let view = AccountPage {
        asks_password: asks == Asks::Password,
        asks_code: asks == Asks::Code,
        t,
        csrf: csrf.token(),
        user_name: user.name.clone().unwrap_or(user.username.clone()),
        username: user.username.clone(),
        name: user.name.clone().unwrap_or_default(),
        email: user.email.clone(),
        email_verified: user.email_verified,
        mail_on: state.mailer.is_on(),
        has_password,
        status,
        error,
        methods,
        link_options,
        sessions,
        apps,
        totp_since: totp_since.map(when),
        recovery_left,
        passkeys_on: state.webauthn.is_some(),
        passkeys,
        one_factor_sessions,
    };
    Ok((code, no_store(view.into_response())).into_response())
}

pub async fn unlink(
    State(state): State<AppState>,
    page: Page,
    csrf: Csrf,
    device: Device,
    signed_in: SignedIn,
    Form(form): Form<UnlinkForm>,
) -> Result<Response, PageError> {
    let lang = page.lang(None);
    csrf.check(&form.csrf)?;
    let user_id = &signed_in.user.id;
    let linked = state.accounts().identities(user_id).await?;
    if !linked.iter().any(|i| i.provider == form.provider) {
        return Ok(see_other("/account"));
    }
    let told = Told {
        ip: device.ip,
        lang: lang.code(),
        now: state.clock.now(),
    };
    let links = state.links();
    let removed = unlink_and_tell(
        &links,
        &state.federation,
        &state.audit,
        user_id,
        &form.provider,
        &told,
    )
    .await?;
    if !removed {
        return Err(
            PageError::new(StatusCode::CONFLICT, |t| t.unlink_last_refused)
                .back("/account", |t| t.back_to_account),
        );
    }
    Ok(see_other("/account"))
}
