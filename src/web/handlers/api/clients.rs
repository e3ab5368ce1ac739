//! `/clients`: Onramp's own resource for the relying parties registered
//! through the API (configured ones are listed read-only), in Graph's
//! conventions.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::query::{self, Page};
use super::resources::ClientResponse;
use super::{base, created, json};
use crate::domain::DomainError;
use crate::domain::client::GrantType;
use crate::domain::registration::{NewClient, parse_auth_method, parse_grant_types};
use crate::service::Caller;
use crate::service::admin::ClientView;
use crate::state::AppState;
use crate::web::error::{Named, WebError};
use crate::web::json::{ApiJson, GraphBody, present};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/clients")
            .route(web::get().to(clients_list))
            .route(web::post().to(client_register)),
    )
    .service(
        web::resource("/clients/{client}")
            .route(web::get().to(client_get))
            .route(web::delete().to(client_delete)),
    );
}

#[utoipa::path(
    get,
    path = "/clients",
    operation_id = "listClients",
    tag = "onramp",
    summary = "List clients",
    security(("oauth2" = ["Application.ReadWrite.All"])),
    responses((status = 200, description = "Every client, configured and registered.", body = super::doc::shapes::ClientCollection))
)]
async fn clients_list(
    caller: Caller,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, WebError> {
    query::none(&req)?;
    let list = state.admin.list_clients(&caller).await?;
    Ok(json(
        StatusCode::OK,
        &Page {
            context: query::context(&base(&state), "clients"),
            items: list
                .into_iter()
                .map(|c| serde_json::to_value(ClientResponse::from(c)).unwrap_or_default())
                .collect(),
            count: None,
            next_link: None,
        }
        .into_json(),
    ))
}

#[utoipa::path(
    get,
    path = "/clients/{client}",
    operation_id = "getClient",
    tag = "onramp",
    summary = "Get a client",
    params(super::doc::params::ClientPath),
    security(("oauth2" = ["Application.ReadWrite.All"])),
    responses((status = 200, description = "The client.", body = ClientResponse))
)]
async fn client_get(
    caller: Caller,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    query::none(&req)?;
    let view = state
        .admin
        .get_client(&caller, &path)
        .await
        .named(&[("client", &path)])?;
    Ok(json(StatusCode::OK, &ClientResponse::from(view)))
}

/// `authorization_code` (the default) needs a redirect URI;
/// `refresh_token` needs `authorization_code`; `client_credentials` needs a
/// confidential client.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = RegisterClient)]
struct RegisterRequest {
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = super::doc::fields::client_name, required)]
    display_name: Option<String>,
    #[serde(default)]
    #[schema(schema_with = super::doc::fields::redirect_uris)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    #[schema(schema_with = super::doc::fields::redirect_uris)]
    post_logout_redirect_uris: Vec<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, min_items = 1, value_type = Option<Vec<crate::domain::client::GrantType>>)]
    grant_types: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = super::doc::fields::registrable_auth_method)]
    token_endpoint_auth_method: Option<String>,
}

impl GraphBody for RegisterRequest {
    const ODATA_TYPES: &'static [&'static str] = &[];
}

#[utoipa::path(
    post,
    path = "/clients",
    operation_id = "registerClient",
    tag = "onramp",
    summary = "Register a client",
    request_body(content = RegisterRequest, content_type = "application/json"),
    security(("oauth2" = ["Application.ReadWrite.All"])),
    responses((status = 201, description = "The client, with its secret (shown once) when confidential.", body = ClientResponse), (status = 409, description = "`Conflict`: the client id is taken.", body = crate::web::error::GraphBody))
)]
async fn client_register(
    caller: Caller,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: ApiJson<RegisterRequest>,
) -> Result<HttpResponse, WebError> {
    query::none(&req)?;
    let body = body.into_inner();
    let auth_method = parse_auth_method(body.token_endpoint_auth_method.as_deref())?;
    let grant_types = match &body.grant_types {
        Some(names) => parse_grant_types(names.iter().map(String::as_str))?,
        None => vec![GrantType::AuthorizationCode],
    };
    let new = NewClient {
        name: body
            .display_name
            .ok_or_else(|| DomainError::invalid("displayName", "is required"))?,
        redirect_uris: body.redirect_uris,
        post_logout_redirect_uris: body.post_logout_redirect_uris,
        grant_types,
        auth_method: Some(auth_method),
        // Granted in the portal (its permission picker) only, for now.
        permissions: Vec::new(),
    };
    let registered = state.admin.register_client(&caller, new).await?;
    let mut out = ClientResponse::from(ClientView {
        client: registered.client,
        configured: false,
    });
    out.client_secret = registered.secret;
    let location = format!("{}/clients/{}", base(&state), out.client_id);
    Ok(created(&location, &out))
}

#[utoipa::path(
    delete,
    path = "/clients/{client}",
    operation_id = "deleteClient",
    tag = "onramp",
    summary = "Delete a registered client",
    params(super::doc::params::ClientPath),
    security(("oauth2" = ["Application.ReadWrite.All"])),
    responses((status = 204, description = "Done."), (status = 409, description = "`Conflict`: a client from the configuration file cannot be deleted here.", body = crate::web::error::GraphBody))
)]
async fn client_delete(
    caller: Caller,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    query::none(&req)?;
    state
        .admin
        .delete_client(&caller, &path)
        .await
        .named(&[("client", &path)])?;
    Ok(HttpResponse::NoContent().finish())
}
