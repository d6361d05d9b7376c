//! Signing in through an upstream provider: a form POST to `/login/{provider}` (with the
//! CSRF token, so no other site can start a round trip — and make an account — in this
//! browser) sends the person there, `/login/{provider}/callback` brings them back, and
//! `/login/link` asks them to prove an existing account is theirs before a first upstream
//! sign-in is linked to it. What the callback proves is decided by
//! `federation::Federation::callback`, and the sign-in completed by `crate::sign_in`, like a
//! password's.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tower_sessions::Session;

use super::i18n::Lang;
use super::page::{Page, for_request, no_store, see_other};
use super::sign_in::{link_failure, place, respond, upstream_failure};
use super::texts::Texts;
use super::views::{LinkPage, ProviderButton};
use crate::account::reauth::Reauthenticated;
use crate::account::sign_in::PasswordSignInError;
use crate::app::AppState;
use crate::federation::link::LinkError;
use crate::federation::{
    Back, Callback, Connector, Federation, Freshness, ProviderKind, Purpose, Return,
};
use crate::http::client_ip::Device;
use crate::http::csrf::Csrf;
use crate::http::error::PageError;
use crate::http::session::{self, MaybeSignedIn};
use crate::oauth::authorize::Pending;

#[derive(Deserialize)]
pub struct StartQuery {
    #[serde(default)]
    request: String,
}

#[derive(Deserialize)]
pub struct StartForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request: String,
    /// Confirming a pending link with a provider already linked to the account.
    #[serde(default)]
    confirm: Option<String>,
}

/// The name people know a provider by, in the page's language.
pub fn provider_name(t: &Texts, connector: &dyn Connector) -> String {
    match (connector.kind(), t.lang) {
        (ProviderKind::Kakao, "ko") => "카카오".into(),
        (ProviderKind::Naver, "ko") => "네이버".into(),
        _ => connector.display_name().to_owned(),
    }
}

fn provider_label(t: &Texts, connector: &dyn Connector) -> String {
    match connector.kind() {
        ProviderKind::Google => t.google_button.to_owned(),
        ProviderKind::Kakao => t.kakao_button.to_owned(),
        ProviderKind::Naver => t.naver_button.to_owned(),
        ProviderKind::Oidc => format!(
            "{}{}{}",
            t.provider_button_before,
            connector.display_name(),
            t.provider_button_after
        ),
    }
}

pub fn provider_class(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::Google => "google",
        ProviderKind::Kakao => "kakao",
        ProviderKind::Naver => "naver",
        ProviderKind::Oidc => "oidc",
    }
}

/// The buttons of the given providers, each a form that POSTs to `/login/{id}` for this
/// request (with the page's CSRF token).
pub fn buttons<'a>(
    t: &Texts,
    connectors: impl Iterator<Item = &'a dyn Connector>,
    request: &str,
    confirm: bool,
) -> Vec<ProviderButton> {
    connectors
        .map(|c| ProviderButton {
            action: format!("/login/{}", c.id()),
            request: request.to_owned(),
            confirm,
            label: provider_label(t, c),
            class: provider_class(c.kind()),
        })
        .collect()
}

/// Every configured provider's button, for the login page.
pub fn login_buttons(federation: &Federation, t: &Texts, request: &str) -> Vec<ProviderButton> {
    buttons(
        t,
        federation.connectors().iter().map(|c| c.as_ref()),
        request,
        false,
    )
}

/// What a request demands of the sign-in, to pass upstream.
fn freshness(pending: Option<&Pending>) -> Freshness {
    pending.map_or_else(Freshness::default, |p| Freshness {
        force: p.request.prompt.login || p.request.max_age == Some(0),
        max_age: p.request.max_age,
    })
}

pub fn login_again(request: &str) -> String {
    for_request("/login", request)
}

/// `GET /login/{provider}` starts nothing: a round trip (which may make an account) starts
/// only from a form of this site. Back to the login page, whose buttons are such forms.
pub async fn start_get(Query(q): Query<StartQuery>) -> Response {
    see_other(&login_again(&q.request))
}

pub async fn start_post(
    State(state): State<AppState>,
    page: Page,
    session: Session,
    csrf: Csrf,
    Path(provider): Path<String>,
    Form(form): Form<StartForm>,
) -> Result<Response, PageError> {
    csrf.check(&form.csrf)?;
    let purpose = if form.confirm.is_some() {
        Purpose::ConfirmLink
    } else {
        Purpose::SignIn
    };
    start(&state, &page, &session, &provider, &form.request, purpose).await
}

/// Sends the person to the provider, keeping the round trip in the session.
pub async fn start(
    state: &AppState,
    page: &Page,
    session: &Session,
    provider: &str,
    request: &str,
    purpose: Purpose,
) -> Result<Response, PageError> {
    let (pending, lang) = page.for_pending(session, request).await?;
    let back = match &purpose {
        Purpose::Link { .. } => Back::Account,
        _ => Back::Login(request.to_owned()),
    };
    let now = state.clock.now();
    let (url, trip) = state
        .federation
        .begin(provider, freshness(pending.as_ref()), request, purpose, now)
        .await
        .map_err(|e| upstream_failure(&display(state, lang, provider), &e, &back))?;
    session::put_round_trip(session, trip).await?;
    Ok(see_other(&url))
}

/// The name of a provider (or its id, unknown) in the page's language.
pub fn display(state: &AppState, lang: Lang, provider: &str) -> String {
    state.federation.connector(provider).map_or_else(
        || provider.to_owned(),
        |c| provider_name(lang.texts(), c.as_ref()),
    )
}

/// `/login/{provider}/callback`: the provider sends the person back here; the domain says
/// what that proves.
// One argument per axum extractor.
#[allow(clippy::too_many_arguments)]
pub async fn callback(
    State(state): State<AppState>,
    page: Page,
    session: Session,
    csrf: Csrf,
    signed_in: MaybeSignedIn,
    device: Device,
    Path(provider): Path<String>,
    Query(callback): Query<Callback>,
) -> Result<Response, PageError> {
    let now = state.clock.now();
    let trip = session::take_round_trip(&session, callback.state.as_deref().unwrap_or("")).await?;
    let request = trip.as_ref().map_or("", |t| &t.request_id).to_owned();
    let lang = page.for_pending(&session, &request).await?.1;
    let back = Return {
        provider: &provider,
        callback: &callback,
        trip,
        signed_in_user: signed_in.sign_in().map(|s| s.user_id.as_str()),
        pending_link: session::pending_link(&session, now).await?,
        ip: device.ip,
        lang: lang.code(),
        now,
    };
    let links = state.links();
    let upstream = state
        .federation
        .callback(&links, &state.audit, back)
        .await?;
    let place = place(&session, &request, &device, lang).await?;
    let outcome = state.sign_ins(now).upstream(upstream, &place).await?;
    respond(&state, &session, &csrf, &device, lang, outcome).await
}

#[derive(Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    password: String,
}

/// The confirmation page of a pending link.
pub async fn link_show(
    State(state): State<AppState>,
    page: Page,
    session: Session,
    csrf: Csrf,
    Query(q): Query<StartQuery>,
) -> Result<Response, PageError> {
    link_page(&state, &page, &session, &csrf, &q.request, None).await
}

async fn link_page(
    state: &AppState,
    page: &Page,
    session: &Session,
    csrf: &Csrf,
    request: &str,
    failure: Option<(StatusCode, String)>,
) -> Result<Response, PageError> {
    let now = state.clock.now();
    let pending = session::get_pending(session, request).await?;
    let lang = page.lang(
        pending
            .as_ref()
            .and_then(|p| p.request.ui_locales.as_deref()),
    );
    let t = lang.texts();
    let link = session::pending_link(session, now).await?.ok_or_else(|| {
        PageError::request_expired().back(login_again(request), |t| t.back_to_login)
    })?;
    let accounts = state.accounts();
    let owner = accounts
        .active_user(&link.user_id)
        .await?
        .ok_or_else(|| link_failure(LinkError::Disabled, &Back::Login(request.to_owned())))?;
    let linked = accounts.identities(&owner.id).await?;
    let confirm_with = state
        .federation
        .connectors()
        .iter()
        .filter(|c| linked.iter().any(|l| l.provider == c.id()))
        .map(|c| c.as_ref());
    let (status, error) = match failure {
        Some((status, message)) => (status, Some(message)),
        None => (StatusCode::OK, None),
    };
    let view = LinkPage {
        t,
        csrf: csrf.token(),
        request: request.to_owned(),
        provider: display(state, lang, &link.identity.provider),
        account: owner.email.clone().unwrap_or(owner.username.clone()),
        has_password: owner.password_hash.is_some(),
        providers: buttons(t, confirm_with, request, true),
        error,
    };
    Ok((status, no_store(view.into_response())).into_response())
}

/// Confirms a pending link with the existing account's password: the domain completes the
/// sign-in (its second factor included) before anything is linked.
pub async fn link_submit(
    State(state): State<AppState>,
    page: Page,
    session: Session,
    csrf: Csrf,
    device: Device,
    Form(form): Form<LinkForm>,
) -> Result<Response, PageError> {
    csrf.check(&form.csrf)?;
    let now = state.clock.now();
    let lang = page.lang(None);
    let t = lang.texts();
    let link = session::pending_link(&session, now).await?.ok_or_else(|| {
        PageError::request_expired().back(login_again(&form.request), |t| t.back_to_login)
    })?;
    let place = place(&session, &link.request_id, &device, lang).await?;
    let sign_ins = state.sign_ins(now);
    let failure = match sign_ins
        .link_with_password(link, form.password, &place)
        .await
    {
        Ok(outcome) => return respond(&state, &session, &csrf, &device, lang, outcome).await,
        Err(PasswordSignInError::Throttled(wait)) => {
            let failure = (
                StatusCode::TOO_MANY_REQUESTS,
                t.throttled_message(wait.unsigned_abs()),
            );
            let page = link_page(&state, &page, &session, &csrf, &form.request, Some(failure));
            return Ok(super::page::retry_after(page.await?, wait));
        }
        Err(PasswordSignInError::Invalid) => {
            (StatusCode::UNAUTHORIZED, t.invalid_credentials.to_owned())
        }
        Err(PasswordSignInError::Store(e)) => return Err(e.into()),
        Err(PasswordSignInError::Password(e)) => return Err(e.into()),
    };
    link_page(&state, &page, &session, &csrf, &form.request, Some(failure)).await
}

/// Gives up on a pending link: back to the login page.
pub async fn link_cancel(
    page: Page,
    session: Session,
    csrf: Csrf,
    Form(form): Form<StartForm>,
) -> Result<Response, PageError> {
    page.lang(None);
    csrf.check(&form.csrf)?;
    session::forget_pending_link(&session).await?;
    Ok(see_other(&login_again(&form.request)))
}

/// For the account page: starts linking `provider` to the account whose owner just proved
/// who they are (a new way in, `account::reauth`).
pub async fn start_link(
    state: &AppState,
    page: &Page,
    session: &Session,
    provider: &str,
    proof: &Reauthenticated,
) -> Result<Response, PageError> {
    let purpose = Purpose::Link {
        user_id: proof.user_id().to_owned(),
    };
    start(state, page, session, provider, "", purpose).await
}
