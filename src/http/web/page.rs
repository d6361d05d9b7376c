//! What every page handler needs: the language and the request id; and the layer that turns
//! a `PageError` into an error page in that language.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::i18n::{self, Lang};
use super::views::ErrorPage;
use crate::http::error::{PageError, PageErrorView, PageMessage};
use crate::http::middleware::RequestId;

/// The language a handler settled on, shared with `render_errors` through the request's
/// extensions (0: not chosen yet).
#[derive(Clone, Default)]
struct ChosenLang(Arc<AtomicU8>);

impl ChosenLang {
    fn set(&self, lang: Lang) {
        let code = match lang {
            Lang::Ko => 1,
            Lang::En => 2,
        };
        self.0.store(code, Ordering::Relaxed);
    }

    fn get(&self) -> Option<Lang> {
        match self.0.load(Ordering::Relaxed) {
            1 => Some(Lang::Ko),
            2 => Some(Lang::En),
            _ => None,
        }
    }
}

/// The page side of a request: its languages and id.
#[derive(Clone)]
pub struct Page {
    accept_language: Option<String>,
    chosen: ChosenLang,
}

impl<S: Send + Sync> FromRequestParts<S> for Page {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self {
            accept_language: accept_language(parts.headers.get(header::ACCEPT_LANGUAGE)),
            chosen: parts
                .extensions
                .get::<ChosenLang>()
                .cloned()
                .unwrap_or_default(),
        })
    }
}

fn accept_language(value: Option<&HeaderValue>) -> Option<String> {
    value.and_then(|v| v.to_str().ok()).map(str::to_owned)
}

impl Page {
    /// The page language: `ui_locales` of the authorization request wins over the browser's
    /// languages. Error pages of this request use it too.
    pub fn lang(&self, ui_locales: Option<&str>) -> Lang {
        let lang = i18n::negotiate(ui_locales, self.accept_language.as_deref());
        self.chosen.set(lang);
        lang
    }

    /// The pending request `request` of this browser (if any), and the page language it asks
    /// for (`ui_locales`) or else the browser's.
    pub async fn for_pending(
        &self,
        session: &tower_sessions::Session,
        request: &str,
    ) -> Result<(Option<crate::oauth::authorize::Pending>, Lang), crate::http::session::SessionError>
    {
        let pending = crate::http::session::get_pending(session, request).await?;
        let lang = self.lang(
            pending
                .as_ref()
                .and_then(|p| p.request.ui_locales.as_deref()),
        );
        Ok((pending, lang))
    }
}

/// Renders the `PageError`s of browser routes: in the handler's language (else the browser's),
/// with the request id so a report can be matched with the logs.
pub async fn render_errors(mut request: Request, next: Next) -> Response {
    let chosen = ChosenLang::default();
    request.extensions_mut().insert(chosen.clone());
    let accept = accept_language(request.headers().get(header::ACCEPT_LANGUAGE));
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let response = next.run(request).await;
    let view = match response.extensions().get::<PageErrorView>() {
        Some(view) => view.clone(),
        // The session layer's own failure (its store unreachable while saving): an empty
        // 500. For a person that is "try again later", as a page.
        None if response.status() == StatusCode::INTERNAL_SERVER_ERROR
            && !response.headers().contains_key(header::CONTENT_TYPE) =>
        {
            tracing::error!("session storage failed");
            let unavailable =
                PageError::new(StatusCode::SERVICE_UNAVAILABLE, |t| t.try_again_later);
            let mut replaced = unavailable.into_response();
            replaced
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            return render(replaced, chosen, accept, request_id);
        }
        None => return response,
    };
    render_view(response, view, chosen, accept, request_id)
}

fn render(
    response: Response,
    chosen: ChosenLang,
    accept: Option<String>,
    request_id: String,
) -> Response {
    match response.extensions().get::<PageErrorView>().cloned() {
        Some(view) => render_view(response, view, chosen, accept, request_id),
        None => response,
    }
}

fn render_view(
    response: Response,
    view: PageErrorView,
    chosen: ChosenLang,
    accept: Option<String>,
    request_id: String,
) -> Response {
    let lang = chosen
        .get()
        .unwrap_or_else(|| i18n::negotiate(None, accept.as_deref()));
    let t = lang.texts();
    let page = ErrorPage {
        t,
        title: t.error_title.to_owned(),
        message: match view.message {
            PageMessage::Text(text) => text(t).to_owned(),
            PageMessage::Plain(m) => m,
            PageMessage::About {
                subject,
                text,
                detail: None,
            } => format!("{subject}: {}", text(t)),
            PageMessage::About {
                subject,
                text,
                detail: Some(detail),
            } => format!("{subject}: {} ({detail})", text(t)),
        },
        request_id,
        back_href: view
            .back
            .as_ref()
            .map_or_else(|| "/".to_owned(), |(href, _)| href.clone()),
        back_label: view.back.map_or(t.back_link, |(_, label)| label(t)),
    };
    let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
    let mut rendered = (response.status(), no_store(page.into_response())).into_response();
    if let Some(value) = retry_after {
        rendered.headers_mut().insert(header::RETRY_AFTER, value);
    }
    rendered
}

/// Pages carry per-session tokens: never cache them.
pub fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `path` for the pending authorization request `request` (`/login?request=…`), or the bare
/// path when there is none.
pub fn for_request(path: &str, request: &str) -> String {
    if request.is_empty() {
        return path.to_owned();
    }
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("request", request)
        .finish();
    format!("{path}?{q}")
}

/// 303 See Other: after a form post, the browser follows with GET.
pub fn see_other(location: &str) -> Response {
    no_store(Redirect::to(location).into_response())
}

/// Adds `Retry-After` to a 429 or 503 that is a page of its own (the login form again).
pub fn retry_after(mut response: Response, secs: i64) -> Response {
    if let Ok(value) = HeaderValue::from_str(&secs.max(1).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}
