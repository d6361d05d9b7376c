//! The authorization request's steps against the store: start it, decide what comes next,
//! record a consent answer, issue the code. Handlers call these and render the answer.

use crate::audit::{Event, EventKind};
use crate::oauth::client::Client;
use crate::oauth::context::OAuthContext;
use crate::oauth::error::OAuthError;
use crate::oauth::grant::authorization_code::{self, Authentication};
use crate::oauth::id_token;
use crate::oauth::params::Params;
use crate::oauth::redirect;
use crate::oauth::scope::Scopes;
use crate::oauth::sign_in::SignIn;
use crate::store::StoreError;

use super::next_step::{self, ConsentAnswer, Next, Pending, Situation};
use super::request::{self, AuthorizationRequest, Rejection};

#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// The client was deleted while the request waited.
    #[error("the client of this request no longer exists")]
    ClientGone,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What became of a new request at `/authorize`.
#[derive(Debug)]
pub enum Started {
    /// Valid: its steps can begin.
    Pending(Box<Pending>),
    /// Invalid, with a trusted redirect URI: send the browser there.
    Refused(String),
    /// The client or redirect URI cannot be trusted: show this error, never redirect.
    Invalid(OAuthError),
}

pub async fn start(ctx: &OAuthContext<'_>, params: &Params) -> Result<Started, StoreError> {
    let client = match params.single("client_id") {
        Ok(Some(id)) => ctx.client(id).await?,
        // Missing, repeated or malformed: validation says which, on a page.
        _ => None,
    };
    Ok(match request::validate(params, client.as_ref()) {
        Ok(request) => match &request.id_token_hint {
            // A hint that is not an ID token of ours is refused, not ignored.
            Some(hint) if let Err(error) = id_token::verify_hint(ctx.keys, hint, ctx.issuer) => {
                Started::Refused(redirect::error(
                    &request.redirect_uri,
                    &error,
                    request.state.as_deref(),
                    ctx.issuer,
                ))
            }
            _ => Started::Pending(Box::new(Pending::new(request, ctx.now))),
        },
        Err(Rejection::Page(error)) => Started::Invalid(error),
        Err(Rejection::Redirect {
            redirect_uri,
            state,
            error,
        }) => Started::Refused(redirect::error(
            &redirect_uri,
            &error,
            state.as_deref(),
            ctx.issuer,
        )),
    })
}

/// The next step, with the client (which pages show by name).
pub struct Decision {
    pub next: Next,
    pub client: Client,
}

/// Decides the next step of `pending` for the browser's current sign-in (`None` when nobody,
/// or nobody active, is signed in).
pub async fn decide(
    ctx: &OAuthContext<'_>,
    pending: &Pending,
    sign_in: Option<&SignIn>,
) -> Result<Decision, FlowError> {
    let request = &pending.request;
    let client = ctx
        .client(&request.client_id)
        .await?
        .ok_or(FlowError::ClientGone)?;
    let remembered = match sign_in {
        Some(s) => ctx
            .store
            .consented_scope(&s.user_id, client.id())
            .await?
            .and_then(|scope| Scopes::parse(&scope)),
        None => None,
    };
    // Looked up only when two factors may be needed.
    let has_second_factor = match sign_in {
        Some(s)
            if (client.record.require_mfa || request.asks_for_two_factors())
                && !crate::oauth::acr::is_multi_factor(&s.amr) =>
        {
            ctx.store.has_second_factor(&s.user_id).await?
        }
        _ => false,
    };
    let hint_subject = request
        .id_token_hint
        .as_deref()
        .and_then(|hint| id_token::hint_subject(ctx.keys, hint, ctx.issuer));
    let next = next_step::next_step(
        pending,
        &Situation {
            sign_in,
            hint_subject: hint_subject.as_deref(),
            client: &client,
            remembered: remembered.as_ref(),
            has_second_factor,
            now: ctx.now,
        },
    );
    Ok(Decision { next, client })
}

/// Records the person's answer on the consent page, if consent is what the request is
/// waiting for under this sign-in; an allowed request's scopes are remembered. Returns
/// whether the answer was taken (otherwise the request is at another step and nothing
/// changed).
pub async fn answer_consent(
    ctx: &OAuthContext<'_>,
    pending: &mut Pending,
    sign_in: &SignIn,
    allowed: bool,
) -> Result<bool, FlowError> {
    let decision = decide(ctx, pending, Some(sign_in)).await?;
    if decision.next != Next::Consent {
        return Ok(false);
    }
    if allowed {
        let client_id = decision.client.id();
        let before = ctx
            .store
            .consented_scope(&sign_in.user_id, client_id)
            .await?
            .and_then(|s| Scopes::parse(&s))
            .unwrap_or_default();
        let all = before.union(&pending.request.scopes()).to_string();
        ctx.store
            .save_consent(&sign_in.user_id, client_id, &all, ctx.now)
            .await?;
        let event = Event::new(EventKind::ConsentGiven)
            .user(sign_in.user_id.clone())
            .client(Some(client_id))
            .with("scope", all);
        ctx.audit.record(event, ctx.now);
    }
    pending.consent = Some(ConsentAnswer {
        sid: sign_in.sid.clone(),
        allowed,
    });
    Ok(true)
}

/// Stores a single-use code for `sign_in` and returns where to send the browser.
pub async fn issue(
    ctx: &OAuthContext<'_>,
    request: &AuthorizationRequest,
    sign_in: &SignIn,
) -> Result<String, StoreError> {
    let authentication = Authentication {
        user_id: sign_in.user_id.clone(),
        auth_time: sign_in.auth_time,
        amr: sign_in.amr.clone(),
        sid: Some(sign_in.sid.clone()),
        idp: sign_in.idp.clone(),
    };
    let code = authorization_code::issue_code(ctx, request, &authentication).await?;
    Ok(redirect::success(
        &request.redirect_uri,
        &code,
        request.state.as_deref(),
        ctx.issuer,
    ))
}

/// Where to send the browser to tell the client `error`.
pub fn refusal(
    ctx: &OAuthContext<'_>,
    request: &AuthorizationRequest,
    error: &OAuthError,
) -> String {
    redirect::error(
        &request.redirect_uri,
        error,
        request.state.as_deref(),
        ctx.issuer,
    )
}
