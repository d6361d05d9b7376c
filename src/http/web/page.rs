//! What every page handler needs: the language, the request id, and error pages.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::i18n::{self, Lang};
use super::views::ErrorPage;
use crate::http::middleware::RequestId;

#[derive(Clone, Debug)]
pub struct PageContext {
    pub accept_language: Option<String>,
    pub request_id: String,
}

impl<S: Send + Sync> FromRequestParts<S> for PageContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self {
            accept_language: parts
                .headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            request_id: parts
                .extensions
                .get::<RequestId>()
                .map(|r| r.0.clone())
                .unwrap_or_default(),
        })
    }
}

impl PageContext {
    /// `ui_locales` of the authorization request wins over the browser's languages.
    pub fn lang(&self, ui_locales: Option<&str>) -> Lang {
        i18n::negotiate(ui_locales, self.accept_language.as_deref())
    }

    pub fn error(&self, lang: Lang, status: StatusCode, message: impl Into<String>) -> Response {
        let t = lang.texts();
        let page = ErrorPage {
            t,
            title: t.error_title.to_owned(),
            message: message.into(),
            request_id: self.request_id.clone(),
        };
        (status, no_store(page.into_response())).into_response()
    }

    /// For failures of ours (storage, signing): a 503 page that says to try again.
    pub fn unavailable(&self, lang: Lang, what: impl std::fmt::Display) -> Response {
        tracing::error!(error = %what, "page failed");
        self.error(
            lang,
            StatusCode::SERVICE_UNAVAILABLE,
            lang.texts().try_again_later,
        )
    }
}

/// Pages carry per-session tokens: never cache them.
pub fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// 303 See Other: after a form post, the browser follows with GET.
pub fn see_other(location: &str) -> Response {
    no_store(Redirect::to(location).into_response())
}
