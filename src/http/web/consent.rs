//! The consent page: which app wants what, Allow or Deny. It shows the question only when the
//! request's next step is consent, and hands the answer to the domain, which decides.

use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tower_sessions::Session;

use super::i18n::scope_description;
use super::page::{Page, for_request, no_store, see_other};
use super::views::{ConsentPage, ScopeView};
use crate::app::AppState;
use crate::http::csrf::Csrf;
use crate::http::error::PageError;
use crate::http::oauth::authorize::{RequestId, advance};
use crate::http::session::{self, MaybeSignedIn};
use crate::oauth::authorize::Next;
use crate::oauth::authorize::flow;

#[derive(Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    decision: String,
}

fn resume(request_id: &str) -> Response {
    see_other(&for_request("/authorize/resume", request_id))
}

pub async fn show(
    State(state): State<AppState>,
    page: Page,
    session: Session,
    csrf: Csrf,
    signed_in: MaybeSignedIn,
    Query(q): Query<RequestId>,
) -> Result<Response, PageError> {
    let pending = session::require_pending(&session, &q.request).await?;
    let lang = page.lang(pending.request.ui_locales.as_deref());
    let keys = state.keys.current();
    let ctx = state.oauth(&keys, state.clock.now());
    let decision = flow::decide(&ctx, &pending, signed_in.sign_in()).await?;
    let (Next::Consent, Some(signed_in)) = (&decision.next, signed_in.0) else {
        // Not at this step (not signed in, or a fresh sign-in is due): wherever it is.
        return Ok(resume(&q.request));
    };
    let page = ConsentPage {
        t: lang.texts(),
        csrf: csrf.token(),
        request: q.request,
        client_name: decision.client.record.name,
        user_name: signed_in.user.name.unwrap_or(signed_in.user.username),
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
    Ok(no_store(page.into_response()))
}

pub async fn submit(
    State(state): State<AppState>,
    page: Page,
    session: Session,
    csrf: Csrf,
    signed_in: MaybeSignedIn,
    Form(form): Form<ConsentForm>,
) -> Result<Response, PageError> {
    csrf.check(&form.csrf)?;
    let mut pending = session::require_pending(&session, &form.request).await?;
    page.lang(pending.request.ui_locales.as_deref());
    let Some(sign_in) = signed_in.sign_in() else {
        return Ok(resume(&form.request));
    };
    let keys = state.keys.current();
    let ctx = state.oauth(&keys, state.clock.now());
    let allowed = form.decision == "allow";
    if !flow::answer_consent(&ctx, &mut pending, sign_in, allowed).await? {
        return Ok(resume(&form.request));
    }
    advance(
        &state,
        &page,
        &session,
        Some(sign_in),
        Some(&form.request),
        pending,
    )
    .await
}
