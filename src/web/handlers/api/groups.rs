//! `/groups`: Graph's security groups and their members (users), which
//! the method policies can include and exclude.

use super::doc::fields;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::Api;
use super::query;
use super::resources::{GROUP_TYPE, GroupResponse, RefRequest, group_json, user_object};
use super::{base, created_in, graph_body, no_content, page_size};
use crate::domain::DomainError;
use crate::domain::group::{GroupPatch, NewGroup};
use crate::domain::odata::{QueryOptions, schemas};
use crate::domain::user::User;
use crate::service::Caller;
use crate::service::directory_query::MAX_SORTED;
use crate::state::AppState;
use crate::web::error::{Named, WebError};
use crate::web::json::{ApiJson, nullable, present};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/groups")
            .route(web::get().to(groups_list))
            .route(web::post().to(group_create)),
    )
    .service(web::resource("/groups/$count").route(web::get().to(groups_count)))
    .service(
        web::resource("/groups/{group}")
            .route(web::get().to(group_get))
            .route(web::patch().to(group_patch))
            .route(web::delete().to(group_delete)),
    )
    .service(web::resource("/groups/{group}/members").route(web::get().to(members_list)))
    .service(web::resource("/groups/{group}/members/$ref").route(web::post().to(member_add)))
    .service(
        web::resource("/groups/{group}/members/{member}/$ref")
            .route(web::delete().to(member_remove)),
    );
}

/// Graph's limit on `members@odata.bind` in one request.
const MAX_BIND: usize = 20;

/// Only security groups: `groupTypes` may be sent, and must be empty.
fn check_group_types(types: Option<Vec<String>>) -> Result<(), DomainError> {
    match types {
        Some(t) if !t.is_empty() => Err(DomainError::invalid(
            "groupTypes",
            "must be empty: Onramp has security groups only (no Unified or dynamic groups)",
        )),
        _ => Ok(()),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = CreateGroup)]
struct CreateGroupRequest {
    #[serde(rename = "@odata.type", default)]
    #[schema(nullable = false, pattern = "^#microsoft\\.graph\\.group$")]
    #[allow(dead_code)]
    odata_type: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::display_name, required)]
    display_name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::description)]
    description: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::required_mail_nickname, required)]
    mail_nickname: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::always_true)]
    security_enabled: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::always_false)]
    mail_enabled: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::no_group_types)]
    group_types: Option<Vec<String>>,
    /// Graph's way to add members while creating: user URLs.
    #[serde(rename = "members@odata.bind", default, deserialize_with = "present")]
    #[schema(schema_with = fields::member_urls)]
    members: Option<Vec<String>>,
}

graph_body! {
    CreateGroupRequest => [GROUP_TYPE];
    PatchGroupRequest => [GROUP_TYPE];
}

#[utoipa::path(
    post,
    path = "/groups",
    operation_id = "createGroup",
    tag = "groups",
    summary = "Create a security group",
    request_body(content = CreateGroupRequest, content_type = "application/json"),
    security(("oauth2" = ["Group.ReadWrite.All"])),
    responses((status = 201, description = "The group, with Location.", body = GroupResponse), (status = 404, description = "`Request_ResourceNotFound`: a user in `members@odata.bind` does not exist (nothing is created).", body = crate::web::error::GraphBody))
)]
async fn group_create(
    Api { caller, req, state }: Api,
    body: ApiJson<CreateGroupRequest>,
) -> Result<HttpResponse, WebError> {
    query::none(&req)?;
    let (new, urls) = body.into_inner().into_parts()?;
    // Every member must resolve before anything is created.
    let members = resolve_members(&state, &caller, urls).await?;
    let group = state.admin.create_group(&caller, new).await?;
    for id in &members {
        state.admin.add_member(&caller, &group.id, id).await?;
    }
    let id = group.id.clone();
    Ok(created_in(&state, "groups", &id, group_json(group)))
}

impl CreateGroupRequest {
    /// The group, and the user URLs of `members@odata.bind`.
    fn into_parts(self) -> Result<(NewGroup, Vec<String>), DomainError> {
        check_group_types(self.group_types)?;
        let urls = self.members.unwrap_or_default();
        if urls.len() > MAX_BIND {
            return Err(DomainError::invalid(
                "members@odata.bind",
                format!("at most {MAX_BIND} members in one request, as in Graph"),
            ));
        }
        let new = NewGroup {
            display_name: self.display_name,
            description: self.description,
            mail_nickname: self.mail_nickname,
            security_enabled: self.security_enabled,
            mail_enabled: self.mail_enabled,
        };
        Ok((new, urls))
    }
}

/// The ids of the users `urls` name, each checked to exist (in order: the
/// first bad or unknown one is the error).
async fn resolve_members(
    state: &AppState,
    caller: &Caller,
    urls: Vec<String>,
) -> Result<Vec<String>, WebError> {
    let mut members = Vec::with_capacity(urls.len());
    for url in urls {
        let id = RefRequest::of(url).object_id()?;
        state
            .admin
            .get_user(caller, &id)
            .await
            .named(&[("user", &id)])?;
        members.push(id);
    }
    Ok(members)
}

#[utoipa::path(
    get,
    path = "/groups",
    operation_id = "listGroups",
    tag = "groups",
    summary = "List groups",
    params(super::doc::params::GroupList),
    security(("oauth2" = ["Group.ReadWrite.All"])),
    responses((status = 200, description = "A page of groups.", body = super::doc::shapes::GroupCollection))
)]
async fn groups_list(Api { caller, req, state }: Api) -> Result<HttpResponse, WebError> {
    let q = query::collection(&req, &schemas::GROUP, &[])?;
    let page = state.admin.query_groups(&caller, &q, page_size(&q)).await?;
    Ok(query::service_page(
        &req,
        &base(&state),
        "groups",
        &q,
        page,
        group_json,
    ))
}

#[utoipa::path(
    get,
    path = "/groups/$count",
    operation_id = "countGroups",
    tag = "groups",
    summary = "Count groups",
    params(super::doc::params::GroupCount),
    security(("oauth2" = ["Group.ReadWrite.All"])),
    responses((status = 200, description = "The number, as text.", body = String, content_type = "text/plain"))
)]
async fn groups_count(Api { caller, req, state }: Api) -> Result<HttpResponse, WebError> {
    let q = query::count(&req, &schemas::GROUP)?;
    let n = state.admin.count_matching_groups(&caller, &q).await?;
    Ok(query::count_answer(n))
}

#[utoipa::path(
    get,
    path = "/groups/{group}",
    operation_id = "getGroup",
    tag = "groups",
    summary = "Get a group",
    params(super::doc::params::GroupPath, super::doc::params::GroupSelect),
    security(("oauth2" = ["Group.ReadWrite.All"])),
    responses((status = 200, description = "The group.", body = GroupResponse))
)]
async fn group_get(
    Api { caller, req, state }: Api,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let q = query::single(&req, &schemas::GROUP)?;
    let group = state
        .admin
        .get_group(&caller, &path)
        .await
        .named(&[("group", &path)])?;
    let context = query::context(&base(&state), "groups/$entity");
    Ok(query::entity_answer(context, &q, group_json(group)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = UpdateGroup)]
struct PatchGroupRequest {
    #[serde(rename = "@odata.type", default)]
    #[schema(nullable = false, pattern = "^#microsoft\\.graph\\.group$")]
    #[allow(dead_code)]
    odata_type: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::display_name)]
    display_name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = fields::description_or_null)]
    description: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::required_mail_nickname)]
    mail_nickname: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::always_true)]
    security_enabled: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::always_false)]
    mail_enabled: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::no_group_types)]
    group_types: Option<Vec<String>>,
}

impl TryFrom<PatchGroupRequest> for GroupPatch {
    type Error = DomainError;

    fn try_from(b: PatchGroupRequest) -> Result<Self, DomainError> {
        check_group_types(b.group_types)?;
        Ok(GroupPatch {
            display_name: b.display_name,
            description: b.description,
            mail_nickname: b.mail_nickname,
            security_enabled: b.security_enabled,
            mail_enabled: b.mail_enabled,
        })
    }
}

#[utoipa::path(
    patch,
    path = "/groups/{group}",
    operation_id = "updateGroup",
    tag = "groups",
    summary = "Update a group",
    request_body(content = PatchGroupRequest, content_type = "application/json"),
    params(super::doc::params::GroupPath),
    security(("oauth2" = ["Group.ReadWrite.All"])),
    responses((status = 204, description = "Done."))
)]
async fn group_patch(
    Api { caller, req, state }: Api,
    path: web::Path<String>,
    body: ApiJson<PatchGroupRequest>,
) -> Result<HttpResponse, WebError> {
    query::none(&req)?;
    let patch = GroupPatch::try_from(body.into_inner())?;
    state
        .admin
        .update_group(&caller, &path, patch)
        .await
        .named(&[("group", &path)])?;
    Ok(no_content())
}

#[utoipa::path(
    delete,
    path = "/groups/{group}",
    operation_id = "deleteGroup",
    tag = "groups",
    summary = "Delete a group",
    params(super::doc::params::GroupPath),
    security(("oauth2" = ["Group.ReadWrite.All"])),
    responses((status = 204, description = "Done."))
)]
async fn group_delete(
    Api { caller, req, state }: Api,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    query::none(&req)?;
    state
        .admin
        .delete_group(&caller, &path)
        .await
        .named(&[("group", &path)])?;
    Ok(no_content())
}

/// Members are users; `$filter`, `$search` and `$orderby` take a user's
/// properties and run over the whole membership.
#[utoipa::path(
    get,
    path = "/groups/{group}/members",
    operation_id = "listGroupMembers",
    tag = "groups",
    summary = "List a group's members",
    params(super::doc::params::GroupPath, super::doc::params::UserList),
    security(("oauth2" = ["Group.ReadWrite.All"])),
    responses((status = 200, description = "The members (users, each with its `@odata.type`).", body = super::doc::shapes::DirectoryObjectCollection))
)]
async fn members_list(
    Api { caller, req, state }: Api,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let q = query::collection(&req, &schemas::USER, &[])?;
    let mut members = matching_members(&state, &caller, &path, &q).await?;
    query::sort(&q, &mut members, |u| &u.id);
    let base = base(&state);
    let context = query::context(&base, "directoryObjects");
    query::memory_page(&req, &base, context, &q, members, user_object)
}

/// Every member of `group` that `q` lets in, read a page at a time (at
/// most [`MAX_SORTED`], so that they can be sorted).
async fn matching_members(
    state: &AppState,
    caller: &Caller,
    group: &str,
    q: &QueryOptions,
) -> Result<Vec<User>, WebError> {
    let mut members = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = state
            .admin
            .list_members(caller, group, cursor.as_deref(), 999)
            .await
            .named(&[("group", group)])?;
        members.extend(page.members.into_iter().filter(|u| q.matches(u)));
        if members.len() > MAX_SORTED {
            return Err(DomainError::invalid(
                "$filter",
                format!("more than {MAX_SORTED} members match; narrow the query"),
            )
            .into());
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(members),
        }
    }
}

#[utoipa::path(
    post,
    path = "/groups/{group}/members/$ref",
    operation_id = "addGroupMember",
    tag = "groups",
    summary = "Add a member",
    request_body(content = crate::web::handlers::api::resources::RefRequest, content_type = "application/json"),
    params(super::doc::params::GroupPath),
    security(("oauth2" = ["Group.ReadWrite.All"])),
    responses((status = 204, description = "Done."))
)]
async fn member_add(
    Api { caller, req, state }: Api,
    path: web::Path<String>,
    body: ApiJson<RefRequest>,
) -> Result<HttpResponse, WebError> {
    query::none(&req)?;
    let member = body.into_inner().object_id()?;
    state
        .admin
        .add_member(&caller, &path, &member)
        .await
        .named(&[("group", &path), ("user", &member)])?;
    Ok(no_content())
}

#[utoipa::path(
    delete,
    path = "/groups/{group}/members/{member}/$ref",
    operation_id = "removeGroupMember",
    tag = "groups",
    summary = "Remove a member",
    params(super::doc::params::GroupPath, super::doc::params::MemberPath),
    security(("oauth2" = ["Group.ReadWrite.All"])),
    responses((status = 204, description = "Done."))
)]
async fn member_remove(
    Api { caller, req, state }: Api,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    query::none(&req)?;
    let (group, member) = path.into_inner();
    state
        .admin
        .remove_member(&caller, &group, &member)
        .await
        .named(&[("group", &group), ("user", &member), ("member", &member)])?;
    Ok(no_content())
}
