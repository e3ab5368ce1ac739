//! `/admin`: the admin portal. It signs administrators in through this
//! server's own OIDC flow, as the built-in public client
//! [`PORTAL_CLIENT_ID`], and then acts with the delegated access token: the
//! portal and the admin API go through one rule set (`Caller::authorize`).

mod audit;
mod groups;
mod settings;
mod targets;
mod users;

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::crypto::{random, sha256};
use crate::domain::DomainError;
use crate::domain::permission::Permission;
use crate::service::Caller;
use crate::service::clients::{PORTAL_CALLBACK_PATH, PORTAL_CLIENT_ID};
use crate::service::token::BearerError;
use crate::state::AppState;
use crate::web::pages::{enc, found, html, minute, see_other};
use crate::web::{AUTHORIZE_PATH, request_meta};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin", web::get().to(home))
        .route("/admin/login", web::get().to(login))
        .route(PORTAL_CALLBACK_PATH, web::get().to(callback))
        .route("/admin/signout", web::post().to(sign_out))
        .route("/admin/signed-out", web::get().to(signed_out))
        .configure(users::routes)
        .configure(groups::routes)
        .configure(settings::routes)
        .route("/admin/audit", web::get().to(audit::log));
}

/// Which sections the signed-in admin's permissions open.
pub struct Nav {
    pub users: bool,
    pub groups: bool,
    pub policy: bool,
    pub clients: bool,
    pub audit: bool,
}

/// What every portal page shows around its content.
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
        let mut res = html(status, page);
        if let Some(c) = &self.csrf_cookie {
            let _ = res.add_cookie(c);
        }
        res
    }

    /// A failed action, explained on a portal page.
    pub fn problem(&mut self, e: &DomainError, back: &str) -> HttpResponse {
        let (status, title, detail) = match e {
            DomainError::Invalid { field, message } => (
                StatusCode::BAD_REQUEST,
                "Please check your input",
                format!("{field}: {message}"),
            ),
            DomainError::NotFound(what) => (
                StatusCode::NOT_FOUND,
                "Not found",
                format!("That {what} does not exist (any more)."),
            ),
            DomainError::Conflict(m) => (StatusCode::CONFLICT, "Not possible", m.to_string()),
            DomainError::Forbidden(m) => (StatusCode::FORBIDDEN, "Not allowed", m.to_string()),
            DomainError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable",
                "The directory cannot be reached right now. Please try again shortly.".into(),
            ),
            DomainError::Internal(m) => {
                tracing::error!(error = %m, "admin portal failure");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "Please try again.".into(),
                )
            }
        };
        self.chrome.notice = None;
        self.page(
            status,
            &ProblemPage {
                chrome: &self.chrome,
                title,
                detail: &detail,
                back,
            },
        )
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

#[derive(Template)]
#[template(path = "admin/confirm.html")]
pub struct ConfirmPage<'a> {
    pub chrome: &'a Chrome,
    pub title: &'a str,
    pub detail: &'a str,
    /// More to know before going ahead (one paragraph each).
    pub warnings: &'a [String],
    pub action: &'a str,
    pub item: &'a str,
    pub button: &'a str,
    pub back: &'a str,
}

/// A page for people who are not (or no longer) signed in to the portal.
#[derive(Template)]
#[template(path = "admin/denied.html")]
struct StandalonePage<'a> {
    title: &'a str,
    detail: &'a str,
    is_error: bool,
    link: (&'a str, &'a str),
}

fn standalone(status: StatusCode, title: &str, detail: &str, is_error: bool) -> HttpResponse {
    html(
        status,
        &StandalonePage {
            title,
            detail,
            is_error,
            link: ("/admin/login", "Sign in to the admin portal"),
        },
    )
}

fn no_admin_role() -> HttpResponse {
    standalone(
        StatusCode::FORBIDDEN,
        "No administrator role",
        "Your account holds no administrator role, so the admin portal has nothing for you. Ask a Global Administrator if you need access.",
        true,
    )
}

/// `__Host-` names (https only) cannot be planted by a sibling subdomain.
fn admin_cookie_name(state: &AppState) -> &'static str {
    if state.ctx.issuer.starts_with("https://") {
        "__Host-onramp_admin"
    } else {
        "onramp_admin"
    }
}

fn flow_cookie_name(state: &AppState) -> &'static str {
    if state.ctx.issuer.starts_with("https://") {
        "__Host-onramp_admin_flow"
    } else {
        "onramp_admin_flow"
    }
}

fn cookie(
    state: &AppState,
    name: &'static str,
    value: String,
    max_age: i64,
    same_site: SameSite,
) -> Cookie<'static> {
    let mut c = Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .secure(state.ctx.issuer.starts_with("https://"))
        .same_site(same_site)
        .finish();
    c.set_max_age(CookieDuration::seconds(max_age.max(0)));
    c
}

/// The signed-in administrator, or the response that sends them to sign in.
pub async fn signed_in(
    req: &HttpRequest,
    state: &AppState,
    section: &'static str,
) -> Result<Admin, HttpResponse> {
    let Some(token) = req.cookie(admin_cookie_name(state)) else {
        return Err(found("/admin/login"));
    };
    let caller = match state
        .tokens
        .authenticate_bearer(token.value(), request_meta(req))
        .await
    {
        Ok(c) => c,
        Err(BearerError::Unavailable(_)) => {
            return Err(standalone(
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable",
                "The directory cannot be reached right now. Please try again shortly.",
                true,
            ));
        }
        // Expired or revoked: a new sign-in is one redirect away (SSO).
        Err(_) => return Err(found("/admin/login")),
    };
    if caller.permissions.is_empty() {
        return Err(no_admin_role());
    }
    // Read with the roles when the token was checked: no second lookup.
    let me = caller
        .upn
        .clone()
        .unwrap_or_else(|| caller.actor.id.clone());
    let (csrf, csrf_cookie) = state.cookies.csrf(req, &*state.ctx.rng);
    let has = |p: Permission| caller.permissions.contains(&p);
    let nav = Nav {
        users: has(Permission::UserReadWriteAll),
        groups: has(Permission::GroupReadWriteAll),
        policy: has(Permission::PolicyReadWriteAuthenticationMethod),
        clients: has(Permission::ApplicationReadWriteAll),
        audit: has(Permission::AuditLogReadAll),
    };
    Ok(Admin {
        caller,
        chrome: Chrome {
            csrf,
            me,
            nav,
            section,
            notice: None,
        },
        csrf_cookie,
    })
}

/// `/admin`: the first section this admin may open.
async fn home(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let admin = match signed_in(&req, &state, "").await {
        Ok(a) => a,
        Err(res) => return res,
    };
    let nav = &admin.chrome.nav;
    let first = [
        (nav.users, "/admin/users"),
        (nav.groups, "/admin/groups"),
        (nav.policy, "/admin/policy"),
        (nav.clients, "/admin/clients"),
        (nav.audit, "/admin/audit"),
    ]
    .into_iter()
    .find_map(|(open, path)| open.then_some(path))
    .unwrap_or("/admin/users");
    found(first)
}

/// `/admin/login`: starts the code flow (PKCE, state) as the portal client.
async fn login(state: web::Data<AppState>) -> HttpResponse {
    let rng = &*state.ctx.rng;
    let (Ok(flow_state), Ok(verifier)) = (random::token::<16>(rng), random::token::<32>(rng))
    else {
        return standalone(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "Please try again.",
            true,
        );
    };
    let challenge = random::b64url(&sha256(verifier.as_bytes()));
    let scope = std::iter::once("openid")
        .chain(Permission::ALL.iter().map(|p| p.as_str()))
        .collect::<Vec<_>>()
        .join(" ");
    let redirect_uri = format!("{}{PORTAL_CALLBACK_PATH}", state.ctx.issuer);
    let location = format!(
        "{AUTHORIZE_PATH}?response_type=code&client_id={PORTAL_CLIENT_ID}&redirect_uri={}&scope={}&state={flow_state}&code_challenge={challenge}&code_challenge_method=S256",
        enc(&redirect_uri),
        enc(&scope),
    );
    let mut res = found(&location);
    // Lax: the callback arrives as a top-level redirect from /authorize.
    let _ = res.add_cookie(&cookie(
        &state,
        flow_cookie_name(&state),
        format!("{flow_state}.{verifier}"),
        600,
        SameSite::Lax,
    ));
    res
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `/admin/callback`: redeems the code in-process and keeps the access
/// token in an HttpOnly cookie for the portal's requests.
async fn callback(
    req: HttpRequest,
    query: web::Query<CallbackQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    if let Some(error) = &query.error {
        let detail = query.error_description.as_deref().unwrap_or(error);
        return standalone(
            StatusCode::BAD_REQUEST,
            "Sign-in did not complete",
            detail,
            true,
        );
    }
    let flow = req
        .cookie(flow_cookie_name(&state))
        .map(|c| c.value().to_owned());
    let Some((expected_state, verifier)) = flow.as_deref().and_then(|f| f.split_once('.')) else {
        return standalone(
            StatusCode::BAD_REQUEST,
            "Sign-in expired",
            "This sign-in took too long or started in another browser. Please sign in again.",
            true,
        );
    };
    let state_ok = query.state.as_deref().is_some_and(|s| {
        bool::from(subtle::ConstantTimeEq::ct_eq(
            s.as_bytes(),
            expected_state.as_bytes(),
        ))
    });
    if !state_ok {
        return standalone(
            StatusCode::BAD_REQUEST,
            "Sign-in expired",
            "This sign-in response does not belong to this browser. Please sign in again.",
            true,
        );
    }
    let client = match state.ctx.clients.find(PORTAL_CLIENT_ID).await {
        Ok(Some(c)) => c,
        _ => {
            return standalone(
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable",
                "Please try again shortly.",
                true,
            );
        }
    };
    let redirect_uri = format!("{}{PORTAL_CALLBACK_PATH}", state.ctx.issuer);
    let tokens = state
        .tokens
        .authorization_code(
            &client,
            query.code.as_deref(),
            Some(&redirect_uri),
            Some(verifier),
            &request_meta(&req),
        )
        .await;
    let tokens = match tokens {
        Ok(t) => t,
        Err(e) => {
            return standalone(
                StatusCode::BAD_REQUEST,
                "Sign-in did not complete",
                &e.description,
                true,
            );
        }
    };
    // Without an admin role the token carries no permission (and is not
    // for the admin API): say so here rather than loop through sign-in.
    if !tokens
        .scope
        .split(' ')
        .any(|s| Permission::parse(s).is_some())
    {
        return no_admin_role();
    }
    let mut res = see_other("/admin");
    let _ = res.add_cookie(&cookie(
        &state,
        admin_cookie_name(&state),
        tokens.access_token,
        i64::from(tokens.expires_in),
        SameSite::Strict,
    ));
    let _ = res.add_cookie(&cookie(
        &state,
        flow_cookie_name(&state),
        String::new(),
        0,
        SameSite::Lax,
    ));
    res
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: Option<String>,
}

/// `POST /admin/signout`: revokes the portal's token and forgets it. The
/// single sign-on session stays (the security info page ends that).
async fn sign_out(
    req: HttpRequest,
    form: web::Form<CsrfForm>,
    state: web::Data<AppState>,
) -> HttpResponse {
    if !state.cookies.csrf_ok(&req, form.csrf.as_deref()) {
        return standalone(
            StatusCode::FORBIDDEN,
            "Please try again",
            "This form expired or came from somewhere else.",
            true,
        );
    }
    let name = admin_cookie_name(&state);
    if let Some(token) = req.cookie(name)
        && let Ok(Some(client)) = state.ctx.clients.find(PORTAL_CLIENT_ID).await
        && let Err(e) = state
            .tokens
            .revoke(&client, token.value(), Some("access_token"))
            .await
    {
        tracing::warn!(error = %e.description, "could not revoke the portal token");
    }
    let mut res = see_other("/admin/signed-out");
    let _ = res.add_cookie(&cookie(&state, name, String::new(), 0, SameSite::Strict));
    res
}

async fn signed_out() -> HttpResponse {
    standalone(
        StatusCode::OK,
        "Signed out of the admin portal",
        "You have left the admin portal.",
        false,
    )
}

/// Form bodies with repeated fields (checkboxes), which `web::Form` can't.
pub struct FormPairs(Vec<(String, String)>);

impl FormPairs {
    pub fn parse(body: &[u8]) -> Self {
        Self(url::form_urlencoded::parse(body).into_owned().collect())
    }

    pub fn one(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn checked(&self, name: &str) -> bool {
        self.one(name) == Some("yes")
    }

    /// Non-empty trimmed lines of a textarea.
    pub fn lines(&self, name: &str) -> Vec<String> {
        self.one(name)
            .unwrap_or_default()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// A signed-in administrator's form, once its CSRF token checks out; else
/// the response to send (sign in again, or the CSRF failure explained).
pub async fn posted(
    req: &HttpRequest,
    state: &AppState,
    section: &'static str,
    body: &[u8],
) -> Result<(Admin, FormPairs), HttpResponse> {
    let mut admin = signed_in(req, state, section).await?;
    let form = FormPairs::parse(body);
    if !state.cookies.csrf_ok(req, form.one("csrf")) {
        return Err(admin.problem(
            &DomainError::Forbidden(
                "This form expired or came from somewhere else. Go back, reload the page and try again."
                    .into(),
            ),
            "/admin",
        ));
    }
    Ok((admin, form))
}
