//! The signed-in administrator as an extractor, and the portal's error: a
//! handler names [`Admin`] (or [`Posted`] for a form) and gets one, or the
//! request is answered before it runs (sign in again, no role, a form from
//! elsewhere); a failed action returns [`PortalError`] with `?`.

use std::borrow::Cow;

use actix_web::cookie::Cookie;
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use askama::Template;
use futures_util::future::LocalBoxFuture;

use super::{
    FormPairs, admin_cookie_name, no_admin_role_page, return_path, sign_out_then_in, standalone,
};
use crate::domain::DomainError;
use crate::domain::permission::Permission;
use crate::service::Caller;
use crate::service::token::BearerError;
use crate::state::AppState;
use crate::web::error::{Family, Problem, problem};
use crate::web::pages::{enc, found, html, see_other, with_cookie};
use crate::web::request_meta;

/// Which sections the signed-in admin's permissions open.
#[derive(Clone, Debug)]
pub struct Nav {
    pub users: bool,
    pub groups: bool,
    pub policy: bool,
    pub clients: bool,
    pub audit: bool,
    pub webhooks: bool,
}

/// What every portal page shows around its content.
#[derive(Clone, Debug)]
pub struct Chrome {
    pub csrf: String,
    pub me: String,
    pub nav: Nav,
    pub section: &'static str,
    pub notice: Option<&'static str>,
}

/// A signed-in administrator, ready to act.
pub struct Admin {
    pub caller: Caller,
    pub chrome: Chrome,
    csrf_cookie: Option<Cookie<'static>>,
}

impl Admin {
    pub fn can(&self, p: Permission) -> bool {
        self.caller.permissions.contains(&p)
    }

    /// Renders a portal page, setting the CSRF cookie if it is new.
    pub fn page(&self, status: StatusCode, page: &impl Template) -> HttpResponse {
        with_cookie(html(status, page), self.csrf_cookie.as_ref())
    }

    /// A page of its own words instead of the one asked for, linking to
    /// `back`.
    pub fn explain(
        &self,
        status: StatusCode,
        title: &'static str,
        detail: &'static str,
        back: &str,
    ) -> PortalError {
        PortalError::Problem(Box::new(Failed {
            chrome: Chrome {
                notice: None,
                ..self.chrome.clone()
            },
            csrf_cookie: self.csrf_cookie.clone(),
            problem: Problem {
                status,
                title,
                detail: detail.into(),
            },
            back: back.to_owned(),
        }))
    }

    /// A failed action, to be explained on a portal page linking to `back`.
    pub fn problem(&self, e: &DomainError, back: &str) -> PortalError {
        PortalError::Problem(Box::new(Failed {
            chrome: Chrome {
                notice: None,
                ..self.chrome.clone()
            },
            csrf_cookie: self.csrf_cookie.clone(),
            problem: problem(Family::Portal, e),
            back: back.to_owned(),
        }))
    }
}

/// Attaches the portal page a failed action links back to:
/// `state.admin.get_user(..).await.back_to(&admin, "/admin/users")?`.
pub trait BackTo<T> {
    fn back_to(self, admin: &Admin, back: &str) -> Result<T, PortalError>;
}

impl<T> BackTo<T> for Result<T, DomainError> {
    fn back_to(self, admin: &Admin, back: &str) -> Result<T, PortalError> {
        self.map_err(|e| admin.problem(&e, back))
    }
}

/// A failed action and what its page shows around the explanation.
#[derive(Debug)]
pub struct Failed {
    chrome: Chrome,
    csrf_cookie: Option<Cookie<'static>>,
    problem: Problem,
    back: String,
}

/// What the portal answers instead of the page asked for.
#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    /// Not signed in (any more): a new sign-in is one redirect away (SSO),
    /// back to the page asked for (a `GET`'s path and query) after.
    #[error("not signed in to the admin portal")]
    SignIn(Option<String>),
    /// A page for people who are not (or no longer) signed in.
    #[error("{title}")]
    Standalone {
        status: StatusCode,
        title: &'static str,
        detail: Cow<'static, str>,
    },
    /// Signed in, but without an administrator role; the page offers to
    /// sign in as someone else (through this link).
    #[error("no administrator role")]
    NoAdminRole(String),
    /// A failed action, explained on a portal page.
    #[error("{}", .0.problem.title)]
    Problem(Box<Failed>),
    /// A confirmation form posted without its box ticked: back to the
    /// page (303), nothing done.
    #[error("not confirmed")]
    Unconfirmed(String),
    /// What actix answers itself (a body it could not read).
    #[error("{0}")]
    Request(actix_web::Error),
}

impl PortalError {
    pub fn page(
        status: StatusCode,
        title: &'static str,
        detail: impl Into<Cow<'static, str>>,
    ) -> Self {
        PortalError::Standalone {
            status,
            title,
            detail: detail.into(),
        }
    }

    /// The signed-in account holds no administrator role.
    pub fn no_admin_role(state: &AppState) -> Self {
        Self::NoAdminRole(sign_out_then_in(state))
    }
}

#[derive(Template)]
#[template(path = "admin/problem.html")]
struct ProblemPage<'a> {
    chrome: &'a Chrome,
    title: &'a str,
    detail: &'a str,
    back: &'a str,
}

impl ResponseError for PortalError {
    fn status_code(&self) -> StatusCode {
        match self {
            PortalError::SignIn(_) => StatusCode::FOUND,
            PortalError::Standalone { status, .. } => *status,
            PortalError::NoAdminRole(_) => StatusCode::FORBIDDEN,
            PortalError::Problem(f) => f.problem.status,
            PortalError::Unconfirmed(_) => StatusCode::SEE_OTHER,
            PortalError::Request(e) => e.as_response_error().status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            PortalError::SignIn(None) => found("/admin/login"),
            PortalError::SignIn(Some(back)) => {
                found(&format!("/admin/login?return_to={}", enc(back)))
            }
            PortalError::Standalone {
                status,
                title,
                detail,
            } => standalone(*status, title, detail, true),
            PortalError::NoAdminRole(again) => no_admin_role_page(again),
            PortalError::Problem(f) => {
                let page = ProblemPage {
                    chrome: &f.chrome,
                    title: f.problem.title,
                    detail: &f.problem.detail,
                    back: &f.back,
                };
                with_cookie(html(f.problem.status, &page), f.csrf_cookie.as_ref())
            }
            PortalError::Unconfirmed(back) => see_other(back),
            PortalError::Request(e) => e.error_response(),
        }
    }
}

/// The portal section a path is in (the nav marks it): `/admin/users/..`
/// is in "users"; `/admin` itself in none.
fn section_of(path: &str) -> &'static str {
    const SECTIONS: [&str; 6] = ["users", "groups", "policy", "clients", "audit", "webhooks"];
    let first = path
        .strip_prefix("/admin/")
        .and_then(|rest| rest.split('/').next());
    SECTIONS
        .into_iter()
        .find(|s| Some(*s) == first)
        .unwrap_or("")
}

fn nav_of(caller: &Caller) -> Nav {
    let has = |p: Permission| caller.permissions.contains(&p);
    Nav {
        users: has(Permission::UserReadWriteAll),
        groups: has(Permission::GroupReadWriteAll),
        policy: has(Permission::PolicyReadWriteAuthenticationMethod),
        clients: has(Permission::ApplicationReadWriteAll),
        audit: has(Permission::AuditLogReadAll),
        webhooks: has(Permission::WebhookReadWriteAll),
    }
}

/// To the portal's sign-in, and back to this page after if it is one a
/// link can open (a `GET` of a valid [`return_path`]; a form's `POST`
/// cannot be replayed).
fn sign_in_again(req: &HttpRequest) -> PortalError {
    let here = match req.query_string() {
        "" => req.path().to_owned(),
        q => format!("{}?{q}", req.path()),
    };
    let back = (req.method() == actix_web::http::Method::GET)
        .then(|| return_path(&here).map(str::to_owned))
        .flatten();
    PortalError::SignIn(back)
}

/// The administrator the portal cookie's access token belongs to.
async fn signed_in(req: &HttpRequest, state: &AppState) -> Result<Admin, PortalError> {
    let token = req
        .cookie(admin_cookie_name(state))
        .ok_or_else(|| sign_in_again(req))?;
    let caller = state
        .tokens
        .authenticate_bearer(token.value(), request_meta(req))
        .await
        .map_err(|e| match e {
            BearerError::Unavailable(_) => PortalError::page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable",
                "The directory cannot be reached right now. Please try again shortly.",
            ),
            // Expired or revoked: a new sign-in is one redirect away (SSO).
            _ => sign_in_again(req),
        })?;
    if caller.permissions.is_empty() {
        return Err(PortalError::no_admin_role(state));
    }
    let (chrome, csrf_cookie) = chrome(req, state, &caller);
    Ok(Admin {
        caller,
        chrome,
        csrf_cookie,
    })
}

/// What the pages of `caller` show around their content, and the CSRF
/// cookie to set if the browser has none yet.
fn chrome(
    req: &HttpRequest,
    state: &AppState,
    caller: &Caller,
) -> (Chrome, Option<Cookie<'static>>) {
    // Read with the roles when the token was checked: no second lookup.
    let me = caller
        .upn
        .clone()
        .unwrap_or_else(|| caller.actor.id.clone());
    let (csrf, csrf_cookie) = state.cookies.csrf(req, &*state.ctx.rng);
    let chrome = Chrome {
        csrf,
        me,
        nav: nav_of(caller),
        section: section_of(req.path()),
        notice: None,
    };
    (chrome, csrf_cookie)
}

async fn app_state(req: &HttpRequest) -> Result<web::Data<AppState>, PortalError> {
    web::Data::<AppState>::extract(req)
        .await
        .map_err(PortalError::Request)
}

impl FromRequest for Admin {
    type Error = PortalError;
    type Future = LocalBoxFuture<'static, Result<Self, PortalError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { signed_in(&req, &*app_state(&req).await?).await })
    }
}

/// A signed-in administrator's form, once its CSRF token checks out.
pub struct Posted {
    pub admin: Admin,
    pub form: FormPairs,
}

impl FromRequest for Posted {
    type Error = PortalError;
    type Future = LocalBoxFuture<'static, Result<Self, PortalError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let body = web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            let body = body.await.map_err(PortalError::Request)?;
            let state = app_state(&req).await?;
            let admin = signed_in(&req, &state).await?;
            let form = FormPairs::parse(&body);
            if !state.cookies.csrf_ok(&req, form.one("csrf")) {
                return Err(admin.problem(
                    &DomainError::Forbidden(
                        "This form expired or came from somewhere else. Go back, reload the page and try again."
                            .into(),
                    ),
                    "/admin",
                ));
            }
            Ok(Posted { admin, form })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::section_of;

    #[test]
    fn the_section_is_the_first_segment_under_admin() {
        assert_eq!(section_of("/admin"), "");
        assert_eq!(section_of("/admin/users"), "users");
        assert_eq!(section_of("/admin/users/u1/confirm"), "users");
        assert_eq!(section_of("/admin/groups/g1"), "groups");
        assert_eq!(section_of("/admin/policy/tap"), "policy");
        assert_eq!(section_of("/admin/clients/c1/delete"), "clients");
        assert_eq!(section_of("/admin/audit"), "audit");
        assert_eq!(section_of("/admin/usersx"), "");
    }
}
