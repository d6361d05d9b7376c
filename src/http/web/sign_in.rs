//! The one place where the outcome of a sign-in step (`crate::sign_in::Outcome`) becomes a
//! response: a renewed session and the way back into the pending request, the second-factor
//! page, the link confirmation page, or a page that says why not. The pages only prove
//! something and hand it to the domain; nothing here decides.

use axum::http::StatusCode;
use axum::response::Response;
use tower_sessions::Session;

use super::federation::{display, login_again};
use super::i18n::Lang;
use super::page::{for_request, see_other};
use crate::account::sessions::DeviceInfo;
use crate::app::AppState;
use crate::federation::FederationError;
use crate::federation::link::LinkError;
use crate::http::client_ip::Device;
use crate::http::csrf::Csrf;
use crate::http::error::{PageError, PageMessage, Text};
use crate::http::session::{self, AwaitingSecondFactor, SessionError};
use crate::sign_in::{Attempt, Back, Failure, Outcome, Place};

/// Where this sign-in happens: the browser's address, the pending request's client, the
/// page's language.
pub async fn place(
    session: &Session,
    request_id: &str,
    device: &Device,
    lang: Lang,
) -> Result<Place, SessionError> {
    let pending = session::get_pending(session, request_id).await?;
    Ok(Place {
        ip: device.ip,
        client_id: pending.map(|p| p.request.client_id),
        lang: lang.code(),
    })
}

/// A first factor proved on a page: the domain completes it, and its outcome is answered.
pub async fn complete(
    state: &AppState,
    session: &Session,
    csrf: &Csrf,
    device: &Device,
    lang: Lang,
    attempt: Attempt,
) -> Result<Response, PageError> {
    let place = place(session, &attempt.request_id, device, lang).await?;
    let outcome = state
        .sign_ins(state.clock.now())
        .complete(attempt, &place)
        .await?;
    respond(state, session, csrf, device, lang, outcome).await
}

/// The response to a sign-in's outcome.
pub async fn respond(
    state: &AppState,
    session: &Session,
    csrf: &Csrf,
    device: &Device,
    lang: Lang,
    outcome: Outcome,
) -> Result<Response, PageError> {
    match outcome {
        Outcome::SignedIn {
            sign_in,
            request_id,
        } => {
            // Whatever waited for this sign-in is done with.
            session::forget_pending_link(session).await?;
            session::forget_awaiting_second_factor(session).await?;
            let info = DeviceInfo::new(device.ip, &device.user_agent, sign_in.auth_time);
            let idle = state.config.lifetimes.session_idle;
            session::sign_in(session, &sign_in, &info, idle).await?;
            // A new identity, a new CSRF token.
            csrf.rotate();
            let Some(mut pending) = session::get_pending(session, &request_id).await? else {
                return Ok(see_other("/"));
            };
            // Marked as signed in for, so its demands for a fresh sign-in are met.
            pending.signed_in(&sign_in);
            let id = session::put_pending(session, Some(&request_id), pending).await?;
            Ok(see_other(&for_request("/authorize/resume", &id)))
        }
        Outcome::NeedsSecondFactor(awaiting) => {
            // A link waiting for this sign-in now waits inside it.
            session::forget_pending_link(session).await?;
            ask_second_factor(session, &awaiting).await
        }
        Outcome::ConfirmLink(link) => {
            session::put_pending_link(session, &link).await?;
            Ok(see_other(&for_request("/login/link", &link.request_id)))
        }
        Outcome::Linked => Ok(see_other("/account")),
        Outcome::Refused {
            provider,
            why,
            back,
        } => {
            session::forget_pending_link(session).await?;
            session::forget_awaiting_second_factor(session).await?;
            let name = provider.as_deref().map(|p| display(state, lang, p));
            Err(refusal(name, why, &back))
        }
    }
}

/// Keeps a sign-in waiting for its second factor and sends the person to give it.
pub async fn ask_second_factor(
    session: &Session,
    awaiting: &AwaitingSecondFactor,
) -> Result<Response, PageError> {
    session::put_awaiting_second_factor(session, awaiting).await?;
    Ok(see_other(&for_request(
        "/login/second-factor",
        &awaiting.request_id,
    )))
}

/// Why a sign-in was refused, as a page that names the provider and leads back.
fn refusal(provider: Option<String>, why: Failure, back: &Back) -> PageError {
    let error = match (why, provider) {
        (Failure::Expired, Some(name)) => PageError::with(
            StatusCode::BAD_REQUEST,
            PageMessage::About {
                subject: name,
                text: |t| t.upstream_expired,
                detail: None,
            },
        ),
        (Failure::Expired, None) => PageError::request_expired(),
        (Failure::Provider(e), name) => {
            return upstream_failure(&name.unwrap_or_default(), &e, back);
        }
        (Failure::Link(e), _) => return link_failure(e, back),
    };
    with_back(error, back)
}

fn with_back(error: PageError, back: &Back) -> PageError {
    match back {
        Back::Login(request) => error.back(login_again(request), |t| t.back_to_login),
        Back::Account => error.back("/account", |t| t.back_to_account),
    }
}

/// A failed round trip, shown as a page that names the provider and leads back.
pub fn upstream_failure(name: &str, e: &FederationError, back: &Back) -> PageError {
    let (status, text): (StatusCode, Text) = match e {
        FederationError::UnknownProvider => (StatusCode::NOT_FOUND, |t| t.error_bad_request),
        FederationError::Refused => (StatusCode::FORBIDDEN, |t| t.upstream_refused),
        FederationError::Timeout => (StatusCode::GATEWAY_TIMEOUT, |t| t.upstream_timeout),
        FederationError::Upstream { .. } | FederationError::Unreachable(_) => {
            (StatusCode::BAD_GATEWAY, |t| t.upstream_failed)
        }
        FederationError::Invalid(_) => (StatusCode::BAD_GATEWAY, |t| t.upstream_invalid),
        // Not the provider's fault nor the person's: this app asks for more than the
        // provider can prove; the login page offers the other ways.
        FederationError::NotFresh => (StatusCode::FORBIDDEN, |t| t.upstream_not_fresh),
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
    with_back(PageError::with(status, message), back)
}

pub fn link_failure(e: LinkError, back: &Back) -> PageError {
    let (status, text): (StatusCode, Text) = match e {
        LinkError::Disabled => (StatusCode::FORBIDDEN, |t| t.account_unavailable),
        LinkError::LinkedElsewhere => (StatusCode::CONFLICT, |t| t.linked_elsewhere),
        LinkError::ProviderTaken => (StatusCode::CONFLICT, |t| t.provider_taken),
        LinkError::Store(e) => return PageError::unavailable(e),
    };
    with_back(PageError::new(status, text), back)
}
