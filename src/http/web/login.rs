//! The sign-in page.

use std::net::SocketAddr;

use axum::Form;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tower_sessions::Session;

use super::page::{PageContext, no_store, see_other};
use super::views::LoginPage;
use crate::account::password;
use crate::app::AppState;
use crate::http::session::{self, SessionAuth};
use crate::oauth::client::Client;

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    #[serde(default)]
    request: String,
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

pub async fn show(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    Query(q): Query<LoginQuery>,
) -> Response {
    render(
        &state,
        &ctx,
        &session,
        &q.request,
        None,
        None,
        StatusCode::OK,
    )
    .await
}

/// Renders the form, prefilled from the pending request (login_hint, client name, language).
async fn render(
    state: &AppState,
    ctx: &PageContext,
    session: &Session,
    request_id: &str,
    username: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let pending = session::get_pending(session, request_id)
        .await
        .ok()
        .flatten();
    let lang = ctx.lang(
        pending
            .as_ref()
            .and_then(|p| p.request.ui_locales.as_deref()),
    );
    let csrf = match session::csrf_token(session).await {
        Ok(t) => t,
        Err(e) => return ctx.unavailable(lang, e),
    };
    let client_name = match &pending {
        Some(p) => Client::find(&state.store, &p.request.client_id)
            .await
            .ok()
            .flatten()
            .map(|c| c.record.name),
        None => None,
    };
    let username = username
        .or_else(|| pending.as_ref().and_then(|p| p.request.login_hint.clone()))
        .unwrap_or_default();
    let page = LoginPage {
        t: lang.texts(),
        csrf,
        request: if pending.is_some() {
            request_id.to_owned()
        } else {
            String::new()
        },
        username,
        error,
        client_name,
        signup_enabled: state.config.signup_enabled,
    };
    (status, no_store(page.into_response())).into_response()
}

pub async fn submit(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(form): Form<LoginForm>,
) -> Response {
    let pending = session::get_pending(&session, &form.request)
        .await
        .ok()
        .flatten();
    let lang = ctx.lang(
        pending
            .as_ref()
            .and_then(|p| p.request.ui_locales.as_deref()),
    );
    let t = lang.texts();
    let again = |error: String, status: StatusCode| {
        render(
            &state,
            &ctx,
            &session,
            &form.request,
            Some(form.username.clone()),
            Some(error),
            status,
        )
    };
    match session::csrf_ok(&session, &form.csrf).await {
        Ok(true) => {}
        Ok(false) => return again(t.csrf_failed.to_owned(), StatusCode::FORBIDDEN).await,
        Err(e) => return ctx.unavailable(lang, e),
    }
    let now = state.clock.now();
    let ip = Some(peer.ip());
    let login = form.username.trim();
    let wait = state.throttle.wait_secs(login, ip, now);
    if wait > 0 {
        return again(
            t.throttled_message(wait as u64),
            StatusCode::TOO_MANY_REQUESTS,
        )
        .await;
    }
    let user = match state.store.user_by_login(login).await {
        Ok(u) => u,
        Err(e) => return ctx.unavailable(lang, e),
    };
    // Unknown user, disabled account and wrong password look the same, and take as long.
    let stored_hash = user
        .as_ref()
        .filter(|u| !u.disabled)
        .and_then(|u| u.password_hash.clone());
    let ok = match password::verify(form.password.clone(), stored_hash).await {
        Ok(ok) => ok,
        Err(e) => return ctx.unavailable(lang, e),
    };
    let user = match (ok, user) {
        (true, Some(user)) => user,
        _ => {
            state.throttle.record_failure(login, ip, now);
            return again(t.invalid_credentials.to_owned(), StatusCode::UNAUTHORIZED).await;
        }
    };
    state.throttle.record_success(login);
    if let Err(e) = session::sign_in(&session, SessionAuth::password(user.id, now)).await {
        return ctx.unavailable(lang, e);
    }
    continue_after_sign_in(pending.is_some(), &form.request)
}

/// Back into the authorization request, or to the signed-in page.
pub fn continue_after_sign_in(has_pending: bool, request_id: &str) -> Response {
    if has_pending {
        see_other(&format!("/authorize/resume?request={request_id}"))
    } else {
        see_other("/")
    }
}
