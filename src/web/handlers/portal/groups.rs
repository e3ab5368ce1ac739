//! Portal: security groups and their members (the method policies target
//! groups; see `targets.rs`). Groups are the Global Administrator's: the
//! service refuses everyone else, and the nav shows the section only to
//! tokens holding `Group.ReadWrite.All`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{Admin, Chrome, ConfirmPage, FormPairs, minute, posted, signed_in};
use crate::domain::DomainError;
use crate::domain::group::{Group, GroupPatch, NewGroup};
use crate::domain::permission::Permission;
use crate::domain::policy::{IncludeTargets, Policy, PolicyTarget, TargetType};
use crate::domain::user::User;
use crate::state::AppState;
use crate::web::pages::{enc, see_other};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/groups", web::get().to(list))
        .route("/admin/groups", web::post().to(create))
        .route("/admin/groups/{id}", web::get().to(detail))
        .route("/admin/groups/{id}", web::post().to(update))
        .route("/admin/groups/{id}/confirm", web::get().to(confirm))
        .route("/admin/groups/{id}/members", web::post().to(add_member))
        .route("/admin/groups/{id}/{action}", web::post().to(destructive));
}

/// Said before the service would refuse (it decides; this explains).
fn no_groups(mut admin: Admin) -> HttpResponse {
    admin.problem(
        &DomainError::Forbidden(
            "Groups are managed by a Global Administrator, and your roles do not include it: managing groups needs the Global Administrator role."
                .into(),
        ),
        "/admin",
    )
}

/// The signed-in administrator, if they may manage groups.
async fn groups_admin(req: &HttpRequest, state: &AppState) -> Result<Admin, HttpResponse> {
    let admin = signed_in(req, state, "groups").await?;
    if admin.can(Permission::GroupReadWriteAll) {
        Ok(admin)
    } else {
        Err(no_groups(admin))
    }
}

/// A groups form, once its CSRF token checks out, if they may manage groups.
async fn groups_form(
    req: &HttpRequest,
    state: &AppState,
    body: &[u8],
) -> Result<(Admin, FormPairs), HttpResponse> {
    let (admin, form) = posted(req, state, "groups", body).await?;
    if admin.can(Permission::GroupReadWriteAll) {
        Ok((admin, form))
    } else {
        Err(no_groups(admin))
    }
}

pub struct GroupRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub nickname: String,
    pub created: String,
}

impl From<&Group> for GroupRow {
    fn from(g: &Group) -> Self {
        Self {
            id: g.id.clone(),
            name: g.display_name.clone(),
            description: g.description.clone().unwrap_or_default(),
            nickname: g.mail_nickname.clone(),
            created: minute(g.created),
        }
    }
}

fn notice(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "created" => "The group was created.",
        "saved" => "The group details were saved.",
        "deleted" => "The group was deleted.",
        "member-added" => "The member was added to the group.",
        "member-removed" => "The member was removed from the group.",
        _ => return None,
    })
}

/// The service's field names as the form labels them.
fn in_words(e: DomainError) -> DomainError {
    match e {
        DomainError::Invalid { field, message } => {
            let label = match field.as_ref() {
                "displayName" => "Display name",
                "description" => "Description",
                "mailNickname" => "Mail nickname",
                _ => return DomainError::Invalid { field, message },
            };
            DomainError::invalid(label, message)
        }
        other => other,
    }
}

#[derive(Template)]
#[template(path = "admin/groups.html")]
struct GroupsPage<'a> {
    chrome: &'a Chrome,
    q: &'a str,
    groups: Vec<GroupRow>,
    next: Option<String>,
    /// The search looked at the first [`SEARCH_SCAN`] groups only.
    truncated: bool,
}

#[derive(Deserialize)]
struct ListQuery {
    q: Option<String>,
    after: Option<String>,
    done: Option<String>,
}

/// Search scans at most this many groups (by name), as the users page does.
const SEARCH_SCAN: usize = 999;
const PAGE: usize = 50;

async fn list(
    req: HttpRequest,
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let mut admin = match groups_admin(&req, &state).await {
        Ok(a) => a,
        Err(res) => return res,
    };
    admin.chrome.notice = notice(query.done.as_deref());
    let q = query.q.as_deref().map(str::trim).unwrap_or_default();
    let (groups, next, truncated) = if q.is_empty() {
        match state
            .admin
            .list_groups(&admin.caller, query.after.as_deref(), PAGE)
            .await
        {
            Ok(page) => (page.groups, page.next, false),
            Err(e) => return admin.problem(&e, "/admin"),
        }
    } else {
        match state
            .admin
            .list_groups(&admin.caller, None, SEARCH_SCAN)
            .await
        {
            Ok(page) => {
                let needle = q.to_lowercase();
                let hits = page
                    .groups
                    .into_iter()
                    .filter(|g| {
                        g.display_name.to_lowercase().contains(&needle)
                            || g.mail_nickname.to_lowercase().contains(&needle)
                    })
                    .collect();
                (hits, None, page.next.is_some())
            }
            Err(e) => return admin.problem(&e, "/admin"),
        }
    };
    let page = GroupsPage {
        chrome: &admin.chrome,
        q,
        groups: groups.iter().map(GroupRow::from).collect(),
        next,
        truncated,
    };
    admin.page(StatusCode::OK, &page)
}

/// A trimmed field, `None` when empty.
fn text(form: &FormPairs, name: &str) -> Option<String> {
    form.one(name)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

async fn create(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let (mut admin, form) = match groups_form(&req, &state, &body).await {
        Ok(v) => v,
        Err(res) => return res,
    };
    let new = NewGroup {
        display_name: Some(text(&form, "display_name").unwrap_or_default()),
        description: text(&form, "description"),
        mail_nickname: text(&form, "mail_nickname"),
        ..Default::default()
    };
    match state.admin.create_group(&admin.caller, new).await {
        Ok(group) => see_other(&format!("/admin/groups/{}?done=created", group.id)),
        Err(e) => admin.problem(&in_words(e), "/admin/groups"),
    }
}

pub struct MemberRow {
    pub id: String,
    pub upn: String,
    pub display_name: String,
    pub enabled: bool,
}

impl From<&User> for MemberRow {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.clone(),
            upn: u.upn.as_str().to_owned(),
            display_name: u.display_name.clone(),
            enabled: u.account_enabled,
        }
    }
}

/// Where a method policy names a group: (method, included?).
fn mentions(policy: &Policy, group_id: &str) -> Vec<(&'static str, bool)> {
    let named = |targets: &[PolicyTarget]| {
        targets
            .iter()
            .any(|t| t.target_type == TargetType::Group && t.id == group_id)
    };
    let included = |include: &IncludeTargets| match include {
        IncludeTargets::AllUsers => false,
        IncludeTargets::Targets(t) => named(t),
    };
    let mut out = Vec::new();
    for (method, include, exclude) in [
        (
            "Temporary Access Pass",
            &policy.tap.include,
            policy.tap.exclude.as_slice(),
        ),
        (
            "passkey",
            &policy.passkey.include,
            policy.passkey.exclude.as_slice(),
        ),
    ] {
        if included(include) {
            out.push((method, true));
        }
        if named(exclude) {
            out.push((method, false));
        }
    }
    out
}

#[derive(Template)]
#[template(path = "admin/group.html")]
struct GroupPage<'a> {
    chrome: &'a Chrome,
    group: GroupRow,
    members: Vec<MemberRow>,
    /// The link to the next page of members.
    next: Option<String>,
    /// "Included in the Temporary Access Pass policy", ...
    policies: Vec<String>,
}

#[derive(Deserialize)]
struct DetailQuery {
    done: Option<String>,
    after: Option<String>,
}

async fn detail(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<DetailQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let mut admin = match groups_admin(&req, &state).await {
        Ok(a) => a,
        Err(res) => return res,
    };
    admin.chrome.notice = notice(query.done.as_deref());
    let id = path.into_inner();
    let caller = &admin.caller;
    let group = match state.admin.get_group(caller, &id).await {
        Ok(g) => g,
        Err(e) => return admin.problem(&e, "/admin/groups"),
    };
    let members = match state
        .admin
        .list_members(caller, &group.id, query.after.as_deref(), PAGE)
        .await
    {
        Ok(m) => m,
        Err(e) => return admin.problem(&e, "/admin/groups"),
    };
    let policy = match state.admin.policy().await {
        Ok(p) => p,
        Err(e) => return admin.problem(&e, "/admin/groups"),
    };
    let policies = mentions(&policy, &group.id)
        .into_iter()
        .map(|(method, included)| {
            if included {
                format!("Included in the {method} policy")
            } else {
                format!("Excluded from the {method} policy")
            }
        })
        .collect();
    let page = GroupPage {
        chrome: &admin.chrome,
        group: GroupRow::from(&group),
        members: members.members.iter().map(MemberRow::from).collect(),
        next: members
            .next
            .map(|n| format!("/admin/groups/{}?after={}", group.id, enc(&n))),
        policies,
    };
    admin.page(StatusCode::OK, &page)
}

async fn update(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let (mut admin, form) = match groups_form(&req, &state, &body).await {
        Ok(v) => v,
        Err(res) => return res,
    };
    let id = path.into_inner();
    let back = format!("/admin/groups/{id}");
    let patch = GroupPatch {
        display_name: Some(text(&form, "display_name").unwrap_or_default()),
        description: Some(text(&form, "description")),
        ..Default::default()
    };
    match state.admin.update_group(&admin.caller, &id, patch).await {
        Ok(_) => see_other(&format!("{back}?done=saved")),
        Err(e) => admin.problem(&in_words(e), &back),
    }
}

async fn add_member(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let (mut admin, form) = match groups_form(&req, &state, &body).await {
        Ok(v) => v,
        Err(res) => return res,
    };
    let id = path.into_inner();
    let back = format!("/admin/groups/{id}");
    let Some(upn) = text(&form, "upn") else {
        return admin.problem(
            &DomainError::invalid(
                "User name",
                "enter the user name (UPN) of the person to add",
            ),
            &back,
        );
    };
    let caller = &admin.caller;
    // The group first, so a missing group is not reported as a missing user.
    if let Err(e) = state.admin.get_group(caller, &id).await {
        return admin.problem(&e, "/admin/groups");
    }
    match state.admin.add_member(caller, &id, &upn).await {
        Ok(()) => see_other(&format!("{back}?done=member-added")),
        Err(DomainError::NotFound("user")) => admin.problem(
            &DomainError::invalid("User name", format!("there is no user {upn}")),
            &back,
        ),
        Err(DomainError::Invalid { field, .. }) if field == "members" => admin.problem(
            &DomainError::Conflict(format!("{upn} is already a member of this group.").into()),
            &back,
        ),
        Err(e) => admin.problem(&e, &back),
    }
}

/// The destructive actions, each behind a confirmation page.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Destructive {
    RemoveMember,
    DeleteGroup,
}

impl Destructive {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "remove-member" => Self::RemoveMember,
            "delete-group" => Self::DeleteGroup,
            _ => return None,
        })
    }
}

#[derive(Deserialize)]
struct ConfirmQuery {
    action: String,
    #[serde(default)]
    item: String,
}

/// What going ahead changes for the method policies that name the group.
fn policy_warnings(policy: &Policy, group_id: &str, member: Option<&str>) -> Vec<String> {
    mentions(policy, group_id)
        .into_iter()
        .map(|(method, included)| match (member, included) {
            (Some(upn), true) => format!(
                "The {method} policy includes this group: unless it includes {upn} otherwise, {upn} can no longer sign in with a {method}."
            ),
            (Some(upn), false) => format!(
                "The {method} policy excludes this group: unless it excludes {upn} otherwise, {upn} can sign in with a {method} again."
            ),
            (None, true) => format!(
                "The {method} policy includes this group: members who are not included otherwise can no longer sign in with a {method}."
            ),
            (None, false) => format!(
                "The {method} policy excludes this group: members who are not excluded otherwise can sign in with a {method} again."
            ),
        })
        .collect()
}

async fn confirm(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ConfirmQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let mut admin = match groups_admin(&req, &state).await {
        Ok(a) => a,
        Err(res) => return res,
    };
    let id = path.into_inner();
    let back = format!("/admin/groups/{id}");
    let Some(action) = Destructive::parse(&query.action) else {
        return admin.problem(&DomainError::NotFound("action"), &back);
    };
    let caller = &admin.caller;
    let group = match state.admin.get_group(caller, &id).await {
        Ok(g) => g,
        Err(e) => return admin.problem(&e, "/admin/groups"),
    };
    let policy = match state.admin.policy().await {
        Ok(p) => p,
        Err(e) => return admin.problem(&e, &back),
    };
    let (title, detail, warnings, button) = match action {
        Destructive::RemoveMember => {
            let user = match state.admin.get_user(caller, &query.item).await {
                Ok(u) => u,
                Err(e) => return admin.problem(&e, &back),
            };
            let upn = user.upn.as_str();
            (
                "Remove this member?",
                format!("{upn} leaves the group {}.", group.display_name),
                policy_warnings(&policy, &group.id, Some(upn)),
                "Remove member",
            )
        }
        Destructive::DeleteGroup => (
            "Delete this group?",
            format!(
                "{}: the group and its memberships are deleted (the users stay). This cannot be undone.",
                group.display_name
            ),
            policy_warnings(&policy, &group.id, None),
            "Delete group",
        ),
    };
    let post = format!("/admin/groups/{id}/{}", query.action);
    let page = ConfirmPage {
        chrome: &admin.chrome,
        title,
        detail: &detail,
        warnings: &warnings,
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
    let (mut admin, form) = match groups_form(&req, &state, &body).await {
        Ok(v) => v,
        Err(res) => return res,
    };
    let (id, action) = path.into_inner();
    let back = format!("/admin/groups/{id}");
    let Some(action) = Destructive::parse(&action) else {
        return admin.problem(&DomainError::NotFound("action"), &back);
    };
    if !form.checked("confirm") {
        return see_other(&back);
    }
    let caller = &admin.caller;
    match action {
        Destructive::RemoveMember => {
            let item = form.one("item").unwrap_or_default();
            match state.admin.remove_member(caller, &id, item).await {
                Ok(()) => see_other(&format!("{back}?done=member-removed")),
                Err(DomainError::NotFound("member")) => admin.problem(
                    &DomainError::Conflict(
                        "That user is not a member of this group (any more).".into(),
                    ),
                    &back,
                ),
                Err(e) => admin.problem(&e, &back),
            }
        }
        Destructive::DeleteGroup => match state.admin.delete_group(caller, &id).await {
            Ok(()) => see_other("/admin/groups?done=deleted"),
            Err(e) => admin.problem(&e, "/admin/groups"),
        },
    }
}

/// A user's groups for their page: `None` when this admin may not read
/// groups.
pub async fn of_user(
    state: &AppState,
    caller: &crate::service::Caller,
    user_id: &str,
) -> Result<Option<Vec<GroupRow>>, DomainError> {
    match state.admin.member_of(caller, user_id).await {
        Ok(groups) => Ok(Some(groups.iter().map(GroupRow::from).collect())),
        Err(DomainError::Forbidden(_)) => Ok(None),
        Err(e) => Err(e),
    }
}
