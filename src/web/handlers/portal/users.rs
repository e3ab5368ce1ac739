//! Portal: users, their roles and their authentication methods.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::form::{Field, FormState};
use super::groups::GroupRow;
use super::shown::{self, Shown, TapShown};
use super::{
    Admin, Asked, BackTo, Chrome, FormPairs, PortalError, Posted, confirmed, known, listed, to_read,
};
use crate::domain::DomainError;
use crate::domain::authenticator::{self, Model};
use crate::domain::credential::PasskeyCredential;
use crate::domain::permission::Permission;
use crate::domain::policy::Policy;
use crate::domain::roles::AdminAction;
use crate::domain::tap::{MethodUsabilityReason, TapRequest};
use crate::domain::user::{DirectoryRole, NewUser, User, UserPatch};
use crate::service::Caller;
use crate::service::admin::{IssuedTap, TapView};
use crate::state::AppState;
use crate::web::pages::{When, see_other};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/users", web::get().to(list))
        .route("/admin/users", web::post().to(create))
        .route("/admin/users/{id}", web::get().to(detail))
        .route("/admin/users/{id}/confirm", web::get().to(confirm))
        .route("/admin/users/{id}/tap", web::post().to(create_tap))
        .route("/admin/users/{id}/profile", web::post().to(edit_profile))
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
    pub created: When,
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
            created: When(u.created),
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
    /// The search looked at the first [`super::SEARCH_SCAN`] users only.
    truncated: bool,
    /// The "create a user" form.
    create: FormState,
    status: StatusCode,
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
        "profile" => "The profile was saved.",
        _ => return None,
    })
}

async fn list(
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
    mut admin: Admin,
) -> Result<HttpResponse, PortalError> {
    admin.chrome.notice = notice(query.done.as_deref());
    let q = query.q.as_deref().map(str::trim).unwrap_or_default();
    list_page(
        &state,
        &admin,
        q,
        query.after.as_deref(),
        FormState::default(),
    )
    .await
}

/// The users page (`create`: the "create a user" form as it stands).
async fn list_page(
    state: &AppState,
    admin: &Admin,
    q: &str,
    after: Option<&str>,
    create: FormState,
) -> Result<HttpResponse, PortalError> {
    let (after, top) = to_read(q, after);
    let page = state
        .admin
        .list_users(&admin.caller, after, top)
        .await
        .back_to(admin, "/admin")?;
    let (users, next, truncated) = listed(q, page.users, page.next, |u, needle| {
        u.upn.as_str().to_lowercase().contains(needle)
            || u.display_name.to_lowercase().contains(needle)
    });
    let page = UsersPage {
        chrome: &admin.chrome,
        q,
        users: users.iter().map(UserRow::from).collect(),
        next,
        can_manage: admin.can(Permission::UserReadWriteAll),
        truncated,
        status: create.status(),
        create,
    };
    Ok(admin.page(page.status, &page))
}

fn new_user(form: &FormPairs) -> NewUser {
    let field = |name| form.one(name).unwrap_or_default().trim().to_owned();
    NewUser {
        upn: field("upn"),
        display_name: field("display_name"),
        mail: Some(field("mail")).filter(|m| !m.is_empty()),
        ..Default::default()
    }
}

/// The fields of the "create a user" form.
const NEW_USER: &[Field] = &[
    Field {
        name: "upn",
        api: "userPrincipalName",
        label: "User name",
    },
    Field {
        name: "display_name",
        api: "displayName",
        label: "Display name",
    },
    Field {
        name: "mail",
        api: "mail",
        label: "Email",
    },
];

async fn create(
    state: web::Data<AppState>,
    Posted { admin, form }: Posted,
) -> Result<HttpResponse, PortalError> {
    match state
        .admin
        .create_user(&admin.caller, new_user(&form))
        .await
    {
        Ok(user) => Ok(see_other(&format!("/admin/users/{}?done=created", user.id))),
        Err(e) => {
            let entered = FormState::entered(&form, NEW_USER)
                .failed(e, NEW_USER, None)
                .back_to(&admin, "/admin/users")?;
            list_page(&state, &admin, "", None, entered).await
        }
    }
}

pub struct TapRow {
    pub id: String,
    pub status: &'static str,
    /// More about the status in plain words, where the status alone
    /// does not say it.
    pub why: Option<&'static str>,
    /// Graph's `methodUsabilityReason`, for scripts (`data-reason`).
    pub reason: &'static str,
    pub start: When,
    pub end: When,
    pub once: bool,
}

pub struct PasskeyRow {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub created: When,
    pub last_used: Option<When>,
    /// The authenticator model's name, or what is known instead.
    pub model: String,
    pub aaguid: Option<String>,
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
    /// May edit the profile (themselves too).
    can_profile: bool,
    role_options: Vec<(&'static str, bool)>,
    tap_min: u32,
    tap_max: u32,
    tap_forced_once: bool,
    tap_form: FormState,
    profile: FormState,
    status: StatusCode,
    /// The name-wide lock: until when, and how many attempts it refused.
    locked: Option<(When, u32)>,
    /// The user's groups, when this admin may read groups.
    groups: Option<Vec<GroupRow>>,
}

/// A pass's status in words, what else there is to say about it, and
/// Graph's name of the reason.
fn reason_text(r: MethodUsabilityReason) -> (&'static str, Option<&'static str>, &'static str) {
    use MethodUsabilityReason::*;
    match r {
        EnabledByPolicy => ("Usable", None, "EnabledByPolicy"),
        DisabledByPolicy => (
            "Not usable",
            Some("the Temporary Access Pass policy does not let this user sign in with a pass"),
            "DisabledByPolicy",
        ),
        Expired => ("Expired", None, "Expired"),
        NotYetValid => ("Not yet valid", None, "NotYetValid"),
        OneTimeUsed => (
            "Already used",
            Some("it was a one-time pass"),
            "OneTimeUsed",
        ),
    }
}

#[derive(Deserialize)]
struct DetailQuery {
    done: Option<String>,
}

/// What a user's page shows, as far as this admin may read it.
struct UserFacts {
    user: User,
    taps: Vec<TapView>,
    passkeys: Vec<PasskeyCredential>,
    policy: Policy,
    /// The name-wide lock: until when, and how many attempts it refused.
    locked: Option<(When, u32)>,
    groups: Option<Vec<GroupRow>>,
}

async fn user_facts(state: &AppState, caller: &Caller, id: &str) -> Result<UserFacts, DomainError> {
    let user = state.admin.get_user(caller, id).await?;
    // Methods are shown when the rules let this admin read them.
    let (taps, passkeys) = match (
        state.admin.list_taps(caller, &user.id).await,
        state.admin.list_passkeys(caller, &user.id).await,
    ) {
        (Ok(t), Ok(p)) => (t, p),
        (Err(DomainError::Forbidden(_)), _) | (_, Err(DomainError::Forbidden(_))) => {
            (Vec::new(), Vec::new())
        }
        (Err(e), _) | (_, Err(e)) => return Err(e),
    };
    let policy = state.admin.policy().await?;
    let locked = match state.admin.sign_in_lockout(caller, &user.id).await {
        Ok((_, lock)) => lock.locked_until.map(|t| (When(t), lock.refused)),
        Err(DomainError::Forbidden(_)) => None,
        Err(e) => return Err(e),
    };
    let groups = super::groups::of_user(state, caller, &user.id).await?;
    Ok(UserFacts {
        user,
        taps,
        passkeys,
        policy,
        locked,
        groups,
    })
}

fn tap_row(v: &TapView) -> TapRow {
    let (status, why, reason) = reason_text(v.reason);
    TapRow {
        id: v.tap.id.clone(),
        status,
        why,
        reason,
        start: When(v.tap.start),
        end: When(v.tap.end()),
        once: v.tap.is_usable_once,
    }
}

fn passkey_row(p: PasskeyCredential) -> PasskeyRow {
    PasskeyRow {
        kind: if p.backup_eligible {
            "Synced"
        } else {
            "Device-bound"
        },
        created: When(p.created),
        last_used: p.last_used.map(When),
        model: match authenticator::model(p.aaguid.as_deref()) {
            Model::Known(name) => name.to_owned(),
            Model::Unknown(_) => "Unknown model".to_owned(),
            Model::NotReported => "Not reported".to_owned(),
        },
        aaguid: p.aaguid,
        id: p.id,
        name: p.name,
    }
}

/// The forms of a user's page as they stand (defaults: the user's
/// profile, the policy's lifetime), one of them perhaps with an error.
#[derive(Default)]
struct Forms {
    profile: Option<FormState>,
    tap: Option<FormState>,
}

fn user_page<'a>(
    chrome: &'a Chrome,
    caller: &Caller,
    facts: UserFacts,
    forms: Forms,
) -> UserPage<'a> {
    let UserFacts {
        user,
        taps,
        passkeys,
        policy,
        locked,
        groups,
    } = facts;
    let may = |action| caller.authorize(action, Some(&user)).is_ok();
    let status = [&forms.profile, &forms.tap]
        .into_iter()
        .flatten()
        .map(FormState::status)
        .max()
        .unwrap_or(StatusCode::OK);
    UserPage {
        chrome,
        status,
        taps: taps.iter().map(tap_row).collect(),
        passkeys: passkeys.into_iter().map(passkey_row).collect(),
        can_methods: may(AdminAction::ManageMethods),
        can_roles: may(AdminAction::ManageRoles),
        can_user: may(AdminAction::ManageUsers) && user.id != caller.actor.id,
        can_profile: may(AdminAction::ManageUsers),
        role_options: DirectoryRole::ALL
            .into_iter()
            .map(|r| (r.display_name(), user.roles.contains(&r)))
            .collect(),
        tap_min: policy.tap.minimum_lifetime_minutes,
        tap_max: policy.tap.maximum_lifetime_minutes,
        tap_forced_once: policy.tap.is_usable_once,
        tap_form: forms.tap.unwrap_or_else(|| {
            FormState::default().with("lifetime", policy.tap.default_lifetime_minutes.to_string())
        }),
        profile: forms.profile.unwrap_or_else(|| profile_of(&user)),
        locked,
        groups,
        user: UserRow::from(&user),
    }
}

/// The profile form filled from the user as stored.
fn profile_of(user: &User) -> FormState {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    FormState::default()
        .with("profile_upn", user.upn.as_str())
        .with("profile_display_name", user.display_name.clone())
        .with("given_name", opt(&user.given_name))
        .with("surname", opt(&user.surname))
        .with("profile_mail", opt(&user.mail))
        .with("job_title", opt(&user.job_title))
        .with("department", opt(&user.department))
}

/// A user's page, with `forms` as they stand.
async fn user_view(
    state: &AppState,
    admin: &Admin,
    id: &str,
    forms: Forms,
) -> Result<HttpResponse, PortalError> {
    let facts = user_facts(state, &admin.caller, id)
        .await
        .back_to(admin, "/admin/users")?;
    let page = user_page(&admin.chrome, &admin.caller, facts, forms);
    Ok(admin.page(page.status, &page))
}

async fn detail(
    path: web::Path<String>,
    query: web::Query<DetailQuery>,
    state: web::Data<AppState>,
    mut admin: Admin,
) -> Result<HttpResponse, PortalError> {
    admin.chrome.notice = notice(query.done.as_deref());
    user_view(&state, &admin, &path, Forms::default()).await
}

/// The fields of the profile form (named apart from "create a user"'s).
const PROFILE: &[Field] = &[
    Field {
        name: "profile_upn",
        api: "userPrincipalName",
        label: "User name",
    },
    Field {
        name: "profile_display_name",
        api: "displayName",
        label: "Display name",
    },
    Field {
        name: "given_name",
        api: "givenName",
        label: "First name",
    },
    Field {
        name: "surname",
        api: "surname",
        label: "Last name",
    },
    Field {
        name: "profile_mail",
        api: "mail",
        label: "Email",
    },
    Field {
        name: "job_title",
        api: "jobTitle",
        label: "Job title",
    },
    Field {
        name: "department",
        api: "department",
        label: "Department",
    },
];

/// The change the profile form asks for: every field set (an empty
/// optional one cleared).
fn profile_patch(form: &FormPairs) -> UserPatch {
    let text = |name| form.one(name).unwrap_or_default().trim().to_owned();
    let optional = |name| Some(Some(text(name)).filter(|v: &String| !v.is_empty()));
    UserPatch {
        upn: Some(text("profile_upn")),
        display_name: Some(text("profile_display_name")),
        given_name: optional("given_name"),
        surname: optional("surname"),
        mail: optional("profile_mail"),
        job_title: optional("job_title"),
        department: optional("department"),
        ..Default::default()
    }
}

/// `POST /admin/users/{id}/profile`: saves the profile; a field the
/// directory refuses is shown next to it, the entries kept.
async fn edit_profile(
    path: web::Path<String>,
    state: web::Data<AppState>,
    Posted { admin, form }: Posted,
) -> Result<HttpResponse, PortalError> {
    let (id, back) = user_path(path);
    match state
        .admin
        .update_user(&admin.caller, &id, profile_patch(&form))
        .await
    {
        Ok(user) => Ok(see_other(&format!("/admin/users/{}?done=profile", user.id))),
        Err(e) => {
            let profile = FormState::entered(&form, PROFILE)
                .failed(e, PROFILE, None)
                .back_to(&admin, &back)?;
            let forms = Forms {
                profile: Some(profile),
                tap: None,
            };
            user_view(&state, &admin, &id, forms).await
        }
    }
}

/// The fields of the pass form.
const TAP_FIELDS: &[Field] = &[
    Field {
        name: "lifetime",
        api: "lifetimeInMinutes",
        label: "Lifetime",
    },
    Field {
        name: "start",
        api: "startDateTime",
        label: "Start",
    },
];

/// The pass form's start: a `datetime-local` value in the zone the page
/// script put in `start_offset` (minutes east of UTC; UTC without script).
fn start_of(form: &FormPairs) -> Result<Option<time::OffsetDateTime>, DomainError> {
    use time::macros::format_description;
    let value = form.one("start").unwrap_or_default().trim();
    if value.is_empty() {
        return Ok(None);
    }
    let bad = || DomainError::invalid("start", "must be a date and time, such as 2026-12-01 08:00");
    let offset = match form.one("start_offset").map(str::trim) {
        None | Some("") => 0,
        Some(v) => v
            .parse::<i32>()
            .ok()
            .filter(|m| m.abs() <= 18 * 60)
            .ok_or_else(bad)?,
    };
    let local = time::PrimitiveDateTime::parse(
        value,
        format_description!("[year]-[month]-[day]T[hour]:[minute]"),
    )
    .or_else(|_| {
        time::PrimitiveDateTime::parse(
            value,
            format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
        )
    })
    .map_err(|_| bad())?;
    let zone = time::UtcOffset::from_whole_seconds(offset * 60).map_err(|_| bad())?;
    Ok(Some(local.assume_offset(zone)))
}

fn tap_request(form: &FormPairs) -> Result<TapRequest, DomainError> {
    let lifetime = match form.one("lifetime").map(|v| v.trim().parse::<u32>()) {
        None => None,
        Some(Ok(v)) => Some(v),
        Some(Err(_)) => {
            return Err(DomainError::invalid(
                "lifetime",
                "must be a number of minutes",
            ));
        }
    };
    Ok(TapRequest {
        start: start_of(form)?,
        lifetime_minutes: lifetime,
        is_usable_once: Some(form.checked("once")),
    })
}

/// Issues a pass; the browser is sent to the page that shows it once. A
/// value the policy refuses is shown next to its field.
async fn create_tap(
    path: web::Path<String>,
    state: web::Data<AppState>,
    Posted { admin, form }: Posted,
) -> Result<HttpResponse, PortalError> {
    let (id, back) = user_path(path);
    let issued = match tap_request(&form) {
        Ok(request) => state.admin.create_tap(&admin.caller, &id, request).await,
        Err(e) => Err(e),
    };
    let issued = match issued {
        Ok(issued) => issued,
        Err(e) => {
            let mut tap = FormState::entered(&form, TAP_FIELDS)
                .failed(e, TAP_FIELDS, None)
                .back_to(&admin, &back)?;
            tap = tap.with("start_offset", form.one("start_offset").unwrap_or_default());
            let forms = Forms {
                profile: None,
                tap: Some(tap),
            };
            return user_view(&state, &admin, &id, forms).await;
        }
    };
    let user = state
        .admin
        .get_user(&admin.caller, &id)
        .await
        .back_to(&admin, &back)?;
    let page = Shown::Tap(tap_shown(&user, &issued));
    shown::show(&state, &admin, &page, &back).await
}

fn tap_shown(user: &User, issued: &IssuedTap) -> TapShown {
    let tap = &issued.view.tap;
    TapShown {
        user_id: user.id.clone(),
        upn: user.upn.as_str().to_owned(),
        display_name: user.display_name.clone(),
        passcode: issued.passcode.clone(),
        start: tap.start,
        end: tap.end(),
        once: tap.is_usable_once,
    }
}

/// A user's id from the path, and their page.
fn user_path(path: web::Path<String>) -> (String, String) {
    let id = path.into_inner();
    let back = format!("/admin/users/{id}");
    (id, back)
}

fn roles(form: &FormPairs) -> Result<Vec<DirectoryRole>, DomainError> {
    form.all("role")
        .map(|name| {
            DirectoryRole::parse(name)
                .ok_or_else(|| DomainError::invalid("role", format!("unknown role {name}")))
        })
        .collect()
}

async fn set_roles(
    path: web::Path<String>,
    state: web::Data<AppState>,
    Posted { admin, form }: Posted,
) -> Result<HttpResponse, PortalError> {
    let (id, back) = user_path(path);
    let roles = roles(&form).back_to(&admin, &back)?;
    state
        .admin
        .set_roles(&admin.caller, &id, roles)
        .await
        .back_to(&admin, &back)?;
    Ok(see_other(&format!("{back}?done=roles")))
}

async fn enable(
    path: web::Path<String>,
    state: web::Data<AppState>,
    Posted { admin, .. }: Posted,
) -> Result<HttpResponse, PortalError> {
    let (id, back) = user_path(path);
    state
        .admin
        .update_user(&admin.caller, &id, enabled(true))
        .await
        .back_to(&admin, &back)?;
    Ok(see_other(&format!("{back}?done=enabled")))
}

fn enabled(on: bool) -> UserPatch {
    UserPatch {
        account_enabled: Some(on),
        ..Default::default()
    }
}

/// Clears the user's pass lockout (not destructive: no confirmation).
async fn unlock(
    path: web::Path<String>,
    state: web::Data<AppState>,
    Posted { admin, .. }: Posted,
) -> Result<HttpResponse, PortalError> {
    let (id, back) = user_path(path);
    state
        .admin
        .clear_sign_in_lockout(&admin.caller, &id)
        .await
        .back_to(&admin, &back)?;
    Ok(see_other(&format!("{back}?done=unlocked")))
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

    /// Where the admin goes once it is done.
    fn after(self, back: &str) -> String {
        match self {
            Self::DeleteTap => format!("{back}?done=tap-deleted"),
            Self::DeletePasskey => format!("{back}?done=passkey-deleted"),
            Self::Revoke => format!("{back}?done=revoked"),
            Self::Disable => format!("{back}?done=disabled"),
            Self::DeleteUser => "/admin/users?done=deleted".to_owned(),
        }
    }

    async fn run(
        self,
        state: &AppState,
        caller: &Caller,
        id: &str,
        item: &str,
    ) -> Result<(), DomainError> {
        let admin = &state.admin;
        match self {
            Self::DeleteTap => admin.delete_tap(caller, id, item).await,
            Self::DeletePasskey => admin.delete_passkey(caller, id, item).await,
            Self::Revoke => admin.revoke_sessions(caller, id).await,
            Self::Disable => admin
                .update_user(caller, id, enabled(false))
                .await
                .map(|_| ()),
            Self::DeleteUser => admin.delete_user(caller, id).await,
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
    path: web::Path<String>,
    query: web::Query<ConfirmQuery>,
    state: web::Data<AppState>,
    admin: Admin,
) -> Result<HttpResponse, PortalError> {
    let (id, back) = user_path(path);
    let action = known(&admin, Destructive::parse(&query.action), &back)?;
    let user = state
        .admin
        .get_user(&admin.caller, &id)
        .await
        .back_to(&admin, "/admin/users")?;
    let (title, warning, button) = action.wording();
    let asked = Asked {
        title,
        detail: format!("{} ({warning})", user.upn.as_str()),
        warnings: Vec::new(),
        button,
    };
    let post = format!("/admin/users/{id}/{}", query.action);
    Ok(admin.confirm(&asked, &post, &query.item, &back))
}

async fn destructive(
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
    Posted { admin, form }: Posted,
) -> Result<HttpResponse, PortalError> {
    let (id, action) = path.into_inner();
    let back = format!("/admin/users/{id}");
    let action = confirmed(&admin, &form, Destructive::parse(&action), &back)?;
    let item = form.one("item").unwrap_or_default();
    action
        .run(&state, &admin.caller, &id, item)
        .await
        .back_to(&admin, &back)?;
    Ok(see_other(&action.after(&back)))
}
