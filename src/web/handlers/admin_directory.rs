//! Admin API: directory roles and registered clients (relying parties).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::admin_api::{Collection, UserResponse, caller, json};
use crate::domain::DomainError;
use crate::domain::client::{ClientAuthMethod, GrantType};
use crate::domain::registration::NewClient;
use crate::domain::user::DirectoryRole;
use crate::service::admin::ClientView;
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::json::{ApiJson, present};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/users/{user}/directoryRoles").route(web::put().to(set_directory_roles)),
    )
    .service(
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RolesRequest {
    roles: Vec<DirectoryRole>,
}

/// `PUT /users/{user}/directoryRoles`: replaces the user's roles.
async fn set_directory_roles(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<RolesRequest>,
) -> Result<HttpResponse, WebError> {
    let caller = caller(&req, &state).await?;
    let user = state
        .admin
        .set_roles(&caller, &path, body.into_inner().roles)
        .await?;
    Ok(json(StatusCode::OK, &UserResponse::from(user)))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClientResponse {
    client_id: String,
    display_name: Option<String>,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    grant_types: Vec<&'static str>,
    token_endpoint_auth_method: &'static str,
    /// Defined in the configuration file (read-only through the API).
    configured: bool,
    /// Only in the registration response: shown once, stored as a digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
}

impl From<ClientView> for ClientResponse {
    fn from(v: ClientView) -> Self {
        let c = v.client;
        Self {
            grant_types: c.grant_types.iter().map(|g| g.as_str()).collect(),
            token_endpoint_auth_method: c.auth_method.as_str(),
            client_id: c.id,
            display_name: c.name,
            redirect_uris: c.redirect_uris,
            post_logout_redirect_uris: c.post_logout_redirect_uris,
            configured: v.configured,
            client_secret: None,
        }
    }
}

async fn clients_list(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, WebError> {
    let caller = caller(&req, &state).await?;
    let list = state.admin.list_clients(&caller).await?;
    Ok(json(
        StatusCode::OK,
        &Collection {
            value: list.into_iter().map(ClientResponse::from).collect(),
            next_link: None,
        },
    ))
}

async fn client_get(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let caller = caller(&req, &state).await?;
    let view = state.admin.get_client(&caller, &path).await?;
    Ok(json(StatusCode::OK, &ClientResponse::from(view)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RegisterRequest {
    #[serde(default, deserialize_with = "present")]
    display_name: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    #[serde(default, deserialize_with = "present")]
    grant_types: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    token_endpoint_auth_method: Option<String>,
}

async fn client_register(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: ApiJson<RegisterRequest>,
) -> Result<HttpResponse, WebError> {
    let caller = caller(&req, &state).await?;
    let body = body.into_inner();
    let auth_method = match body.token_endpoint_auth_method.as_deref() {
        None | Some("client_secret_basic") => ClientAuthMethod::ClientSecretBasic,
        Some("client_secret_post") => ClientAuthMethod::ClientSecretPost,
        Some("none") => ClientAuthMethod::None,
        Some(_) => {
            return Err(DomainError::invalid(
                "tokenEndpointAuthMethod",
                "must be client_secret_basic, client_secret_post or none",
            )
            .into());
        }
    };
    let grant_types = body
        .grant_types
        .unwrap_or_else(|| vec!["authorization_code".into()])
        .iter()
        .map(|g| {
            GrantType::parse(g).ok_or_else(|| {
                DomainError::invalid("grantTypes", format!("unknown grant type {g}"))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let new = NewClient {
        name: body
            .display_name
            .ok_or_else(|| DomainError::invalid("displayName", "is required"))?,
        redirect_uris: body.redirect_uris,
        post_logout_redirect_uris: body.post_logout_redirect_uris,
        grant_types,
        auth_method: Some(auth_method),
    };
    let registered = state.admin.register_client(&caller, new).await?;
    let mut out = ClientResponse::from(ClientView {
        client: registered.client,
        configured: false,
    });
    out.client_secret = registered.secret;
    let location = format!("{}/api/v1/clients/{}", state.ctx.issuer, out.client_id);
    let mut res = json(StatusCode::CREATED, &out);
    if let Ok(v) = header::HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

async fn client_delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let caller = caller(&req, &state).await?;
    state.admin.delete_client(&caller, &path).await?;
    Ok(HttpResponse::NoContent().finish())
}
