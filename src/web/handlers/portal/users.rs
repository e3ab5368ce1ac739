//! Portal: users, their roles and their authentication methods.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{Chrome, ConfirmPage, minute, posted, signed_in};
use crate::domain::permission::Permission;
use crate::domain::tap::{MethodUsabilityReason, TapRequest};
use crate::domain::user::{DirectoryRole, NewUser, User, UserPatch};
use crate::state::AppState;
use crate::web::pages::see_other;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/users", web::get().to(list))
        .route("/admin/users", web::post().to(create))
        .route("/admin/users/{id}", web::get().to(detail))
        .route("/admin/users/{id}/confirm", web::get().to(confirm))
        .route("/admin/users/{id}/tap", web::post().to(create_tap))
        .route("/admin/users/{id}/roles", web::post().to(set_roles))
        .route("/admin/users/{id}/enable", web::post().to(enable))
        .route("/admin/users/{id}/unlock", web::post().to(unlock))
        .route("/admin/users/{id}/{action}", web::post().to(destructive));
}

pub struct UserRow {
    pub id: String,
    pub upn: String,
    pub display_name: String,
    pub mail: Option<String>,
    pub enabled: bool,
    pub roles: String,
    pub created: String,
}

impl From<&User> for UserRow {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.clone(),
            upn: u.upn.as_str().to_owned(),
            display_name: u.display_name.clone(),
            mail: u.mail.clone(),
            enabled: u.account_enabled,
            roles: u
                .roles
                .iter()
                .map(|r| r.display_name())
                .collect::<Vec<_>>()
                .join(", "),
            created: minute(u.created),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage<'a> {
    chrome: &'a Chrome,
    q: &'a str,
    users: Vec<UserRow>,
    next: Option<String>,
    can_manage: bool,
    /// The search looked at the first [`SEARCH_SCAN`] users only.
    truncated: bool,
}

#[derive(Deserialize)]
struct ListQuery {
    q: Option<String>,
    after: Option<String>,
    done: Option<String>,
}

fn notice(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "created" => "The user was created.",
        "deleted" => "The user was deleted.",
        "tap-deleted" => "The Temporary Access Pass was deleted.",
        "passkey-deleted" => "The passkey was deleted.",
        "revoked" => "Every session and refresh token of this user was revoked.",
        "roles" => "The roles were saved.",
        "disabled" => "Sign-in is disabled for this user.",
        "enabled" => "Sign-in is enabled for this user.",
        "unlocked" => "Every lock of this user's sign-in with a pass was cleared.",
        _ => return None,
    })
}

/// Search scans at most this many users (small directories; the API pages).
const SEARCH_SCAN: usize = 999;

async fn list(
    req: HttpRequest,
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let mut admin = match signed_in(&req, &state, "users").await {
        Ok(a) => a,
        Err(res) => return res,
    };
    admin.chrome.notice = notice(query.done.as_deref());
    let q = query.q.as_deref().map(str::trim).unwrap_or_default();
    let mut truncated = false;
    let (users, next) = if q.is_empty() {
        match state
            .admin
            .list_users(&admin.caller, query.after.as_deref(), 50)
            .await
        {
            Ok(page) => (page.users, page.next),
            Err(e) => return admin.problem(&e, "/admin"),
        }
    } else {
        match state
            .admin
            .list_users(&admin.caller, None, SEARCH_SCAN)
            .await
        {
            Ok(page) => {
                truncated = page.next.is_some();
                let needle = q.to_lowercase();
                let hits = page
                    .users
                    .into_iter()
                    .filter(|u| {
                        u.upn.as_str().to_lowercase().contains(&needle)
                            || u.display_name.to_lowercase().contains(&needle)
                    })
                    .collect();
                (hits, None)
            }
            Err(e) => return admin.problem(&e, "/admin"),
        }
    };
    let page = UsersPage {
        chrome: &admin.chrome,
        q,
        users: users.iter().map(UserRow::from).collect(),
        next,
        can_manage: admin.can(Permission::UserReadWriteAll),
        truncated,
    };
    admin.page(StatusCode::OK, &page)
}

async fn create(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let (mut admin, form) = match posted(&req, &state, "users", &body).await {
        Ok(v) => v,
        Err(res) => return res,
    };
    let mail = form
        .one("mail")
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_owned);
    let new = NewUser {
        upn: form.one("upn").unwrap_or_default().trim().to_owned(),
        display_name: form
            .one("display_name")
            .unwrap_or_default()
            .trim()
            .to_owned(),
        mail,
        ..Default::default()
    };
    match state.admin.create_user(&admin.caller, new).await {
        Ok(user) => see_other(&format!("/admin/users/{}?done=created", user.id)),
        Err(e) => admin.problem(&e, "/admin/users"),
    }
}

pub struct TapRow {
    pub id: String,
    pub status: &'static str,
    pub reason: &'static str,
    pub start: String,
    pub end: String,
    pub once: bool,
}

pub struct PasskeyRow {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub created: String,
    pub last_used: String,
    pub aaguid: String,
}

#[derive(Template)]
#[template(path = "admin/user.html")]
struct UserPage<'a> {
    chrome: &'a Chrome,
    user: UserRow,
    taps: Vec<TapRow>,
    passkeys: Vec<PasskeyRow>,
    can_methods: bool,
    can_roles: bool,
    can_user: bool,
    role_options: Vec<(&'static str, bool)>,
    tap_min: u32,
    tap_max: u32,
    tap_default: u32,
    tap_forced_once: bool,
    /// The name-wide lock: until when, and how many attempts it refused.
    locked: Option<(String, u32)>,
    /// The user's groups, when this admin may read groups.
    groups: Option<Vec<super::groups::GroupRow>>,
}

fn reason_text(r: MethodUsabilityReason) -> (&'static str, &'static str) {
    match r {
        MethodUsabilityReason::EnabledByPolicy => ("Usable", "EnabledByPolicy"),
        MethodUsabilityReason::DisabledByPolicy => ("Not usable", "DisabledByPolicy"),
        MethodUsabilityReason::Expired => ("Expired", "Expired"),
        MethodUsabilityReason::NotYetValid => ("Not yet valid", "NotYetValid"),
        MethodUsabilityReason::OneTimeUsed => ("Already used", "OneTimeUsed"),
    }
}

#[derive(Deserialize)]
struct DetailQuery {
    done: Option<String>,
}

async fn detail(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<DetailQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let mut admin = match signed_in(&req, &state, "users").await {
        Ok(a) => a,
        Err(res) => return res,
    };
    admin.chrome.notice = notice(query.done.as_deref());
    let id = path.into_inner();
    let caller = &admin.caller;
    let user = match state.admin.get_user(caller, &id).await {
        Ok(u) => u,
        Err(e) => return admin.problem(&e, "/admin/users"),
    };
    // Methods are shown when the rules let this admin read them.
    let (taps, passkeys) = match (
        state.admin.list_taps(caller, &user.id).await,
        state.admin.list_passkeys(caller, &user.id).await,
    ) {
        (Ok(t), Ok(p)) => (t, p),
        (Err(crate::domain::DomainError::Forbidden(_)), _)
        | (_, Err(crate::domain::DomainError::Forbidden(_))) => (Vec::new(), Vec::new()),
        (Err(e), _) | (_, Err(e)) => return admin.problem(&e, "/admin/users"),
    };
    let policy = match state.admin.policy().await {
        Ok(p) => p,
        Err(e) => return admin.problem(&e, "/admin/users"),
    };
    let locked = match state.admin.sign_in_lockout(caller, &user.id).await {
        Ok((_, lock)) => lock.locked_until.map(|t| (minute(t), lock.refused)),
        Err(crate::domain::DomainError::Forbidden(_)) => None,
        Err(e) => return admin.problem(&e, "/admin/users"),
    };
    let groups = match super::groups::of_user(&state, caller, &user.id).await {
        Ok(g) => g,
        Err(e) => return admin.problem(&e, "/admin/users"),
    };
    let may = |action| caller.authorize(action, Some(&user)).is_ok();
    use crate::domain::roles::AdminAction;
    let page = UserPage {
        chrome: &admin.chrome,
        taps: taps
            .iter()
            .map(|v| {
                let (status, reason) = reason_text(v.reason);
                TapRow {
                    id: v.tap.id.clone(),
                    status,
                    reason,
                    start: minute(v.tap.start),
                    end: minute(v.tap.end()),
                    once: v.tap.is_usable_once,
                }
            })
            .collect(),
        passkeys: passkeys
            .into_iter()
            .map(|p| PasskeyRow {
                kind: if p.backup_eligible {
                    "Synced"
                } else {
                    "Device-bound"
                },
                created: minute(p.created),
                last_used: p.last_used.map_or_else(|| "never".to_owned(), minute),
                aaguid: p.aaguid.unwrap_or_else(|| "unknown".to_owned()),
                id: p.id,
                name: p.name,
            })
            .collect(),
        can_methods: may(AdminAction::ManageMethods),
        can_roles: may(AdminAction::ManageRoles),
        can_user: may(AdminAction::ManageUsers) && user.id != caller.actor.id,
        role_options: DirectoryRole::ALL
            .into_iter()
            .map(|r| (r.display_name(), user.roles.contains(&r)))
            .collect(),
        tap_min: policy.tap.minimum_lifetime_minutes,
        tap_max: policy.tap.maximum_lifetime_minutes,
        tap_default: policy.tap.default_lifetime_minutes,
        tap_forced_once: policy.tap.is_usable_once,
        locked,
        groups,
        user: UserRow::from(&user),
    };
    admin.page(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "admin/tap_created.html")]
struct TapCreatedPage<'a> {
    chrome: &'a Chrome,
    user_id: &'a str,
    upn: &'a str,
    passcode: &'a str,
    start: String,
    end: String,
    once: bool,
    link: &'a str,
    qr: String,
}

/// The QR code of `text` as an SVG data URI (for an `<img>`: no inline code).
fn qr_data_uri(text: &str) -> Option<String> {
    use base64::Engine;
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    Some(format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    ))
}

async fn create_tap(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let (mut admin, form) = match posted(&req, &state, "users", &body).await {
        Ok(v) => v,
        Err(res) => return res,
    };
    let id = path.into_inner();
    let back = format!("/admin/users/{id}");
    let lifetime = match form.one("lifetime").map(|v| v.trim().parse::<u32>()) {
        None => None,
        Some(Ok(v)) => Some(v),
        Some(Err(_)) => {
            return admin.problem(
                &crate::domain::DomainError::invalid("lifetime", "must be a number of minutes"),
                &back,
            );
        }
    };
    let request = TapRequest {
        start: None,
        lifetime_minutes: lifetime,
        is_usable_once: Some(form.checked("once")),
    };
    let issued = match state.admin.create_tap(&admin.caller, &id, request).await {
        Ok(t) => t,
        Err(e) => return admin.problem(&e, &back),
    };
    let user = match state.admin.get_user(&admin.caller, &id).await {
        Ok(u) => u,
        Err(e) => return admin.problem(&e, &back),
    };
    let link = crate::service::bootstrap::sign_in_link(&state.ctx.issuer, user.upn.as_str());
    let tap = &issued.view.tap;
    let page = TapCreatedPage {
        chrome: &admin.chrome,
        user_id: &user.id,
        upn: user.upn.as_str(),
        passcode: &issued.passcode,
        start: minute(tap.start),
        end: minute(tap.end()),
        once: tap.is_usable_once,
        qr: qr_data_uri(&link).unwrap_or_default(),
        link: &link,
    };
    admin.page(StatusCode::CREATED, &page)
}

async fn set_roles(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let (mut admin, form) = match posted(&req, &state, "users", &body).await {
        Ok(v) => v,
        Err(res) => return res,
    };
    let id = path.into_inner();
    let back = format!("/admin/users/{id}");
    let mut roles = Vec::new();
    for name in form.all("role") {
        match DirectoryRole::parse(name) {
            Some(r) => roles.push(r),
            None => {
                return admin.problem(
                    &crate::domain::DomainError::invalid("role", format!("unknown role {name}")),
                    &back,
                );
            }
        }
    }
    match state.admin.set_roles(&admin.caller, &id, roles).await {
        Ok(_) => see_other(&format!("{back}?done=roles")),
        Err(e) => admin.problem(&e, &back),
    }
}

async fn enable(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let (mut admin, _) = match posted(&req, &state, "users", &body).await {
        Ok(v) => v,
        Err(res) => return res,
    };
    let id = path.into_inner();
    let back = format!("/admin/users/{id}");
    let patch = UserPatch {
        account_enabled: Some(true),
        ..Default::default()
    };
    match state.admin.update_user(&admin.caller, &id, patch).await {
        Ok(_) => see_other(&format!("{back}?done=enabled")),
        Err(e) => admin.problem(&e, &back),
    }
}

/// Clears the user's pass lockout (not destructive: no confirmation).
async fn unlock(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let (mut admin, _) = match posted(&req, &state, "users", &body).await {
        Ok(v) => v,
        Err(res) => return res,
    };
    let id = path.into_inner();
    let back = format!("/admin/users/{id}");
    match state.admin.clear_sign_in_lockout(&admin.caller, &id).await {
        Ok(()) => see_other(&format!("{back}?done=unlocked")),
        Err(e) => admin.problem(&e, &back),
    }
}

/// The destructive actions, each behind a confirmation page.
#[derive(Clone, Copy)]
enum Destructive {
    DeleteTap,
    DeletePasskey,
    Revoke,
    Disable,
    DeleteUser,
}

impl Destructive {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "delete-tap" => Self::DeleteTap,
            "delete-passkey" => Self::DeletePasskey,
            "revoke" => Self::Revoke,
            "disable" => Self::Disable,
            "delete-user" => Self::DeleteUser,
            _ => return None,
        })
    }

    /// (title, warning, button)
    fn wording(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::DeleteTap => (
                "Delete the Temporary Access Pass?",
                "The person will no longer be able to sign in with this pass.",
                "Delete pass",
            ),
            Self::DeletePasskey => (
                "Delete this passkey?",
                "The person will no longer be able to sign in with this passkey. If it is their last one, they will need a new Temporary Access Pass.",
                "Delete passkey",
            ),
            Self::Revoke => (
                "Sign this user out everywhere?",
                "Every sign-in session and refresh token of this user ends now; applications will ask them to sign in again.",
                "Revoke sessions",
            ),
            Self::Disable => (
                "Disable sign-in?",
                "The user can no longer sign in, and their sessions and tokens stop working.",
                "Disable sign-in",
            ),
            Self::DeleteUser => (
                "Delete this user?",
                "The user, their Temporary Access Pass and their passkeys are deleted. This cannot be undone.",
                "Delete user",
            ),
        }
    }

    fn done(self) -> &'static str {
        match self {
            Self::DeleteTap => "tap-deleted",
            Self::DeletePasskey => "passkey-deleted",
            Self::Revoke => "revoked",
            Self::Disable => "disabled",
            Self::DeleteUser => "deleted",
        }
    }
}

#[derive(Deserialize)]
struct ConfirmQuery {
    action: String,
    #[serde(default)]
    item: String,
}

async fn confirm(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ConfirmQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let mut admin = match signed_in(&req, &state, "users").await {
        Ok(a) => a,
        Err(res) => return res,
    };
    let id = path.into_inner();
    let back = format!("/admin/users/{id}");
    let Some(action) = Destructive::parse(&query.action) else {
        return admin.problem(&crate::domain::DomainError::NotFound("action"), &back);
    };
    let user = match state.admin.get_user(&admin.caller, &id).await {
        Ok(u) => u,
        Err(e) => return admin.problem(&e, "/admin/users"),
    };
    let (title, warning, button) = action.wording();
    let detail = format!("{} ({warning})", user.upn.as_str());
    let post = format!("/admin/users/{id}/{}", query.action);
    let page = ConfirmPage {
        chrome: &admin.chrome,
        title,
        detail: &detail,
        warnings: &[],
        action: &post,
        item: &query.item,
        button,
        back: &back,
    };
    admin.page(StatusCode::OK, &page)
}

async fn destructive(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let (mut admin, form) = match posted(&req, &state, "users", &body).await {
        Ok(v) => v,
        Err(res) => return res,
    };
    let (id, action) = path.into_inner();
    let back = format!("/admin/users/{id}");
    let Some(action) = Destructive::parse(&action) else {
        return admin.problem(&crate::domain::DomainError::NotFound("action"), &back);
    };
    if !form.checked("confirm") {
        return see_other(&back);
    }
    let item = form.one("item").unwrap_or_default();
    let caller = &admin.caller;
    let result = match action {
        Destructive::DeleteTap => state.admin.delete_tap(caller, &id, item).await,
        Destructive::DeletePasskey => state.admin.delete_passkey(caller, &id, item).await,
        Destructive::Revoke => state.admin.revoke_sessions(caller, &id).await,
        Destructive::Disable => {
            let patch = UserPatch {
                account_enabled: Some(false),
                ..Default::default()
            };
            state
                .admin
                .update_user(caller, &id, patch)
                .await
                .map(|_| ())
        }
        Destructive::DeleteUser => state.admin.delete_user(caller, &id).await,
    };
    match result {
        Ok(()) if matches!(action, Destructive::DeleteUser) => {
            see_other(&format!("/admin/users?done={}", action.done()))
        }
        Ok(()) => see_other(&format!("{back}?done={}", action.done())),
        Err(e) => admin.problem(&e, &back),
    }
}
