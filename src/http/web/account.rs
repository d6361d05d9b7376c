//! `/account`: the signed-in person's ways to sign in — link another provider, unlink one
//! (never the last way in).

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tower_sessions::Session;

use super::federation::{provider_class, provider_name, start_link};
use super::page::{Page, no_store, see_other};
use super::views::{AccountPage, LinkOption, MethodView};
use crate::app::AppState;
use crate::http::csrf::Csrf;
use crate::http::error::PageError;
use crate::http::session::SignedIn;

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

#[derive(Deserialize)]
pub struct UnlinkForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    provider: String,
}

pub async fn show(
    State(state): State<AppState>,
    page: Page,
    csrf: Csrf,
    signed_in: SignedIn,
) -> Result<Response, PageError> {
    let t = page.lang(None).texts();
    let user = signed_in.user;
    let identities = state.accounts().identities(&user.id).await?;
    let has_password = user.password_hash.is_some();
    // The last way in stays: a password, or else at least one provider.
    let can_unlink = has_password || identities.len() > 1;
    let federation = &state.federation;
    let mut methods = Vec::new();
    if has_password {
        methods.push(MethodView {
            label: t.password_method.to_owned(),
            provider: String::new(),
            detail: None,
            can_unlink: false,
        });
    }
    for identity in &identities {
        let label = federation.connector(&identity.provider).map_or_else(
            || identity.provider.clone(),
            |c| provider_name(t, c.as_ref()),
        );
        methods.push(MethodView {
            label,
            provider: identity.provider.clone(),
            detail: identity.email.clone(),
            can_unlink,
        });
    }
    let link_options = federation
        .connectors()
        .iter()
        .filter(|c| !identities.iter().any(|i| i.provider == c.id()))
        .map(|c| LinkOption {
            id: c.id().to_owned(),
            label: provider_name(t, c.as_ref()),
            class: provider_class(c.kind()),
        })
        .collect();
    let view = AccountPage {
        t,
        csrf: csrf.token(),
        user_name: user.name.clone().unwrap_or(user.username.clone()),
        username: user.username,
        email: user.email,
        methods,
        link_options,
    };
    Ok(no_store(view.into_response()))
}

pub async fn unlink(
    State(state): State<AppState>,
    page: Page,
    csrf: Csrf,
    signed_in: SignedIn,
    Form(form): Form<UnlinkForm>,
) -> Result<Response, PageError> {
    page.lang(None);
    csrf.check(&form.csrf)?;
    let accounts = state.accounts();
    let user_id = &signed_in.user.id;
    let linked = accounts.identities(user_id).await?;
    if !linked.iter().any(|i| i.provider == form.provider) {
        return Ok(see_other("/account"));
    }
    let removed = accounts
        .unlink_upstream(user_id, &form.provider, state.clock.now())
        .await?;
    if !removed {
        return Err(
            PageError::new(StatusCode::CONFLICT, |t| t.unlink_last_refused)
                .back("/account", |t| t.back_to_account),
        );
    }
    Ok(see_other("/account"))
}

pub async fn link(
    State(state): State<AppState>,
    page: Page,
    session: Session,
    csrf: Csrf,
    signed_in: SignedIn,
    Path(provider): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    page.lang(None);
    csrf.check(&form.csrf)?;
    start_link(&state, &page, &session, &provider, &signed_in.user.id).await
}
