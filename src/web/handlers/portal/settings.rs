//! Portal: authentication method policies and registered clients.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::targets::{Chosen, Directory, Picker};
use super::{Admin, Chrome, ConfirmPage, FormPairs, posted, signed_in};
use crate::domain::DomainError;
use crate::domain::attestation;
use crate::domain::client::{ClientAuthMethod, GrantType};
use crate::domain::policy::{EnforcementType, KeyRestrictions, MethodState};
use crate::domain::registration::NewClient;
use crate::state::AppState;
use crate::web::pages::see_other;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/policy", web::get().to(policy))
        .route("/admin/policy/tap", web::post().to(tap_policy))
        .route("/admin/policy/passkeys", web::post().to(passkey_policy))
        .route("/admin/clients", web::get().to(clients))
        .route("/admin/clients", web::post().to(register))
        .route("/admin/clients/{id}/delete", web::get().to(confirm_delete))
        .route("/admin/clients/{id}/delete", web::post().to(delete));
}

pub struct TapForm {
    pub enabled: bool,
    pub min: u32,
    pub default: u32,
    pub max: u32,
    pub length: u32,
    pub once: bool,
    pub targets: Picker,
}

pub struct PasskeyForm {
    pub enabled: bool,
    pub self_service: bool,
    pub targets: Picker,
    pub window: u32,
    pub required: bool,
    pub mfa: bool,
    pub restrict: bool,
    pub block: bool,
    pub aaguids: String,
    pub attest: bool,
    /// One line per trust anchor: description and models.
    pub anchors: Vec<String>,
}

#[derive(Template)]
#[template(path = "admin/policy.html")]
struct PolicyPage<'a> {
    chrome: &'a Chrome,
    tap: TapForm,
    passkey: PasskeyForm,
}

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

async fn policy(
    req: HttpRequest,
    query: web::Query<DoneQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let mut admin = match signed_in(&req, &state, "policy").await {
        Ok(a) => a,
        Err(res) => return res,
    };
    admin.chrome.notice = match query.done.as_deref() {
        Some("tap") => Some("The Temporary Access Pass policy was saved."),
        Some("passkeys") => Some("The passkey settings were saved."),
        _ => None,
    };
    let p = match state.admin.get_policy(&admin.caller).await {
        Ok(p) => p,
        Err(e) => return admin.problem(&e, "/admin"),
    };
    let caller = &admin.caller;
    let pickers = async {
        let directory = Directory::read(&state, caller).await?;
        Ok::<_, DomainError>((
            Picker::of(
                &state,
                caller,
                &directory,
                "tap",
                &p.tap.include,
                &p.tap.exclude,
            )
            .await?,
            Picker::of(
                &state,
                caller,
                &directory,
                "fido2",
                &p.passkey.include,
                &p.passkey.exclude,
            )
            .await?,
        ))
    }
    .await;
    let (tap_targets, passkey_targets) = match pickers {
        Ok(v) => v,
        Err(e) => return admin.problem(&e, "/admin"),
    };
    let page = PolicyPage {
        chrome: &admin.chrome,
        tap: TapForm {
            enabled: p.tap.state == MethodState::Enabled,
            min: p.tap.minimum_lifetime_minutes,
            default: p.tap.default_lifetime_minutes,
            max: p.tap.maximum_lifetime_minutes,
            length: p.tap.default_length,
            once: p.tap.is_usable_once,
            targets: tap_targets,
        },
        passkey: PasskeyForm {
            enabled: p.passkey.state == MethodState::Enabled,
            self_service: p.passkey.is_self_service_registration_allowed,
            targets: passkey_targets,
            window: p.passkey.enrollment_window_minutes,
            required: p.passkey.registration_required,
            mfa: p.passkey.tap_counts_as_mfa,
            restrict: p.passkey.key_restrictions.is_enforced,
            block: p.passkey.key_restrictions.enforcement_type == EnforcementType::Block,
            aaguids: p.passkey.key_restrictions.aaguids.join("\n"),
            attest: p.passkey.attestation.is_enforced,
            anchors: p
                .passkey
                .attestation
                .trust_anchors
                .iter()
                .map(|t| format!("{} ({})", t.description, t.aaguids.join(", ")))
                .collect(),
        },
    };
    admin.page(StatusCode::OK, &page)
}

fn number(form: &FormPairs, name: &'static str) -> Result<u32, DomainError> {
    form.one(name)
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| DomainError::invalid(name, "must be a whole number"))
}

fn state_of(enabled: bool) -> MethodState {
    if enabled {
        MethodState::Enabled
    } else {
        MethodState::Disabled
    }
}

async fn tap_policy(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let (mut admin, form) = match posted(&req, &state, "policy", &body).await {
        Ok(v) => v,
        Err(res) => return res,
    };
    let caller = &admin.caller;
    let parsed = async {
        let current = state.admin.get_policy(caller).await?;
        let targets = Chosen::parse(
            &state,
            caller,
            &form,
            &current.tap.include,
            &current.tap.exclude,
        )
        .await?;
        Ok::<_, DomainError>((
            number(&form, "min")?,
            number(&form, "default")?,
            number(&form, "max")?,
            number(&form, "length")?,
            targets,
        ))
    }
    .await;
    let (min, default, max, length, targets) = match parsed {
        Ok(v) => v,
        Err(e) => return admin.problem(&e, "/admin/policy"),
    };
    let enabled = form.checked("enabled");
    let once = form.checked("once");
    let result = state
        .admin
        .update_policy(caller, "temporaryAccessPass", move |p| {
            let t = &mut p.tap;
            t.state = state_of(enabled);
            t.minimum_lifetime_minutes = min;
            t.default_lifetime_minutes = default;
            t.maximum_lifetime_minutes = max;
            t.default_length = length;
            t.is_usable_once = once;
            (t.include, t.exclude) = targets.clone().apply(&t.include, &t.exclude)?;
            Ok(())
        })
        .await;
    match result {
        Ok(_) => see_other("/admin/policy?done=tap"),
        Err(e) => admin.problem(&e, "/admin/policy"),
    }
}

async fn passkey_policy(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let (mut admin, form) = match posted(&req, &state, "policy", &body).await {
        Ok(v) => v,
        Err(res) => return res,
    };
    let caller = &admin.caller;
    let parsed = async {
        let current = state.admin.get_policy(caller).await?;
        let targets = Chosen::parse(
            &state,
            caller,
            &form,
            &current.passkey.include,
            &current.passkey.exclude,
        )
        .await?;
        Ok::<_, DomainError>((number(&form, "window")?, targets))
    }
    .await;
    let (window, targets) = match parsed {
        Ok(v) => v,
        Err(e) => return admin.problem(&e, "/admin/policy"),
    };
    let (enabled, self_service) = (form.checked("enabled"), form.checked("self_service"));
    let (required, mfa, attest) = (
        form.checked("required"),
        form.checked("mfa"),
        form.checked("attest"),
    );
    let mut aaguids = Vec::new();
    for line in form.lines("aaguids") {
        match attestation::normalise(&line) {
            Some(a) if !aaguids.contains(&a) => aaguids.push(a),
            Some(_) => {}
            None => {
                return admin.problem(
                    &DomainError::invalid("aaguids", format!("`{line}` is not an AAGUID (a UUID)")),
                    "/admin/policy",
                );
            }
        }
    }
    let restrictions = KeyRestrictions {
        is_enforced: form.checked("restrict"),
        enforcement_type: if form.one("restriction") == Some("block") {
            EnforcementType::Block
        } else {
            EnforcementType::Allow
        },
        aaguids,
    };
    let result = state
        .admin
        .update_policy(caller, "fido2", move |p| {
            let k = &mut p.passkey;
            k.state = state_of(enabled);
            k.is_self_service_registration_allowed = self_service;
            (k.include, k.exclude) = targets.clone().apply(&k.include, &k.exclude)?;
            p.passkey.enrollment_window_minutes = window;
            p.passkey.registration_required = required;
            p.passkey.tap_counts_as_mfa = mfa;
            p.passkey.key_restrictions = restrictions.clone();
            p.passkey.attestation.is_enforced = attest;
            Ok(())
        })
        .await;
    match result {
        Ok(_) => see_other("/admin/policy?done=passkeys"),
        Err(e) => admin.problem(&e, "/admin/policy"),
    }
}

pub struct ClientRow {
    pub id: String,
    pub name: String,
    pub auth: &'static str,
    pub grants: String,
    pub redirects: String,
    pub configured: bool,
}

#[derive(Template)]
#[template(path = "admin/clients.html")]
struct ClientsPage<'a> {
    chrome: &'a Chrome,
    clients: Vec<ClientRow>,
}

async fn clients(
    req: HttpRequest,
    query: web::Query<DoneQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let mut admin = match signed_in(&req, &state, "clients").await {
        Ok(a) => a,
        Err(res) => return res,
    };
    admin.chrome.notice = match query.done.as_deref() {
        Some("deleted") => Some("The client was deleted."),
        _ => None,
    };
    let list = match state.admin.list_clients(&admin.caller).await {
        Ok(l) => l,
        Err(e) => return admin.problem(&e, "/admin"),
    };
    let clients = list
        .into_iter()
        .map(|v| ClientRow {
            name: v.client.name.clone().unwrap_or_else(|| v.client.id.clone()),
            auth: v.client.auth_method.as_str(),
            grants: v
                .client
                .grant_types
                .iter()
                .map(|g| g.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            redirects: v.client.redirect_uris.join(" "),
            id: v.client.id,
            configured: v.configured,
        })
        .collect();
    let page = ClientsPage {
        chrome: &admin.chrome,
        clients,
    };
    admin.page(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "admin/client_created.html")]
struct ClientCreatedPage<'a> {
    chrome: &'a Chrome,
    id: &'a str,
    name: &'a str,
    secret: Option<&'a str>,
}

fn parse_registration(form: &FormPairs) -> Result<NewClient, DomainError> {
    let auth_method = match form.one("auth").unwrap_or("client_secret_basic") {
        "client_secret_basic" => ClientAuthMethod::ClientSecretBasic,
        "client_secret_post" => ClientAuthMethod::ClientSecretPost,
        "none" => ClientAuthMethod::None,
        _ => {
            return Err(DomainError::invalid(
                "tokenEndpointAuthMethod",
                "must be client_secret_basic, client_secret_post or none",
            ));
        }
    };
    let grant_types = form
        .all("grant")
        .map(|g| {
            GrantType::parse(g).ok_or_else(|| {
                DomainError::invalid("grantTypes", format!("unknown grant type {g}"))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(NewClient {
        name: form.one("name").unwrap_or_default().to_owned(),
        redirect_uris: form.lines("redirect_uris"),
        post_logout_redirect_uris: form.lines("post_logout"),
        grant_types,
        auth_method: Some(auth_method),
    })
}

async fn register(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let (mut admin, form) = match posted(&req, &state, "clients", &body).await {
        Ok(v) => v,
        Err(res) => return res,
    };
    let registered = match parse_registration(&form) {
        Ok(new) => state.admin.register_client(&admin.caller, new).await,
        Err(e) => Err(e),
    };
    match registered {
        Ok(r) => {
            let page = ClientCreatedPage {
                chrome: &admin.chrome,
                id: &r.client.id,
                name: r.client.name.as_deref().unwrap_or_default(),
                secret: r.secret.as_deref(),
            };
            admin.page(StatusCode::CREATED, &page)
        }
        Err(e) => admin.problem(&e, "/admin/clients"),
    }
}

async fn confirm_delete(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let mut admin: Admin = match signed_in(&req, &state, "clients").await {
        Ok(a) => a,
        Err(res) => return res,
    };
    let id = path.into_inner();
    let view = match state.admin.get_client(&admin.caller, &id).await {
        Ok(v) => v,
        Err(e) => return admin.problem(&e, "/admin/clients"),
    };
    let detail = format!(
        "{}: the application can no longer sign people in or get tokens.",
        view.client.name.as_deref().unwrap_or(&view.client.id)
    );
    let action = format!("/admin/clients/{id}/delete");
    let page = ConfirmPage {
        chrome: &admin.chrome,
        title: "Delete this client?",
        detail: &detail,
        warnings: &[],
        action: &action,
        item: &id,
        button: "Delete client",
        back: "/admin/clients",
    };
    admin.page(StatusCode::OK, &page)
}

async fn delete(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let (mut admin, form) = match posted(&req, &state, "clients", &body).await {
        Ok(v) => v,
        Err(res) => return res,
    };
    if !form.checked("confirm") {
        return see_other("/admin/clients");
    }
    match state
        .admin
        .delete_client(&admin.caller, &path.into_inner())
        .await
    {
        Ok(()) => see_other("/admin/clients?done=deleted"),
        Err(e) => admin.problem(&e, "/admin/clients"),
    }
}
