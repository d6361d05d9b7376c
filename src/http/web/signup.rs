//! The signup page (switchable off with `signup_enabled = false`).

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tower_sessions::Session;

use super::i18n::Texts;
use super::login::continue_after_sign_in;
use super::page::{PageContext, no_store};
use super::views::SignupPage;
use crate::account::user::{self, CreateUserError, InvalidUser, NewUser, Role};
use crate::app::AppState;
use crate::http::session::{self, SessionAuth};

#[derive(Deserialize)]
pub struct SignupQuery {
    #[serde(default)]
    request: String,
}

#[derive(Deserialize)]
pub struct SignupForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
}

async fn lang_of(session: &Session, ctx: &PageContext, request: &str) -> super::i18n::Lang {
    let pending = session::get_pending(session, request).await.ok().flatten();
    ctx.lang(
        pending
            .as_ref()
            .and_then(|p| p.request.ui_locales.as_deref()),
    )
}

pub async fn show(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    Query(q): Query<SignupQuery>,
) -> Response {
    let lang = lang_of(&session, &ctx, &q.request).await;
    if !state.config.signup_enabled {
        return ctx.error(lang, StatusCode::NOT_FOUND, lang.texts().signup_disabled);
    }
    let csrf = match session::csrf_token(&session).await {
        Ok(t) => t,
        Err(e) => return ctx.unavailable(lang, e),
    };
    let page = SignupPage {
        t: lang.texts(),
        csrf,
        request: q.request,
        username: String::new(),
        email: String::new(),
        name: String::new(),
        errors: Vec::new(),
    };
    no_store(page.into_response())
}

fn message(t: &Texts, problem: &InvalidUser) -> &'static str {
    match problem {
        InvalidUser::Username => t.username_invalid,
        InvalidUser::Email => t.email_invalid,
        InvalidUser::PasswordTooShort => t.password_too_short,
        InvalidUser::PasswordTooLong => t.password_too_long,
        InvalidUser::Unavailable => t.signup_unavailable,
    }
}

pub async fn submit(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    Form(form): Form<SignupForm>,
) -> Response {
    let lang = lang_of(&session, &ctx, &form.request).await;
    let t = lang.texts();
    if !state.config.signup_enabled {
        return ctx.error(lang, StatusCode::NOT_FOUND, t.signup_disabled);
    }
    let again = |errors: Vec<String>, csrf: String, status: StatusCode| {
        let page = SignupPage {
            t,
            csrf,
            request: form.request.clone(),
            username: form.username.clone(),
            email: form.email.clone(),
            name: form.name.clone(),
            errors,
        };
        (status, no_store(page.into_response())).into_response()
    };
    let csrf = match session::csrf_token(&session).await {
        Ok(t) => t,
        Err(e) => return ctx.unavailable(lang, e),
    };
    match session::csrf_ok(&session, &form.csrf).await {
        Ok(true) => {}
        Ok(false) => return again(vec![t.csrf_failed.to_owned()], csrf, StatusCode::FORBIDDEN),
        Err(e) => return ctx.unavailable(lang, e),
    }
    let now = state.clock.now();
    let new = NewUser {
        username: form.username.trim().to_owned(),
        email: form.email.trim().to_owned(),
        name: Some(form.name.trim().to_owned()),
        password: Some(form.password.clone()),
        role: Role::User,
        email_verified: false,
    };
    let created = match user::create(&state.store, new, now).await {
        Ok(u) => u,
        Err(CreateUserError::Invalid(problems)) => {
            let errors = problems.iter().map(|p| message(t, p).to_owned()).collect();
            return again(errors, csrf, StatusCode::UNPROCESSABLE_ENTITY);
        }
        Err(e) => return ctx.unavailable(lang, e),
    };
    if let Err(e) = session::sign_in(&session, SessionAuth::password(created.id, now)).await {
        return ctx.unavailable(lang, e);
    }
    let has_pending = matches!(
        session::get_pending(&session, &form.request).await,
        Ok(Some(_))
    );
    continue_after_sign_in(has_pending, &form.request)
}
