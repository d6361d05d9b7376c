//! The consent page: which app wants what, Allow or Deny.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tower_sessions::Session;

use super::i18n::scope_description;
use super::page::{PageContext, no_store, see_other};
use super::views::{ConsentPage, ScopeView};
use crate::app::AppState;
use crate::http::oauth::authorize::issue_and_redirect;
use crate::http::session;
use crate::oauth::client::Client;
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::grant::authorization_code::Authentication;
use crate::oauth::redirect;
use crate::oauth::scope::Scopes;

#[derive(Deserialize)]
pub struct ConsentQuery {
    #[serde(default)]
    request: String,
}

#[derive(Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    decision: String,
}

pub async fn show(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    Query(q): Query<ConsentQuery>,
) -> Response {
    let now = state.clock.now();
    let pending = match session::get_pending(&session, &q.request).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            return ctx.error(
                ctx.lang(None),
                StatusCode::BAD_REQUEST,
                ctx.lang(None).texts().request_expired,
            );
        }
        Err(e) => return ctx.unavailable(ctx.lang(None), e),
    };
    let lang = ctx.lang(pending.request.ui_locales.as_deref());
    let auth =
        match session::signed_in(&session, now, state.config.lifetimes.session_absolute).await {
            Ok(Some(a)) => a,
            Ok(None) => return see_other(&format!("/login?request={}", q.request)),
            Err(e) => return ctx.unavailable(lang, e),
        };
    let (client, user) = match (
        Client::find(&state.store, &pending.request.client_id).await,
        state.store.user(&auth.user_id).await,
    ) {
        (Ok(Some(c)), Ok(Some(u))) => (c, u),
        (Ok(None), _) | (_, Ok(None)) => {
            return ctx.error(lang, StatusCode::BAD_REQUEST, lang.texts().request_expired);
        }
        (Err(e), _) | (_, Err(e)) => return ctx.unavailable(lang, e),
    };
    let csrf = match session::csrf_token(&session).await {
        Ok(t) => t,
        Err(e) => return ctx.unavailable(lang, e),
    };
    let page = ConsentPage {
        t: lang.texts(),
        csrf,
        request: q.request,
        client_name: client.record.name,
        user_name: user.name.unwrap_or(user.username),
        scopes: pending
            .request
            .scopes()
            .iter()
            .map(|s| ScopeView {
                name: s.to_owned(),
                description: scope_description(lang, s),
            })
            .collect(),
    };
    no_store(page.into_response())
}

pub async fn submit(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    Form(form): Form<ConsentForm>,
) -> Response {
    let now = state.clock.now();
    let lang = ctx.lang(None);
    match session::csrf_ok(&session, &form.csrf).await {
        Ok(true) => {}
        Ok(false) => return ctx.error(lang, StatusCode::FORBIDDEN, lang.texts().csrf_failed),
        Err(e) => return ctx.unavailable(lang, e),
    }
    let auth =
        match session::signed_in(&session, now, state.config.lifetimes.session_absolute).await {
            Ok(Some(a)) => a,
            Ok(None) => return see_other(&format!("/login?request={}", form.request)),
            Err(e) => return ctx.unavailable(lang, e),
        };
    // Taken, not read: a consent decision is used once.
    let pending = match session::take_pending(&session, &form.request).await {
        Ok(Some(p)) => p,
        Ok(None) => return ctx.error(lang, StatusCode::BAD_REQUEST, lang.texts().request_expired),
        Err(e) => return ctx.unavailable(lang, e),
    };
    let request = pending.request;
    let issuer = state.config.issuer.as_str();
    if form.decision != "allow" {
        let denied = OAuthError::new(ErrorCode::AccessDenied, "the user denied the request");
        return see_other(&redirect::error(
            &request.redirect_uri,
            &denied,
            request.state.as_deref(),
            issuer,
        ));
    }
    // Remember what was granted, together with anything granted before.
    let granted = request.scopes();
    let remembered = match state
        .store
        .consented_scope(&auth.user_id, &request.client_id)
        .await
    {
        Ok(s) => s.and_then(|s| Scopes::parse(&s)).unwrap_or_default(),
        Err(e) => return ctx.unavailable(lang, e),
    };
    let all = remembered.union(&granted).to_string();
    if let Err(e) = state
        .store
        .save_consent(&auth.user_id, &request.client_id, &all, now)
        .await
    {
        return ctx.unavailable(lang, e);
    }
    let authentication = Authentication {
        user_id: auth.user_id,
        auth_time: auth.auth_time,
        amr: auth.amr,
        sid: Some(auth.sid),
    };
    issue_and_redirect(&state, &ctx, &request, &authentication).await
}
