//! Signing out of munjigi itself, and the signed-in home page.

use axum::Form;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tower_sessions::Session;

use super::i18n::Lang;
use super::page::{PageContext, no_store, see_other};
use super::views::{LogoutPage, SignedInPage};
use crate::app::AppState;
use crate::http::session;
use crate::oauth::client::Client;
use crate::oauth::error::OAuthError;
use crate::oauth::params;
use crate::oidc::backchannel;
use crate::oidc::logout::{self, LogoutRequest};

#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// Asks first: a GET must never end a session (a link or an image could trigger it).
pub async fn show(ctx: PageContext, session: Session) -> Response {
    confirm(&ctx, &session, ctx.lang(None)).await
}

async fn confirm(ctx: &PageContext, session: &Session, lang: Lang) -> Response {
    match session::csrf_token(session).await {
        Ok(csrf) => no_store(
            LogoutPage {
                t: lang.texts(),
                csrf,
                done: false,
            }
            .into_response(),
        ),
        Err(e) => ctx.unavailable(lang, e),
    }
}

/// The confirmed sign-out, from munjigi's own page or an RP-initiated request.
pub async fn submit(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    Form(form): Form<LogoutForm>,
) -> Response {
    let pending: Option<LogoutRequest> = session.get(PENDING_LOGOUT).await.ok().flatten();
    let lang = ctx.lang(pending.as_ref().and_then(|p| p.ui_locales.as_deref()));
    match session::csrf_ok(&session, &form.csrf).await {
        Ok(true) => {}
        Ok(false) => return ctx.error(lang, StatusCode::FORBIDDEN, lang.texts().csrf_failed),
        Err(e) => return ctx.unavailable(lang, e),
    }
    finish(&state, &ctx, &session, lang, pending.unwrap_or_default()).await
}

const PENDING_LOGOUT: &str = "end_session";

/// `end_session_endpoint` (RP-Initiated Logout 1.0), GET and POST.
pub async fn end_session_get(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    RawQuery(query): RawQuery,
) -> Response {
    let params = params::decode(query.as_deref().unwrap_or("").as_bytes());
    end_session(&state, &ctx, &session, params).await
}

pub async fn end_session_post(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    body: Bytes,
) -> Response {
    let params = params::decode(&body);
    end_session(&state, &ctx, &session, params).await
}

async fn end_session(
    state: &AppState,
    ctx: &PageContext,
    session: &Session,
    params: Vec<(String, String)>,
) -> Response {
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let lang = ctx.lang(get("ui_locales"));
    let refuse = |e: OAuthError| {
        ctx.error(
            lang,
            StatusCode::BAD_REQUEST,
            format!("{} ({})", e.description, e.code.as_str()),
        )
    };
    if let Err(e) = params::refuse_repeated(&params) {
        return refuse(e);
    }
    let keys = state.keys.current();
    let issuer = state.config.issuer.as_str();
    let hint = match get("id_token_hint")
        .map(|h| logout::read_hint(&keys, h, issuer))
        .transpose()
    {
        Ok(h) => h,
        Err(e) => return refuse(e),
    };
    let client_id = match logout::client_id_of(get("client_id"), hint.as_ref()) {
        Ok(id) => id,
        Err(e) => return refuse(e),
    };
    let client = match client_id {
        Some(id) => match Client::find(&state.store, &id).await {
            Ok(Some(c)) => Some(c),
            Ok(None) => return refuse(OAuthError::invalid_request("unknown client_id")),
            Err(e) => return ctx.unavailable(lang, e),
        },
        None => None,
    };
    let request = match logout::validate(
        client.as_ref(),
        get("post_logout_redirect_uri"),
        get("state"),
        get("ui_locales"),
        hint.as_ref(),
    ) {
        Ok(r) => r,
        Err(e) => return refuse(e),
    };
    let auth = match session::signed_in(
        session,
        state.clock.now(),
        state.config.lifetimes.session_absolute,
    )
    .await
    {
        Ok(a) => a,
        Err(e) => return ctx.unavailable(lang, e),
    };
    match auth {
        // Nobody signed in here: nothing to end.
        None => done(&request, lang),
        Some(a) if request.matches_session(&a.user_id, &a.sid) => {
            finish(state, ctx, session, lang, request).await
        }
        Some(_) => {
            // Not provably this session's request: ask, keeping the request for the answer.
            if let Err(e) = session.insert(PENDING_LOGOUT, &request).await {
                return ctx.unavailable(lang, e);
            }
            confirm(ctx, session, lang).await
        }
    }
}

/// Ends the session server-side, tells the clients it signed in to (back-channel), and sends
/// the browser on.
async fn finish(
    state: &AppState,
    ctx: &PageContext,
    session: &Session,
    lang: Lang,
    request: LogoutRequest,
) -> Response {
    let now = state.clock.now();
    let auth = match session::signed_in(session, now, state.config.lifetimes.session_absolute).await
    {
        Ok(a) => a,
        Err(e) => return ctx.unavailable(lang, e),
    };
    if let Err(e) = session::sign_out(session).await {
        return ctx.unavailable(lang, e);
    }
    if let Some(auth) = auth {
        notify_clients(state, &auth.user_id, &auth.sid, now).await;
    }
    done(&request, lang)
}

async fn notify_clients(state: &AppState, user_id: &str, sid: &str, now: i64) {
    let client_ids = match state.store.take_session_clients(sid).await {
        Ok(ids) => ids,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list the session's clients for back-channel logout");
            return;
        }
    };
    let keys = state.keys.current();
    for id in client_ids {
        let Ok(Some(client)) = Client::find(&state.store, &id).await else {
            continue;
        };
        let Some(uri) = client.record.backchannel_logout_uri.clone() else {
            continue;
        };
        match logout::logout_token(
            &keys,
            &client,
            state.config.issuer.as_str(),
            user_id,
            sid,
            now,
        ) {
            Ok(token) => backchannel::deliver(&state.http, uri, token),
            Err(e) => tracing::warn!(error = %e, client_id = id, "cannot sign a logout token"),
        }
    }
}

fn done(request: &LogoutRequest, lang: Lang) -> Response {
    match request.redirect() {
        Some(location) => see_other(&location),
        None => no_store(
            LogoutPage {
                t: lang.texts(),
                csrf: String::new(),
                done: true,
            }
            .into_response(),
        ),
    }
}

pub async fn home(State(state): State<AppState>, ctx: PageContext, session: Session) -> Response {
    let lang = ctx.lang(None);
    let now = state.clock.now();
    let auth =
        match session::signed_in(&session, now, state.config.lifetimes.session_absolute).await {
            Ok(Some(a)) => a,
            Ok(None) => return see_other("/login"),
            Err(e) => return ctx.unavailable(lang, e),
        };
    let user = match state.store.user(&auth.user_id).await {
        Ok(Some(u)) if !u.disabled => u,
        Ok(_) => return see_other("/login"),
        Err(e) => return ctx.unavailable(lang, e),
    };
    match session::csrf_token(&session).await {
        Ok(csrf) => no_store(
            SignedInPage {
                t: lang.texts(),
                user_name: user.name.unwrap_or(user.username),
                csrf,
            }
            .into_response(),
        ),
        Err(e) => ctx.unavailable(lang, e),
    }
}
