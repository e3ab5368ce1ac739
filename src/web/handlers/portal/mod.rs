//! `/admin`: the admin portal. It signs administrators in through this
//! server's own OIDC flow, as the built-in public client
//! [`PORTAL_CLIENT_ID`], and then acts with the delegated access token: the
//! portal and the admin API go through one rule set (`Caller::authorize`).

mod admin;
mod audit;
mod form;
mod groups;
mod import;
mod onboarding;
mod progress;
mod settings;
mod shown;
mod targets;
mod users;
mod webhooks;

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use std::borrow::Cow;

pub use admin::{Admin, BackTo, Chrome, PortalError, Posted};

use crate::crypto::{b64url, random, sha256};
use crate::domain::DomainError;
use crate::domain::permission::Permission;
use crate::service::clients::{PORTAL_CALLBACK_PATH, PORTAL_CLIENT_ID};
use crate::service::token::TokenResponse;
use crate::state::AppState;
use crate::web::pages::{enc, found, html, see_other};
use crate::web::{AUTHORIZE_PATH, END_SESSION_PATH, request_meta};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin", web::get().to(home))
        .route("/admin/login", web::get().to(login))
        .route(PORTAL_CALLBACK_PATH, web::get().to(callback))
        .route("/admin/signout", web::post().to(sign_out))
        .route("/admin/signed-out", web::get().to(signed_out))
        .configure(users::routes)
        .configure(groups::routes)
        .configure(settings::routes)
        .configure(onboarding::routes)
        .configure(webhooks::routes)
        .configure(import::routes)
        .configure(progress::routes)
        .route("/admin/audit", web::get().to(audit::log))
        .route("/admin/audit/export", web::get().to(audit::export))
        .route("/admin/shown/{id}", web::get().to(shown::view));
}

#[derive(Template)]
#[template(path = "admin/confirm.html")]
struct ConfirmPage<'a> {
    chrome: &'a Chrome,
    title: &'a str,
    detail: &'a str,
    /// More to know before going ahead (one paragraph each).
    warnings: &'a [String],
    action: &'a str,
    item: &'a str,
    button: &'a str,
    back: &'a str,
}

/// A page for people who are not (or no longer) signed in to the portal.
#[derive(Template)]
#[template(path = "admin/denied.html")]
struct StandalonePage<'a> {
    title: &'a str,
    detail: &'a str,
    is_error: bool,
    link: (&'a str, &'a str),
    /// A second way on (a different account), when there is one.
    other: Option<(&'a str, &'a str)>,
}

fn standalone(status: StatusCode, title: &str, detail: &str, is_error: bool) -> HttpResponse {
    html(
        status,
        &StandalonePage {
            title,
            detail,
            is_error,
            link: ("/admin/login", "Sign in to the admin portal"),
            other: None,
        },
    )
}

/// Where the "No administrator role" page sends someone who signed in
/// with the wrong account: the end-session page, which signs this browser
/// out and comes back to the portal's sign-in.
pub(super) fn sign_out_then_in(state: &AppState) -> String {
    let again = format!("{}/admin/login", state.ctx.issuer.trim_end_matches('/'));
    format!(
        "{END_SESSION_PATH}?client_id={PORTAL_CLIENT_ID}&post_logout_redirect_uri={}",
        enc(&again)
    )
}

/// A portal page to come back to after the portal's sign-in: a local path
/// under `/admin/` and nothing else (no `//` or `\\`, which browsers read
/// as another host; no dot segments, spaces or control characters; not
/// the sign-in's own pages), so `return_to` can never redirect elsewhere.
pub fn return_path(s: &str) -> Option<&str> {
    let path = s.split(['?', '#']).next().unwrap_or_default();
    let ok = s.len() <= 1024
        && path.starts_with("/admin/")
        && !s.contains("//")
        && !s.contains('\\')
        && !s.chars().any(|c| c.is_control() || c.is_whitespace())
        && !path.split('/').any(|seg| seg == "." || seg == "..")
        && ![
            "/admin/login",
            PORTAL_CALLBACK_PATH,
            "/admin/signout",
            "/admin/signed-out",
        ]
        .contains(&path);
    ok.then_some(s)
}

/// The page for an account without an administrator role: sign in as
/// someone else (`again`, see [`sign_out_then_in`]), or go to one's own
/// security info.
fn no_admin_role_page(again: &str) -> HttpResponse {
    html(
        StatusCode::FORBIDDEN,
        &StandalonePage {
            title: "No administrator role",
            detail: "Your account holds no administrator role, so the admin portal has nothing for you. Ask a Global Administrator if you need access, or sign in with an administrator account.",
            is_error: true,
            link: (again, "Sign in as someone else"),
            other: Some(("/account/security", "Go to your security info")),
        },
    )
}

/// `__Host-` names (https only) cannot be planted by a sibling subdomain.
fn admin_cookie_name(state: &AppState) -> &'static str {
    cookie_name(state, "__Host-onramp_admin", "onramp_admin")
}

fn flow_cookie_name(state: &AppState) -> &'static str {
    cookie_name(state, "__Host-onramp_admin_flow", "onramp_admin_flow")
}

/// The `__Host-` name on https, the plain one on http (where browsers
/// refuse the prefix, e.g. in development).
fn cookie_name(state: &AppState, host: &'static str, plain: &'static str) -> &'static str {
    if state.ctx.issuer.starts_with("https://") {
        host
    } else {
        plain
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

/// `/admin`: the first section this admin may open.
async fn home(admin: Admin) -> HttpResponse {
    let nav = &admin.chrome.nav;
    let first = [
        (nav.users, "/admin/users"),
        (nav.groups, "/admin/groups"),
        (nav.policy, "/admin/policy"),
        (nav.clients, "/admin/clients"),
        (nav.audit, "/admin/audit"),
        (nav.webhooks, "/admin/webhooks"),
    ]
    .into_iter()
    .find_map(|(open, path)| open.then_some(path))
    .unwrap_or("/admin/users");
    found(first)
}

fn went_wrong() -> PortalError {
    PortalError::page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "Please try again.",
    )
}

#[derive(Deserialize)]
struct LoginQuery {
    return_to: Option<String>,
}

/// `/admin/login`: starts the code flow (PKCE, state) as the portal client;
/// a valid `return_to` ([`return_path`]) is where the admin lands after.
async fn login(
    query: web::Query<LoginQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PortalError> {
    let back = query.return_to.as_deref().and_then(return_path);
    let rng = &*state.ctx.rng;
    let (Ok(flow_state), Ok(verifier)) = (random::token::<16>(rng), random::token::<32>(rng))
    else {
        return Err(went_wrong());
    };
    let challenge = b64url::encode(&sha256(verifier.as_bytes()));
    let scope = std::iter::once("openid")
        .chain(Permission::ALL.iter().map(|p| p.as_str()))
        .collect::<Vec<_>>()
        .join(" ");
    let location = format!(
        "{AUTHORIZE_PATH}?response_type=code&client_id={PORTAL_CLIENT_ID}&redirect_uri={}&scope={}&state={flow_state}&code_challenge={challenge}&code_challenge_method=S256",
        enc(&callback_uri(&state)),
        enc(&scope),
    );
    let mut res = found(&location);
    // Lax: the callback arrives as a top-level redirect from /authorize.
    let _ = res.add_cookie(&cookie(
        &state,
        flow_cookie_name(&state),
        // Percent-encoded: cookie-safe, and no more dots than the path had.
        format!("{flow_state}.{verifier}.{}", enc(back.unwrap_or_default())),
        600,
        SameSite::Lax,
    ));
    Ok(res)
}

fn callback_uri(state: &AppState) -> String {
    format!("{}{PORTAL_CALLBACK_PATH}", state.ctx.issuer)
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

fn not_completed(detail: impl Into<Cow<'static, str>>) -> PortalError {
    PortalError::page(StatusCode::BAD_REQUEST, "Sign-in did not complete", detail)
}

fn expired(detail: &'static str) -> PortalError {
    PortalError::page(StatusCode::BAD_REQUEST, "Sign-in expired", detail)
}

/// The sign-in this browser started: its PKCE verifier and the page to
/// return to.
struct Flow {
    verifier: String,
    return_to: Option<String>,
}

/// The sign-in this browser started, if the callback's `state` is that
/// sign-in's.
fn flow_verifier(
    req: &HttpRequest,
    state: &AppState,
    returned: Option<&str>,
) -> Result<Flow, PortalError> {
    let flow = req.cookie(flow_cookie_name(state));
    let mut parts = flow.as_ref().map(|c| c.value().splitn(3, '.'));
    let mut next = || parts.as_mut().and_then(Iterator::next);
    let (expected, verifier, back) = (next(), next(), next());
    let (Some(expected), Some(verifier)) = (expected, verifier) else {
        return Err(expired(
            "This sign-in took too long or started in another browser. Please sign in again.",
        ));
    };
    let matches = returned.is_some_and(|s| {
        bool::from(subtle::ConstantTimeEq::ct_eq(
            s.as_bytes(),
            expected.as_bytes(),
        ))
    });
    if !matches {
        return Err(expired(
            "This sign-in response does not belong to this browser. Please sign in again.",
        ));
    }
    // Set percent-encoded, read back decoded (actix decodes cookies).
    let return_to = back.and_then(return_path).map(str::to_owned);
    Ok(Flow {
        verifier: verifier.to_owned(),
        return_to,
    })
}

/// The answer to a completed sign-in: the token in its cookie, the flow's
/// cookie gone, on to the portal (the page asked for, if any).
fn portal_entered(state: &AppState, tokens: TokenResponse, to: Option<&str>) -> HttpResponse {
    let mut res = see_other(to.unwrap_or("/admin"));
    let _ = res.add_cookie(&cookie(
        state,
        admin_cookie_name(state),
        tokens.access_token,
        i64::from(tokens.expires_in),
        SameSite::Strict,
    ));
    let _ = res.add_cookie(&cookie(
        state,
        flow_cookie_name(state),
        String::new(),
        0,
        SameSite::Lax,
    ));
    res
}

/// Redeems the callback's code in-process, as the portal client.
async fn redeem(
    req: &HttpRequest,
    state: &AppState,
    code: Option<&str>,
    verifier: &str,
) -> Result<TokenResponse, PortalError> {
    let Ok(Some(client)) = state.ctx.clients.find(PORTAL_CLIENT_ID).await else {
        return Err(PortalError::page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Temporarily unavailable",
            "Please try again shortly.",
        ));
    };
    state
        .tokens
        .authorization_code(
            &client,
            code,
            Some(&callback_uri(state)),
            Some(verifier),
            &request_meta(req),
        )
        .await
        .map_err(|e| not_completed(e.description))
}

/// `/admin/callback`: redeems the code and keeps the access token in an
/// HttpOnly cookie for the portal's requests.
async fn callback(
    req: HttpRequest,
    query: web::Query<CallbackQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PortalError> {
    if let Some(error) = &query.error {
        let detail = query.error_description.as_deref().unwrap_or(error);
        return Err(not_completed(detail.to_owned()));
    }
    let flow = flow_verifier(&req, &state, query.state.as_deref())?;
    let tokens = redeem(&req, &state, query.code.as_deref(), &flow.verifier).await?;
    // Without an admin role the token carries no permission (and is not
    // for the admin API): say so here rather than loop through sign-in.
    if !tokens
        .scope
        .split(' ')
        .any(|s| Permission::parse(s).is_some())
    {
        return Err(PortalError::no_admin_role(&state));
    }
    Ok(portal_entered(&state, tokens, flow.return_to.as_deref()))
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
) -> Result<HttpResponse, PortalError> {
    if !state.cookies.csrf_ok(&req, form.csrf.as_deref()) {
        return Err(PortalError::page(
            StatusCode::FORBIDDEN,
            "Please try again",
            "This form expired or came from somewhere else.",
        ));
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
    Ok(res)
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

/// A list page reads one page of [`PAGE`] after its cursor; a search reads
/// the first [`SEARCH_SCAN`] (small directories; the API pages).
const PAGE: usize = 50;
const SEARCH_SCAN: usize = 999;

/// What a list page reads for the search `q`: (cursor, how many).
fn to_read<'a>(q: &str, after: Option<&'a str>) -> (Option<&'a str>, usize) {
    if q.is_empty() {
        (after, PAGE)
    } else {
        (None, SEARCH_SCAN)
    }
}

/// One read listing as a list page shows it: the rows `hit` by the search
/// `q` (lowercased), the next page's cursor, and whether the search saw
/// only the first [`SEARCH_SCAN`].
fn listed<T>(
    q: &str,
    rows: Vec<T>,
    next: Option<String>,
    hit: impl Fn(&T, &str) -> bool,
) -> (Vec<T>, Option<String>, bool) {
    if q.is_empty() {
        return (rows, next, false);
    }
    let needle = q.to_lowercase();
    let hits = rows.into_iter().filter(|r| hit(r, &needle)).collect();
    (hits, None, next.is_some())
}

/// What a confirmation page asks.
pub struct Asked {
    pub title: &'static str,
    pub detail: String,
    pub warnings: Vec<String>,
    pub button: &'static str,
}

impl Admin {
    /// The page that asks before `action` (a form posted with `item`) is
    /// done; `back` leaves without doing it.
    pub fn confirm(&self, asked: &Asked, action: &str, item: &str, back: &str) -> HttpResponse {
        let page = ConfirmPage {
            chrome: &self.chrome,
            title: asked.title,
            detail: &asked.detail,
            warnings: &asked.warnings,
            action,
            item,
            button: asked.button,
            back,
        };
        self.page(StatusCode::OK, &page)
    }
}

/// The destructive action a confirmation form posts (`None`: no such
/// action), once its box says to go ahead; unticked, back to `back`
/// without a change.
pub fn confirmed<A>(
    admin: &Admin,
    form: &FormPairs,
    action: Option<A>,
    back: &str,
) -> Result<A, PortalError> {
    let action = known(admin, action, back)?;
    go_ahead(form, back)?;
    Ok(action)
}

/// The action a path names; `None` is no such action.
pub fn known<A>(admin: &Admin, action: Option<A>, back: &str) -> Result<A, PortalError> {
    action.ok_or_else(|| admin.problem(&DomainError::NotFound("action"), back))
}

/// Whether a confirmation form's box is ticked; if not, back to `back`.
pub fn go_ahead(form: &FormPairs, back: &str) -> Result<(), PortalError> {
    if form.checked("confirm") {
        Ok(())
    } else {
        Err(PortalError::Unconfirmed(back.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::return_path;

    #[test]
    fn return_to_is_a_portal_path_and_nothing_else() {
        for ok in [
            "/admin/users",
            "/admin/users/3f2c",
            "/admin/users/ada%40example.com?done=roles",
            "/admin/audit?actor=ada@example.com&type=tap.failed",
        ] {
            assert_eq!(return_path(ok), Some(ok), "{ok}");
        }
        for bad in [
            "",
            "/",
            "/admin",
            "/account/security",
            "//evil.example",
            "https://evil.example/admin/",
            "/admin//evil.example",
            "/admin/\\evil.example",
            "\\\\evil.example/admin/",
            "/admin/../account/security",
            "/admin/./users",
            "/admin/users\r\nSet-Cookie: x=y",
            "/admin/users x",
            "/admin/login",
            "/admin/callback",
            "/admin/signed-out",
            "/admin/users?next=//evil.example",
        ] {
            assert_eq!(return_path(bad), None, "{bad:?}");
        }
        let long = format!("/admin/users/{}", "a".repeat(1100));
        assert_eq!(return_path(&long), None);
    }
}
