//! Portal: security groups and their members (the method policies target
//! groups; see `targets.rs`). Groups are the Global Administrator's: the
//! service refuses everyone else, and the nav shows the section only to
//! tokens holding `Group.ReadWrite.All`.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::form::{Field, FormState};
use super::{
    Admin, Asked, BackTo, Chrome, FormPairs, PAGE, PortalError, Posted, confirmed, known, listed,
    to_read,
};
use crate::domain::DomainError;
use crate::domain::group::{Group, GroupPatch, NewGroup};
use crate::domain::permission::Permission;
use crate::domain::policy::{IncludeTargets, Policy, PolicyTarget, TargetType};
use crate::domain::user::User;
use crate::service::Caller;
use crate::state::AppState;
use crate::web::pages::{When, enc, see_other};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/groups", web::get().to(list))
        .route("/admin/groups", web::post().to(create))
        .route("/admin/groups/{id}", web::get().to(detail))
        .route("/admin/groups/{id}", web::post().to(update))
        .route("/admin/groups/{id}/confirm", web::get().to(confirm))
        .route("/admin/groups/{id}/members", web::post().to(add_member))
        .route("/admin/groups/{id}/{action}", web::post().to(destructive));
}

/// The administrator, if they may manage groups. Said before the service
/// would refuse (it decides; this explains).
fn groups_only(admin: Admin) -> Result<Admin, PortalError> {
    if admin.can(Permission::GroupReadWriteAll) {
        return Ok(admin);
    }
    Err(admin.problem(
        &DomainError::Forbidden(
            "Groups are managed by a Global Administrator, and your roles do not include it: managing groups needs the Global Administrator role."
                .into(),
        ),
        "/admin",
    ))
}

/// A groups form, if they may manage groups.
fn groups_form(posted: Posted) -> Result<(Admin, FormPairs), PortalError> {
    Ok((groups_only(posted.admin)?, posted.form))
}

pub struct GroupRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub nickname: String,
    pub created: When,
}

impl From<&Group> for GroupRow {
    fn from(g: &Group) -> Self {
        Self {
            id: g.id.clone(),
            name: g.display_name.clone(),
            description: g.description.clone().unwrap_or_default(),
            nickname: g.mail_nickname.clone(),
            created: When(g.created),
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

/// The inputs of the create and details forms.
const GROUP_FIELDS: &[Field] = &[
    Field {
        name: "display_name",
        api: "displayName",
        label: "Display name",
    },
    Field {
        name: "description",
        api: "description",
        label: "Description",
    },
    Field {
        name: "mail_nickname",
        api: "mailNickname",
        label: "Mail nickname",
    },
];

/// The input of the "add a member" form.
const MEMBER_FIELDS: &[Field] = &[Field {
    name: "upn",
    api: "upn",
    label: "User name",
}];

#[derive(Template)]
#[template(path = "admin/groups.html")]
struct GroupsPage<'a> {
    chrome: &'a Chrome,
    q: &'a str,
    groups: Vec<GroupRow>,
    next: Option<String>,
    /// The search looked at the first [`super::SEARCH_SCAN`] groups only.
    truncated: bool,
    /// The "create a group" form.
    create: FormState,
}

#[derive(Deserialize)]
struct ListQuery {
    q: Option<String>,
    after: Option<String>,
    done: Option<String>,
}

async fn list(
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
    admin: Admin,
) -> Result<HttpResponse, PortalError> {
    let mut admin = groups_only(admin)?;
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

/// The groups page (`create`: the "create a group" form as it stands).
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
        .list_groups(&admin.caller, after, top)
        .await
        .back_to(admin, "/admin")?;
    let (groups, next, truncated) = listed(q, page.groups, page.next, |g, needle| {
        g.display_name.to_lowercase().contains(needle)
            || g.mail_nickname.to_lowercase().contains(needle)
    });
    let page = GroupsPage {
        chrome: &admin.chrome,
        q,
        groups: groups.iter().map(GroupRow::from).collect(),
        next,
        truncated,
        create,
    };
    Ok(admin.page(page.create.status(), &page))
}

/// A trimmed field, `None` when empty.
fn text(form: &FormPairs, name: &str) -> Option<String> {
    form.one(name)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

async fn create(state: web::Data<AppState>, posted: Posted) -> Result<HttpResponse, PortalError> {
    let (admin, form) = groups_form(posted)?;
    let new = NewGroup {
        display_name: Some(text(&form, "display_name").unwrap_or_default()),
        description: text(&form, "description"),
        mail_nickname: text(&form, "mail_nickname"),
        ..Default::default()
    };
    match state.admin.create_group(&admin.caller, new).await {
        Ok(group) => Ok(see_other(&format!(
            "/admin/groups/{}?done=created",
            group.id
        ))),
        Err(e) => {
            let entered = FormState::entered(&form, GROUP_FIELDS)
                .failed(e, GROUP_FIELDS, None)
                .back_to(&admin, "/admin/groups")?;
            list_page(&state, &admin, "", None, entered).await
        }
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
    /// The details form and the "add a member" form as they stand.
    details: FormState,
    member: FormState,
}

/// The forms of a group's page (defaults: the group as stored, no
/// member), one of them perhaps with an error.
#[derive(Default)]
struct GroupForms {
    details: Option<FormState>,
    member: Option<FormState>,
}

#[derive(Deserialize)]
struct DetailQuery {
    done: Option<String>,
    after: Option<String>,
}

fn policy_lines(policy: &Policy, group_id: &str) -> Vec<String> {
    mentions(policy, group_id)
        .into_iter()
        .map(|(method, included)| {
            if included {
                format!("Included in the {method} policy")
            } else {
                format!("Excluded from the {method} policy")
            }
        })
        .collect()
}

async fn detail(
    path: web::Path<String>,
    query: web::Query<DetailQuery>,
    state: web::Data<AppState>,
    admin: Admin,
) -> Result<HttpResponse, PortalError> {
    let mut admin = groups_only(admin)?;
    admin.chrome.notice = notice(query.done.as_deref());
    let after = query.after.as_deref();
    group_view(&state, &admin, &path, after, GroupForms::default()).await
}

/// A group's page (from the member `after`), with `forms` as they stand.
async fn group_view(
    state: &AppState,
    admin: &Admin,
    id: &str,
    after: Option<&str>,
    forms: GroupForms,
) -> Result<HttpResponse, PortalError> {
    let back = "/admin/groups";
    let caller = &admin.caller;
    let group = state
        .admin
        .get_group(caller, id)
        .await
        .back_to(admin, back)?;
    let members = state
        .admin
        .list_members(caller, &group.id, after, PAGE)
        .await
        .back_to(admin, back)?;
    let policy = state.admin.policy().await.back_to(admin, back)?;
    let details = forms.details.unwrap_or_else(|| {
        FormState::default()
            .with("display_name", group.display_name.clone())
            .with("description", group.description.clone().unwrap_or_default())
    });
    let member = forms.member.unwrap_or_default();
    let status = details.status().max(member.status());
    let page = GroupPage {
        chrome: &admin.chrome,
        group: GroupRow::from(&group),
        members: members.members.iter().map(MemberRow::from).collect(),
        next: members
            .next
            .map(|n| format!("/admin/groups/{}?after={}", group.id, enc(&n))),
        policies: policy_lines(&policy, &group.id),
        details,
        member,
    };
    Ok(admin.page(status, &page))
}

/// A group's id from the path, and its page.
fn group_path(path: web::Path<String>) -> (String, String) {
    let id = path.into_inner();
    let back = format!("/admin/groups/{id}");
    (id, back)
}

async fn update(
    path: web::Path<String>,
    state: web::Data<AppState>,
    posted: Posted,
) -> Result<HttpResponse, PortalError> {
    let (admin, form) = groups_form(posted)?;
    let (id, back) = group_path(path);
    let patch = GroupPatch {
        display_name: Some(text(&form, "display_name").unwrap_or_default()),
        description: Some(text(&form, "description")),
        ..Default::default()
    };
    match state.admin.update_group(&admin.caller, &id, patch).await {
        Ok(_) => Ok(see_other(&format!("{back}?done=saved"))),
        Err(e) => {
            let details = FormState::entered(&form, GROUP_FIELDS)
                .failed(e, GROUP_FIELDS, None)
                .back_to(&admin, &back)?;
            let forms = GroupForms {
                details: Some(details),
                member: None,
            };
            group_view(&state, &admin, &id, None, forms).await
        }
    }
}

/// The service's refusals of a new member in the form's words.
fn member_words(e: DomainError, upn: &str) -> DomainError {
    match e {
        DomainError::NotFound("user") => {
            DomainError::invalid("upn", format!("there is no user {upn}"))
        }
        DomainError::Invalid { field, .. } if field == "members" => {
            DomainError::Conflict(format!("{upn} is already a member of this group.").into())
        }
        e => e,
    }
}

async fn add_member(
    path: web::Path<String>,
    state: web::Data<AppState>,
    posted: Posted,
) -> Result<HttpResponse, PortalError> {
    let (admin, form) = groups_form(posted)?;
    let (id, back) = group_path(path);
    let caller = &admin.caller;
    // The group first, so a missing group is not reported as a missing user.
    state
        .admin
        .get_group(caller, &id)
        .await
        .back_to(&admin, "/admin/groups")?;
    let added = match text(&form, "upn") {
        Some(upn) => state
            .admin
            .add_member(caller, &id, &upn)
            .await
            .map_err(|e| member_words(e, &upn)),
        None => Err(DomainError::invalid(
            "upn",
            "enter the user name (UPN) of the person to add",
        )),
    };
    match added {
        Ok(()) => Ok(see_other(&format!("{back}?done=member-added"))),
        Err(e) => {
            let member = FormState::entered(&form, MEMBER_FIELDS)
                .failed(e, MEMBER_FIELDS, Some("upn"))
                .back_to(&admin, &back)?;
            let forms = GroupForms {
                details: None,
                member: Some(member),
            };
            group_view(&state, &admin, &id, None, forms).await
        }
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

impl Destructive {
    /// What the confirmation page asks about `group` (and the member
    /// `item`), with what the policies naming the group make of it.
    async fn asked(
        self,
        state: &AppState,
        caller: &Caller,
        group: &Group,
        item: &str,
    ) -> Result<Asked, DomainError> {
        let policy = state.admin.policy().await?;
        Ok(match self {
            Self::RemoveMember => {
                let user = state.admin.get_user(caller, item).await?;
                let upn = user.upn.as_str();
                Asked {
                    title: "Remove this member?",
                    detail: format!("{upn} leaves the group {}.", group.display_name),
                    warnings: policy_warnings(&policy, &group.id, Some(upn)),
                    button: "Remove member",
                }
            }
            Self::DeleteGroup => Asked {
                title: "Delete this group?",
                detail: format!(
                    "{}: the group and its memberships are deleted (the users stay). This cannot be undone.",
                    group.display_name
                ),
                warnings: policy_warnings(&policy, &group.id, None),
                button: "Delete group",
            },
        })
    }
}

async fn confirm(
    path: web::Path<String>,
    query: web::Query<ConfirmQuery>,
    state: web::Data<AppState>,
    admin: Admin,
) -> Result<HttpResponse, PortalError> {
    let admin = groups_only(admin)?;
    let (id, back) = group_path(path);
    let action = known(&admin, Destructive::parse(&query.action), &back)?;
    let caller = &admin.caller;
    let group = state
        .admin
        .get_group(caller, &id)
        .await
        .back_to(&admin, "/admin/groups")?;
    let asked = action
        .asked(&state, caller, &group, &query.item)
        .await
        .back_to(&admin, &back)?;
    let post = format!("/admin/groups/{id}/{}", query.action);
    Ok(admin.confirm(&asked, &post, &query.item, &back))
}

fn not_a_member(e: DomainError) -> DomainError {
    match e {
        DomainError::NotFound("member") => {
            DomainError::Conflict("That user is not a member of this group (any more).".into())
        }
        e => e,
    }
}

async fn destructive(
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
    posted: Posted,
) -> Result<HttpResponse, PortalError> {
    let (admin, form) = groups_form(posted)?;
    let (id, action) = path.into_inner();
    let back = format!("/admin/groups/{id}");
    let action = confirmed(&admin, &form, Destructive::parse(&action), &back)?;
    let caller = &admin.caller;
    match action {
        Destructive::RemoveMember => {
            let item = form.one("item").unwrap_or_default();
            state
                .admin
                .remove_member(caller, &id, item)
                .await
                .map_err(not_a_member)
                .back_to(&admin, &back)?;
            Ok(see_other(&format!("{back}?done=member-removed")))
        }
        Destructive::DeleteGroup => {
            state
                .admin
                .delete_group(caller, &id)
                .await
                .back_to(&admin, "/admin/groups")?;
            Ok(see_other("/admin/groups?done=deleted"))
        }
    }
}

/// A user's groups for their page: `None` when this admin may not read
/// groups.
pub async fn of_user(
    state: &AppState,
    caller: &Caller,
    user_id: &str,
) -> Result<Option<Vec<GroupRow>>, DomainError> {
    match state.admin.member_of(caller, user_id).await {
        Ok(groups) => Ok(Some(groups.iter().map(GroupRow::from).collect())),
        Err(DomainError::Forbidden(_)) => Ok(None),
        Err(e) => Err(e),
    }
}
