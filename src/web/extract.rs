//! Extractors for the browser pages and their scripts: a handler names what
//! it needs (a checked form, the signed-in session) and gets it, or the
//! request is answered with the page family's error before the handler runs.

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::domain::DomainError;
use crate::domain::authz::Session;
use crate::state::AppState;
use crate::web::error::{Family, PageError, ScriptError};

/// The application state, which every app of ours carries.
pub(crate) fn state_of(req: &HttpRequest) -> Result<web::Data<AppState>, DomainError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| DomainError::Internal("no application state".into()))
}

/// A form posted by one of our pages, once its `csrf` field matches the
/// browser's CSRF cookie (double submit). A field sent twice is refused;
/// fields `T` does not name are ignored (browsers send button names).
pub struct PageForm<T>(pub T);

impl<T> std::ops::Deref for PageForm<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// The `csrf` field of a form body, refused when it appears twice.
fn csrf_field(body: &[u8]) -> Result<Option<String>, PageError> {
    let mut found = None;
    for (k, v) in url::form_urlencoded::parse(body) {
        if k == "csrf" {
            if found.is_some() {
                return Err(PageError::Csrf);
            }
            found = Some(v.into_owned());
        }
    }
    Ok(found)
}

fn unreadable(detail: String) -> PageError {
    PageError::Page {
        status: StatusCode::BAD_REQUEST,
        title: "This form could not be read",
        detail: detail.into(),
        link: None,
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for PageForm<T> {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let body = web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            let state = state_of(&req).map_err(|e| PageError::Domain(Family::SignIn, e))?;
            let body = body
                .await
                .map_err(|e| unreadable(format!("The form could not be read: {e}")))?;
            if !crate::web::json::is_form(&req) {
                return Err(unreadable(
                    "The form must be sent as application/x-www-form-urlencoded.".into(),
                ));
            }
            if !state.cookies.csrf_ok(&req, csrf_field(&body)?.as_deref()) {
                return Err(PageError::Csrf);
            }
            serde_urlencoded::from_bytes(&body)
                .map(PageForm)
                .map_err(|e| unreadable(format!("The form could not be read: {e}.")))
        })
    }
}

/// The person signed in to this browser (the session cookie), for a page:
/// without one, on to sign in (303, as the security info pages answer).
pub struct SignedIn(pub Session);

impl FromRequest for SignedIn {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = state_of(&req).map_err(|e| PageError::Domain(Family::Account, e))?;
            let to_sign_in = || PageError::SignIn {
                location: "/signin".into(),
                see_other: true,
            };
            let secret = state.cookies.session(&req).ok_or_else(to_sign_in)?;
            match state.signin_sessions.get(&secret).await {
                Ok(Some(s)) => Ok(SignedIn(s.into_session())),
                Ok(None) => Err(to_sign_in()),
                Err(e) => Err(PageError::Domain(Family::Account, e)),
            }
        })
    }
}

/// A page script's request whose `X-CSRF-Token` header matches the
/// browser's CSRF cookie.
pub struct ScriptCsrf;

impl FromRequest for ScriptCsrf {
    type Error = ScriptError;
    type Future = std::future::Ready<Result<Self, ScriptError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let sent = req
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok());
        std::future::ready(match state_of(req) {
            Ok(state) if state.cookies.csrf_ok(req, sent) => Ok(ScriptCsrf),
            Ok(_) => Err(ScriptError::csrf()),
            Err(e) => Err(e.into()),
        })
    }
}

/// The signed-in session behind a page script's request.
pub struct ScriptSession(pub Session);

impl FromRequest for ScriptSession {
    type Error = ScriptError;
    type Future = LocalBoxFuture<'static, Result<Self, ScriptError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = state_of(&req)?;
            let secret = state
                .cookies
                .session(&req)
                .ok_or_else(ScriptError::signed_out)?;
            state
                .signin_sessions
                .get(&secret)
                .await?
                .map(|live| ScriptSession(live.into_session()))
                .ok_or_else(ScriptError::signed_out)
        })
    }
}

/// Who sent the request, for the audit log and rate limits.
impl FromRequest for crate::service::RequestMeta {
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(crate::web::request_meta(req)))
    }
}
