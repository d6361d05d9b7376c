//! Signing in through an upstream provider: `/login/{provider}` sends the person there,
//! `/login/{provider}/callback` brings them back, and `/login/link` asks them to prove an
//! existing account is theirs before a first upstream sign-in is linked to it. Every sign-in
//! ends in `finish_sign_in`, like a password's: the pending request's next step decides.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tower_sessions::Session;

use super::i18n::Lang;
use super::login::finish_sign_in;
use super::page::{Page, for_request, no_store, see_other};
use super::texts::Texts;
use super::views::{LinkPage, ProviderButton};
use crate::account::sign_in::{PasswordSignInError, SignIn};
use crate::app::AppState;
use crate::clock::fresh;
use crate::federation::link::{LinkError, PendingLink, Policy, Resolution};
use crate::federation::{
    Callback, Connector, Federation, FederationError, Freshness, Kind, Purpose,
};
use crate::http::client_ip::Device;
use crate::http::csrf::Csrf;
use crate::http::error::{PageError, PageMessage, Text};
use crate::http::session::{self, MaybeSignedIn};
use crate::oauth::authorize::Pending;

#[derive(Deserialize)]
pub struct StartQuery {
    #[serde(default)]
    request: String,
    /// Confirming a pending link with a provider already linked to the account.
    #[serde(default)]
    confirm: Option<String>,
}

#[derive(Deserialize)]
pub struct StartForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request: String,
}

/// The name people know a provider by, in the page's language.
pub fn provider_name(t: &Texts, connector: &dyn Connector) -> String {
    match (connector.kind(), t.lang) {
        (Kind::Kakao, "ko") => "카카오".into(),
        (Kind::Naver, "ko") => "네이버".into(),
        _ => connector.display_name().to_owned(),
    }
}

fn provider_label(t: &Texts, connector: &dyn Connector) -> String {
    match connector.kind() {
        Kind::Google => t.google_button.to_owned(),
        Kind::Kakao => t.kakao_button.to_owned(),
        Kind::Naver => t.naver_button.to_owned(),
        Kind::Oidc => format!(
            "{}{}{}",
            t.provider_button_before,
            connector.display_name(),
            t.provider_button_after
        ),
    }
}

pub fn provider_class(kind: Kind) -> &'static str {
    match kind {
        Kind::Google => "google",
        Kind::Kakao => "kakao",
        Kind::Naver => "naver",
        Kind::Oidc => "oidc",
    }
}

fn query(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().filter(|(_, v)| !v.is_empty()))
        .finish()
}

/// The buttons of the given providers, each going to `/login/{id}` for this request.
pub fn buttons<'a>(
    t: &Texts,
    connectors: impl Iterator<Item = &'a dyn Connector>,
    request: &str,
    confirm: bool,
) -> Vec<ProviderButton> {
    connectors
        .map(|c| {
            let q = query(&[
                ("request", request),
                ("confirm", if confirm { "1" } else { "" }),
            ]);
            ProviderButton {
                href: format!(
                    "/login/{}{}{q}",
                    c.id(),
                    if q.is_empty() { "" } else { "?" }
                ),
                label: provider_label(t, c),
                class: provider_class(c.kind()),
            }
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

fn login_again(request: &str) -> String {
    for_request("/login", request)
}

/// A failed round trip, shown as a page that names the provider and leads back.
fn upstream_failure(name: &str, e: &FederationError, back: &str) -> PageError {
    let (status, text): (StatusCode, Text) = match e {
        FederationError::UnknownProvider => (StatusCode::NOT_FOUND, |t| t.error_bad_request),
        FederationError::Refused => (StatusCode::FORBIDDEN, |t| t.upstream_refused),
        FederationError::Timeout => (StatusCode::GATEWAY_TIMEOUT, |t| t.upstream_timeout),
        FederationError::Upstream { .. } | FederationError::Unreachable(_) => {
            (StatusCode::BAD_GATEWAY, |t| t.upstream_failed)
        }
        FederationError::Invalid(_) => (StatusCode::BAD_GATEWAY, |t| t.upstream_invalid),
    };
    tracing::warn!(provider = name, error = %e, "upstream sign-in failed");
    let message = PageMessage::About {
        subject: name.to_owned(),
        text,
        // The provider's own code helps whoever reads its documentation (Kakao's KOE320).
        detail: match e {
            FederationError::Upstream { code, .. } => Some(code.clone()),
            _ => None,
        },
    };
    PageError::with(status, message).back(back, |t| t.back_to_login)
}

fn link_failure(e: LinkError, back: &str) -> PageError {
    let (status, text): (StatusCode, Text) = match e {
        LinkError::Disabled => (StatusCode::FORBIDDEN, |t| t.account_unavailable),
        LinkError::LinkedElsewhere => (StatusCode::CONFLICT, |t| t.linked_elsewhere),
        LinkError::ProviderTaken => (StatusCode::CONFLICT, |t| t.provider_taken),
        LinkError::Store(e) => return PageError::unavailable(e),
    };
    PageError::new(status, text).back(back, |t| t.back_to_login)
}

pub async fn start_get(
    State(state): State<AppState>,
    page: Page,
    session: Session,
    Path(provider): Path<String>,
    Query(q): Query<StartQuery>,
) -> Result<Response, PageError> {
    let purpose = if q.confirm.is_some() {
        Purpose::ConfirmLink
    } else {
        Purpose::SignIn
    };
    start(&state, &page, &session, &provider, &q.request, purpose).await
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
    start(
        &state,
        &page,
        &session,
        &provider,
        &form.request,
        Purpose::SignIn,
    )
    .await
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
    let pending = session::get_pending(session, request).await?;
    let lang = page.lang(
        pending
            .as_ref()
            .and_then(|p| p.request.ui_locales.as_deref()),
    );
    let back = match &purpose {
        Purpose::Link { .. } => "/account".to_owned(),
        _ => login_again(request),
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

fn display(state: &AppState, lang: Lang, provider: &str) -> String {
    state.federation.connector(provider).map_or_else(
        || provider.to_owned(),
        |c| provider_name(lang.texts(), c.as_ref()),
    )
}

/// `/login/{provider}/callback`: the provider sends the person back here.
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
    let request = trip
        .as_ref()
        .map_or("", |t| t.request_id.as_str())
        .to_owned();
    let pending = session::get_pending(&session, &request).await?;
    let lang = page.lang(
        pending
            .as_ref()
            .and_then(|p| p.request.ui_locales.as_deref()),
    );
    let name = display(&state, lang, &provider);
    // A callback without its round trip (forged, replayed, from another browser) or for
    // another provider goes no further.
    let Some(trip) = fresh(trip, now).filter(|t| t.provider == provider) else {
        return Err(PageError::with(
            StatusCode::BAD_REQUEST,
            PageMessage::About {
                subject: name,
                text: |t| t.upstream_expired,
                detail: None,
            },
        )
        .back(login_again(&request), |t| t.back_to_login));
    };
    let back = match &trip.purpose {
        Purpose::Link { .. } => "/account".to_owned(),
        _ => login_again(&request),
    };
    let identity = match state.federation.finish(&trip, &callback, now).await {
        Ok(identity) => identity,
        Err(e) => {
            let event = crate::audit::Event::new(crate::audit::Kind::SignInFailed)
                .ip(device.ip)
                .with("method", provider.as_str());
            state.audit.record(event, now);
            return Err(upstream_failure(&name, &e, &back));
        }
    };
    let accounts = state.accounts();
    match &trip.purpose {
        Purpose::SignIn => {
            let connector = state
                .federation
                .connector(&provider)
                .ok_or_else(PageError::request_expired)?;
            let policy = Policy {
                vouches_for_email: connector.vouches_for_email(),
                link_verified_email: state.federation.link_verified_email,
            };
            match accounts
                .resolve_upstream(&identity, &policy, now)
                .await
                .map_err(|e| link_failure(e, &back))?
            {
                Resolution::SignIn { user_id, .. } => {
                    let sign_in = SignIn::federated(user_id, &provider, identity.multi_factor, now);
                    finish_sign_in(&state, &session, &csrf, &sign_in, &request, &device).await
                }
                Resolution::ConfirmLink { user_id } => {
                    let link = PendingLink {
                        identity,
                        user_id,
                        request_id: request.clone(),
                        created_at: now,
                    };
                    session::put_pending_link(&session, &link).await?;
                    Ok(see_other(&format!(
                        "/login/link?{}",
                        query(&[("request", &request)])
                    )))
                }
            }
        }
        Purpose::Link { user_id } => {
            // Only for the person who started it, still signed in.
            if signed_in.sign_in().map(|s| &s.user_id) != Some(user_id) {
                return Err(PageError::request_expired().back("/account", |t| t.back_to_account));
            }
            accounts
                .link_upstream(user_id, &identity, now)
                .await
                .map_err(|e| link_failure(e, "/account"))?;
            Ok(see_other("/account"))
        }
        Purpose::ConfirmLink => {
            let link = session::pending_link(&session, now).await?.ok_or_else(|| {
                PageError::request_expired().back(back.clone(), |t| t.back_to_login)
            })?;
            // The provider must name the account being linked to, and nobody else.
            let owner = accounts
                .linked_user(&identity)
                .await
                .map_err(|e| link_failure(e, &back))?;
            if owner.as_deref() != Some(link.user_id.as_str()) {
                return Err(link_failure(LinkError::LinkedElsewhere, &back));
            }
            complete_link(
                &state,
                &session,
                &csrf,
                link,
                SignIn::federated(
                    owner.unwrap_or_default(),
                    &provider,
                    identity.multi_factor,
                    now,
                ),
                &device,
            )
            .await
        }
    }
}

/// Links the pending identity, forgets it, and signs the person in.
async fn complete_link(
    state: &AppState,
    session: &Session,
    csrf: &Csrf,
    link: PendingLink,
    sign_in: SignIn,
    device: &Device,
) -> Result<Response, PageError> {
    let back = login_again(&link.request_id);
    state
        .accounts()
        .link_upstream(&link.user_id, &link.identity, state.clock.now())
        .await
        .map_err(|e| link_failure(e, &back))?;
    session::forget_pending_link(session).await?;
    finish_sign_in(state, session, csrf, &sign_in, &link.request_id, device).await
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
        .ok_or_else(|| link_failure(LinkError::Disabled, &login_again(request)))?;
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

/// Confirms a pending link with the existing account's password.
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
    let link = session::pending_link(&session, now).await?.ok_or_else(|| {
        PageError::request_expired().back(login_again(&form.request), |t| t.back_to_login)
    })?;
    let accounts = state.accounts();
    let owner = accounts
        .active_user(&link.user_id)
        .await?
        .ok_or_else(|| link_failure(LinkError::Disabled, &login_again(&form.request)))?;
    let lang = page.lang(None);
    let attempt = accounts
        .sign_in_with_password(&owner.username, form.password, Some(device.ip), now)
        .await;
    super::login::audit_password_failure(&state, &attempt, &owner.username, None, device.ip);
    let failure = match attempt {
        Ok(mut sign_in) => {
            // Both proved: the password now, the provider a moment ago.
            sign_in.amr.push("fed".into());
            sign_in.idp = Some(link.identity.provider.clone());
            return complete_link(&state, &session, &csrf, link, sign_in, &device).await;
        }
        Err(PasswordSignInError::Throttled(wait)) => {
            let page = link_page(
                &state,
                &page,
                &session,
                &csrf,
                &form.request,
                Some((
                    StatusCode::TOO_MANY_REQUESTS,
                    lang.texts().throttled_message(wait.unsigned_abs()),
                )),
            )
            .await?;
            return Ok(super::page::retry_after(page, wait));
        }
        Err(PasswordSignInError::Invalid) => (
            StatusCode::UNAUTHORIZED,
            lang.texts().invalid_credentials.to_owned(),
        ),
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

/// For the account page: starts linking `provider` to the signed-in user.
pub async fn start_link(
    state: &AppState,
    page: &Page,
    session: &Session,
    provider: &str,
    user_id: &str,
) -> Result<Response, PageError> {
    let purpose = Purpose::Link {
        user_id: user_id.to_owned(),
    };
    start(state, page, session, provider, "", purpose).await
}
