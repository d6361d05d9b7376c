//! Signing out of munjigi itself, and the signed-in home page.

use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tower_sessions::Session;

use super::page::{PageContext, no_store, see_other};
use super::views::{LogoutPage, SignedInPage};
use crate::app::AppState;
use crate::http::session;

#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// Asks first: a GET must never end a session (a link or an image could trigger it).
pub async fn show(ctx: PageContext, session: Session) -> Response {
    let lang = ctx.lang(None);
    match session::csrf_token(&session).await {
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

pub async fn submit(ctx: PageContext, session: Session, Form(form): Form<LogoutForm>) -> Response {
    let lang = ctx.lang(None);
    match session::csrf_ok(&session, &form.csrf).await {
        Ok(true) => {}
        Ok(false) => return ctx.error(lang, StatusCode::FORBIDDEN, lang.texts().csrf_failed),
        Err(e) => return ctx.unavailable(lang, e),
    }
    if let Err(e) = session::sign_out(&session).await {
        return ctx.unavailable(lang, e);
    }
    no_store(
        LogoutPage {
            t: lang.texts(),
            csrf: String::new(),
            done: true,
        }
        .into_response(),
    )
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
