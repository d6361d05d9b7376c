//! `/authorize` (GET and POST) and the continuation after sign-in and consent.

use axum::body::Bytes;
use axum::extract::{Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use tower_sessions::Session;

use crate::app::AppState;
use crate::http::session::{self, Pending};
use crate::http::web::page::{PageContext, see_other};
use crate::oauth::authorize_request::{self, AuthorizationRequest, Rejection, SessionLogin};
use crate::oauth::client::Client;
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::grant::authorization_code::{self, Authentication};
use crate::oauth::params;
use crate::oauth::redirect;
use crate::oauth::scope::Scopes;
use crate::oidc::id_token;

pub async fn authorize_get(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    RawQuery(query): RawQuery,
) -> Response {
    let params = params::decode(query.as_deref().unwrap_or("").as_bytes());
    start(&state, &ctx, &session, params).await
}

pub async fn authorize_post(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    body: Bytes,
) -> Response {
    start(&state, &ctx, &session, params::decode(&body)).await
}

async fn start(
    state: &AppState,
    ctx: &PageContext,
    session: &Session,
    params: Vec<(String, String)>,
) -> Response {
    let ui_locales = params
        .iter()
        .find(|(k, _)| k == "ui_locales")
        .map(|(_, v)| v.as_str());
    let lang = ctx.lang(ui_locales);
    let client_id = params
        .iter()
        .find(|(k, _)| k == "client_id")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    let client = match Client::find(&state.store, client_id).await {
        Ok(c) => c,
        Err(e) => return ctx.unavailable(lang, e),
    };
    match authorize_request::validate(&params, client.as_ref()) {
        Ok(request) => {
            let now = state.clock.now();
            proceed(
                state,
                ctx,
                session,
                None,
                Pending {
                    request,
                    requested_at: now,
                },
            )
            .await
        }
        Err(Rejection::Page(error)) => {
            let message = format!("{} ({})", error.description, error.code.as_str());
            ctx.error(lang, StatusCode::BAD_REQUEST, message)
        }
        Err(Rejection::Redirect {
            redirect_uri,
            state: rp_state,
            error,
        }) => see_other(&redirect::error(
            &redirect_uri,
            &error,
            rp_state.as_deref(),
            state.config.issuer.as_str(),
        )),
    }
}

#[derive(Deserialize)]
pub struct Resume {
    #[serde(default)]
    request: String,
}

/// `/authorize/resume?request=…`: where sign-in and signup return to.
pub async fn resume(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    Query(q): Query<Resume>,
) -> Response {
    match session::get_pending(&session, &q.request).await {
        Ok(Some(pending)) => proceed(&state, &ctx, &session, Some(&q.request), pending).await,
        Ok(None) => ctx.error(
            ctx.lang(None),
            StatusCode::BAD_REQUEST,
            ctx.lang(None).texts().request_expired,
        ),
        Err(e) => ctx.unavailable(ctx.lang(None), e),
    }
}

/// Decides the next step for a valid request: sign in, consent, or a code. `pending_id` is
/// the request's id in the session when it is resumed, so it keeps one id throughout.
async fn proceed(
    state: &AppState,
    ctx: &PageContext,
    session: &Session,
    pending_id: Option<&str>,
    pending: Pending,
) -> Response {
    let request = &pending.request;
    let lang = ctx.lang(request.ui_locales.as_deref());
    let now = state.clock.now();
    let issuer = state.config.issuer.as_str();
    let back = |error: OAuthError| {
        see_other(&redirect::error(
            &request.redirect_uri,
            &error,
            request.state.as_deref(),
            issuer,
        ))
    };

    let client = match Client::find(&state.store, &request.client_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return ctx.error(lang, StatusCode::BAD_REQUEST, lang.texts().request_expired),
        Err(e) => return ctx.unavailable(lang, e),
    };
    let auth = match session::signed_in(session, now, state.config.lifetimes.session_absolute).await
    {
        Ok(a) => a,
        Err(e) => return ctx.unavailable(lang, e),
    };
    // A disabled or deleted account is not signed in, whatever the session says.
    let user = match &auth {
        Some(a) => match state.store.user(&a.user_id).await {
            Ok(u) => u.filter(|u| !u.disabled),
            Err(e) => return ctx.unavailable(lang, e),
        },
        None => None,
    };
    let hint_subject = request
        .id_token_hint
        .as_deref()
        .and_then(|hint| id_token::hint_subject(&state.keys.current(), hint, issuer));
    let login = match (&auth, &user) {
        (Some(a), Some(_)) => Some(SessionLogin {
            user_id: &a.user_id,
            auth_time: a.auth_time,
        }),
        _ => None,
    };
    if authorize_request::needs_login(
        request,
        login,
        pending.requested_at,
        hint_subject.as_deref(),
        now,
    ) {
        if request.prompt.none {
            return back(OAuthError::new(
                ErrorCode::LoginRequired,
                "the user is not signed in",
            ));
        }
        return match session::put_pending(session, pending_id, pending.clone()).await {
            Ok(id) => see_other(&format!("/login?request={id}")),
            Err(e) => ctx.unavailable(lang, e),
        };
    }
    let (Some(auth), Some(user)) = (auth, user) else {
        return ctx.unavailable(lang, "signed-in state vanished");
    };

    let remembered = match state
        .store
        .consented_scope(&user.id, &client.record.id)
        .await
    {
        Ok(s) => s.and_then(|s| Scopes::parse(&s)),
        Err(e) => return ctx.unavailable(lang, e),
    };
    if authorize_request::needs_consent(request, &client, remembered.as_ref()) {
        if request.prompt.none {
            return back(OAuthError::new(
                ErrorCode::ConsentRequired,
                "the user has not consented",
            ));
        }
        return match session::put_pending(session, pending_id, pending.clone()).await {
            Ok(id) => see_other(&format!("/consent?request={id}")),
            Err(e) => ctx.unavailable(lang, e),
        };
    }
    let authentication = Authentication {
        user_id: user.id.clone(),
        auth_time: auth.auth_time,
        amr: auth.amr.clone(),
        sid: Some(auth.sid.clone()),
    };
    if let Some(id) = pending_id {
        // Done with it: the same pending request cannot yield a second code.
        if let Err(e) = session::take_pending(session, id).await {
            return ctx.unavailable(lang, e);
        }
    }
    issue_and_redirect(state, ctx, request, &authentication).await
}

/// Stores a code for the approved request and sends the browser back to the client.
pub async fn issue_and_redirect(
    state: &AppState,
    ctx: &PageContext,
    request: &AuthorizationRequest,
    authentication: &Authentication,
) -> Response {
    let keys = state.keys.current();
    let grant_ctx = state.grant_context(&keys, state.clock.now());
    match authorization_code::issue_code(&grant_ctx, request, authentication).await {
        Ok(code) => see_other(&redirect::success(
            &request.redirect_uri,
            &code,
            request.state.as_deref(),
            state.config.issuer.as_str(),
        )),
        Err(e) => ctx.unavailable(ctx.lang(request.ui_locales.as_deref()), e),
    }
}
