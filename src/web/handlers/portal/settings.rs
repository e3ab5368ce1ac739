//! Portal: authentication method policies and registered clients.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::form::{Field, FormState};
use super::shown::{self, ClientShown, Shown};
use super::targets::{Chosen, Directory, Picker};
use super::{Admin, Asked, BackTo, Chrome, FormPairs, PortalError, Posted, go_ahead};
use crate::domain::DomainError;
use crate::domain::attestation;
use crate::domain::client::{ClientAuthMethod, GrantType};
use crate::domain::permission::Permission;
use crate::domain::policy::{
    EnforcementType, IncludeTargets, KeyRestrictions, MethodState, Policy, PolicyTarget,
};
use crate::domain::registration::NewClient;
use crate::service::Caller;
use crate::service::admin::ClientView;
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

/// The Temporary Access Pass form: its values and its target picker.
pub struct TapForm {
    pub form: FormState,
    pub targets: Picker,
}

pub struct PasskeyForm {
    pub form: FormState,
    pub targets: Picker,
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

const POLICY: &str = "/admin/policy";

/// The two policy forms' inputs: their API names and how errors name them.
const TAP_FIELDS: &[Field] = &[
    Field {
        name: "enabled",
        api: "state",
        label: "Enabled",
    },
    Field {
        name: "min",
        api: "minimumLifetimeInMinutes",
        label: "Minimum lifetime",
    },
    Field {
        name: "default",
        api: "defaultLifetimeInMinutes",
        label: "Default lifetime",
    },
    Field {
        name: "max",
        api: "maximumLifetimeInMinutes",
        label: "Maximum lifetime",
    },
    Field {
        name: "length",
        api: "defaultLength",
        label: "Passcode length",
    },
    Field {
        name: "once",
        api: "isUsableOnce",
        label: "One-time use",
    },
    TARGETS[0],
    TARGETS[1],
    TARGETS[2],
    TARGETS[3],
    TARGETS[4],
    TARGETS[5],
    TARGETS[6],
];

const PASSKEY_FIELDS: &[Field] = &[
    Field {
        name: "enabled",
        api: "state",
        label: "Enabled",
    },
    Field {
        name: "self_service",
        api: "isSelfServiceRegistrationAllowed",
        label: "Self-service registration",
    },
    Field {
        name: "window",
        api: "enrollmentWindowInMinutes",
        label: "Enrollment window",
    },
    Field {
        name: "required",
        api: "registrationRequired",
        label: "Registration required",
    },
    Field {
        name: "mfa",
        api: "tapCountsAsMfa",
        label: "TAP counts as multi-factor",
    },
    Field {
        name: "restrict",
        api: "keyRestrictions.isEnforced",
        label: "Enforce key restrictions",
    },
    Field {
        name: "restriction",
        api: "keyRestrictions.enforcementType",
        label: "List type",
    },
    Field {
        name: "aaguids",
        api: "keyRestrictions.aaGuids",
        label: "AAGUIDs",
    },
    Field {
        name: "attest",
        api: "attestationTrustAnchors",
        label: "Attestation",
    },
    TARGETS[0],
    TARGETS[1],
    TARGETS[2],
    TARGETS[3],
    TARGETS[4],
    TARGETS[5],
    TARGETS[6],
];

/// The target picker's inputs (`targets.rs` names them in its errors).
const TARGETS: [Field; 7] = [
    Field {
        name: "include_all",
        api: "include_all",
        label: "Applies to",
    },
    Field {
        name: "include",
        api: "includeTargets",
        label: "Included users and groups",
    },
    Field {
        name: "exclude",
        api: "excludeTargets",
        label: "Excluded users and groups",
    },
    Field {
        name: "include_group",
        api: "include_group",
        label: "Included groups",
    },
    Field {
        name: "exclude_group",
        api: "exclude_group",
        label: "Excluded groups",
    },
    Field {
        name: "include_group_names",
        api: "include_group_names",
        label: "Included groups",
    },
    Field {
        name: "exclude_group_names",
        api: "exclude_group_names",
        label: "Excluded groups",
    },
];

fn tap_form(p: &Policy) -> FormState {
    let t = &p.tap;
    FormState::default()
        .ticked("enabled", t.state == MethodState::Enabled)
        .with("min", t.minimum_lifetime_minutes.to_string())
        .with("default", t.default_lifetime_minutes.to_string())
        .with("max", t.maximum_lifetime_minutes.to_string())
        .with("length", t.default_length.to_string())
        .ticked("once", t.is_usable_once)
}

fn passkey_form(p: &Policy) -> FormState {
    let k = &p.passkey;
    let restriction = match k.key_restrictions.enforcement_type {
        EnforcementType::Block => "block",
        EnforcementType::Allow => "allow",
    };
    FormState::default()
        .ticked("enabled", k.state == MethodState::Enabled)
        .ticked("self_service", k.is_self_service_registration_allowed)
        .with("window", k.enrollment_window_minutes.to_string())
        .ticked("required", k.registration_required)
        .ticked("mfa", k.tap_counts_as_mfa)
        .ticked("restrict", k.key_restrictions.is_enforced)
        .with("restriction", restriction)
        .with("aaguids", k.key_restrictions.aaguids.join("\n"))
        .ticked("attest", k.attestation.is_enforced)
}

fn anchors(p: &Policy) -> Vec<String> {
    p.passkey
        .attestation
        .trust_anchors
        .iter()
        .map(|t| format!("{} ({})", t.description, t.aaguids.join(", ")))
        .collect()
}

/// The method a policy form is about.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    Tap,
    Passkey,
}

/// A policy form the service refused: its method, the form with the
/// error, and what was posted (for the target picker).
struct Refused<'a> {
    method: Method,
    form: FormState,
    posted: &'a FormPairs,
}

/// The policy page: both forms as stored, or the refused one as entered.
async fn policy_page(
    state: &AppState,
    admin: &Admin,
    refused: Option<Refused<'_>>,
) -> Result<HttpResponse, PortalError> {
    let caller = &admin.caller;
    let p = state
        .admin
        .get_policy(caller)
        .await
        .back_to(admin, "/admin")?;
    let directory = Directory::read(state, caller)
        .await
        .back_to(admin, "/admin")?;
    let posted = |m: Method| refused.as_ref().filter(|r| r.method == m).map(|r| r.posted);
    let (tap, passkey) = (&p.tap, &p.passkey);
    let tap_picker = match posted(Method::Tap) {
        Some(f) => {
            Picker::entered(
                state,
                caller,
                &directory,
                "tap",
                f,
                &tap.include,
                &tap.exclude,
            )
            .await
        }
        None => Picker::of(state, caller, &directory, "tap", &tap.include, &tap.exclude).await,
    }
    .back_to(admin, "/admin")?;
    let (include, exclude) = (&passkey.include, &passkey.exclude);
    let passkey_picker = match posted(Method::Passkey) {
        Some(f) => Picker::entered(state, caller, &directory, "fido2", f, include, exclude).await,
        None => Picker::of(state, caller, &directory, "fido2", include, exclude).await,
    }
    .back_to(admin, "/admin")?;
    let (mut tap_state, mut passkey_state) = (tap_form(&p), passkey_form(&p));
    if let Some(r) = refused {
        match r.method {
            Method::Tap => tap_state = r.form,
            Method::Passkey => passkey_state = r.form,
        }
    }
    let status = tap_state.status().max(passkey_state.status());
    let page = PolicyPage {
        chrome: &admin.chrome,
        tap: TapForm {
            form: tap_state,
            targets: tap_picker,
        },
        passkey: PasskeyForm {
            form: passkey_state,
            targets: passkey_picker,
            anchors: anchors(&p),
        },
    };
    Ok(admin.page(status, &page))
}

async fn policy(
    query: web::Query<DoneQuery>,
    state: web::Data<AppState>,
    mut admin: Admin,
) -> Result<HttpResponse, PortalError> {
    admin.chrome.notice = match query.done.as_deref() {
        Some("tap") => Some("The Temporary Access Pass policy was saved."),
        Some("passkeys") => Some("The passkey settings were saved."),
        _ => None,
    };
    policy_page(&state, &admin, None).await
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

/// A method's targets in a policy.
type TargetsOf = fn(&Policy) -> (&IncludeTargets, &[PolicyTarget]);

/// The targets a policy form picks for one method, checked against the
/// directory and the method's targets now.
async fn chosen(
    state: &AppState,
    caller: &Caller,
    form: &FormPairs,
    targets_of: TargetsOf,
) -> Result<Chosen, DomainError> {
    let current = state.admin.get_policy(caller).await?;
    let (include, exclude) = targets_of(&current);
    Chosen::parse(state, caller, form, include, exclude).await
}

/// Saves a policy form's change of `method` (the API's name `what`), then
/// on to `done`; a refusal comes back as the form as entered, the error
/// beside its field.
async fn save(
    state: &AppState,
    Posted { admin, form }: Posted,
    (method, what): (Method, &'static str),
    change: Result<impl Fn(&mut Policy) -> Result<(), DomainError>, DomainError>,
    done: &str,
) -> Result<HttpResponse, PortalError> {
    let saved = match change {
        Ok(change) => state.admin.update_policy(&admin.caller, what, change).await,
        Err(e) => Err(e),
    };
    let Err(e) = saved else {
        return Ok(see_other(done));
    };
    let fields = match method {
        Method::Tap => TAP_FIELDS,
        Method::Passkey => PASSKEY_FIELDS,
    };
    let entered = FormState::entered(&form, fields)
        .failed(e, fields, None)
        .back_to(&admin, POLICY)?;
    let refused = Refused {
        method,
        form: entered,
        posted: &form,
    };
    policy_page(state, &admin, Some(refused)).await
}

/// The change the Temporary Access Pass form asks for.
fn tap_change(
    form: &FormPairs,
    targets: Chosen,
) -> Result<impl Fn(&mut Policy) -> Result<(), DomainError> + use<>, DomainError> {
    let (min, default) = (number(form, "min")?, number(form, "default")?);
    let (max, length) = (number(form, "max")?, number(form, "length")?);
    let (enabled, once) = (form.checked("enabled"), form.checked("once"));
    Ok(move |p: &mut Policy| {
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
}

async fn tap_policy(
    state: web::Data<AppState>,
    posted: Posted,
) -> Result<HttpResponse, PortalError> {
    let targets_of: TargetsOf = |p| (&p.tap.include, p.tap.exclude.as_slice());
    let change = chosen(&state, &posted.admin.caller, &posted.form, targets_of)
        .await
        .and_then(|targets| tap_change(&posted.form, targets));
    let done = "/admin/policy?done=tap";
    let method = (Method::Tap, "temporaryAccessPass");
    save(&state, posted, method, change, done).await
}

/// The key restrictions the passkey form asks for.
fn restrictions(form: &FormPairs) -> Result<KeyRestrictions, DomainError> {
    let mut aaguids = Vec::new();
    for line in form.lines("aaguids") {
        match attestation::normalise(&line) {
            Some(a) if !aaguids.contains(&a) => aaguids.push(a),
            Some(_) => {}
            None => {
                return Err(DomainError::invalid(
                    "aaguids",
                    format!("must be UUIDs, one per line; `{line}` is not one"),
                ));
            }
        }
    }
    Ok(KeyRestrictions {
        is_enforced: form.checked("restrict"),
        enforcement_type: if form.one("restriction") == Some("block") {
            EnforcementType::Block
        } else {
            EnforcementType::Allow
        },
        aaguids,
    })
}

/// The change the passkey form asks for.
fn passkey_change(
    form: &FormPairs,
    targets: Chosen,
) -> Result<impl Fn(&mut Policy) -> Result<(), DomainError> + use<>, DomainError> {
    let window = number(form, "window")?;
    let restrictions = restrictions(form)?;
    let (enabled, self_service) = (form.checked("enabled"), form.checked("self_service"));
    let (required, mfa) = (form.checked("required"), form.checked("mfa"));
    let attest = form.checked("attest");
    Ok(move |p: &mut Policy| {
        let k = &mut p.passkey;
        k.state = state_of(enabled);
        k.is_self_service_registration_allowed = self_service;
        (k.include, k.exclude) = targets.clone().apply(&k.include, &k.exclude)?;
        k.enrollment_window_minutes = window;
        k.registration_required = required;
        k.tap_counts_as_mfa = mfa;
        k.key_restrictions = restrictions.clone();
        k.attestation.is_enforced = attest;
        Ok(())
    })
}

async fn passkey_policy(
    state: web::Data<AppState>,
    posted: Posted,
) -> Result<HttpResponse, PortalError> {
    let targets_of: TargetsOf = |p| (&p.passkey.include, p.passkey.exclude.as_slice());
    let change = chosen(&state, &posted.admin.caller, &posted.form, targets_of)
        .await
        .and_then(|targets| passkey_change(&posted.form, targets));
    let done = "/admin/policy?done=passkeys";
    let method = (Method::Passkey, "fido2");
    save(&state, posted, method, change, done).await
}

pub struct ClientRow {
    pub id: String,
    pub name: String,
    pub auth: &'static str,
    pub grants: String,
    pub redirects: String,
    pub permissions: String,
    pub configured: bool,
}

impl From<ClientView> for ClientRow {
    fn from(v: ClientView) -> Self {
        Self {
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
            permissions: v
                .client
                .permissions
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            id: v.client.id,
            configured: v.configured,
        }
    }
}

#[derive(Template)]
#[template(path = "admin/clients.html")]
struct ClientsPage<'a> {
    chrome: &'a Chrome,
    clients: Vec<ClientRow>,
    /// The registration form as it stands.
    form: FormState,
    grants: Vec<(&'static str, bool)>,
    /// The permissions this admin may grant: (name, what it allows, checked).
    permissions: Vec<(&'static str, &'static str, bool)>,
}

async fn clients(
    query: web::Query<DoneQuery>,
    state: web::Data<AppState>,
    mut admin: Admin,
) -> Result<HttpResponse, PortalError> {
    admin.chrome.notice = match query.done.as_deref() {
        Some("deleted") => Some("The client was deleted."),
        _ => None,
    };
    let form = FormState::default().with("auth", "client_secret_basic");
    clients_page(
        &state,
        &admin,
        form,
        &FormPairs::parse(b"grant=authorization_code"),
    )
    .await
}

/// The clients page, its registration form as `form` and `posted` say.
async fn clients_page(
    state: &AppState,
    admin: &Admin,
    form: FormState,
    posted: &FormPairs,
) -> Result<HttpResponse, PortalError> {
    let ticked = |name: &str, value: &str| posted.all(name).any(|v| v == value);
    let grants = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
    ]
    .into_iter()
    .map(|g| (g.as_str(), ticked("grant", g.as_str())))
    .collect();
    let permissions = Permission::ALL
        .into_iter()
        .filter(|p| *p != Permission::RoleManagementReadWriteDirectory && admin.can(*p))
        .map(|p| {
            (
                p.as_str(),
                p.description(),
                ticked("permission", p.as_str()),
            )
        })
        .collect();
    let status = form.status();
    let list = state
        .admin
        .list_clients(&admin.caller)
        .await
        .back_to(admin, "/admin")?;
    let page = ClientsPage {
        chrome: &admin.chrome,
        clients: list.into_iter().map(ClientRow::from).collect(),
        form,
        grants,
        permissions,
    };
    Ok(admin.page(status, &page))
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
        permissions: form
            .all("permission")
            .map(|p| {
                Permission::parse(p).ok_or_else(|| {
                    DomainError::invalid("permissions", format!("has no permission {p}"))
                })
            })
            .collect::<Result<_, _>>()?,
    })
}

/// The fields of the registration form.
const REGISTRATION: &[Field] = &[
    Field {
        name: "name",
        api: "displayName",
        label: "Name",
    },
    Field {
        name: "redirect_uris",
        api: "redirectUris",
        label: "Redirect URIs",
    },
    Field {
        name: "post_logout",
        api: "postLogoutRedirectUris",
        label: "Post-logout redirect URIs",
    },
    Field {
        name: "grant",
        api: "grantTypes",
        label: "Grant types",
    },
    Field {
        name: "auth",
        api: "tokenEndpointAuthMethod",
        label: "Token endpoint authentication",
    },
    Field {
        name: "permission",
        api: "permissions",
        label: "Permissions",
    },
];

const CLIENTS: &str = "/admin/clients";

async fn register(
    state: web::Data<AppState>,
    Posted { admin, form }: Posted,
) -> Result<HttpResponse, PortalError> {
    let registered = match parse_registration(&form) {
        Ok(new) => state.admin.register_client(&admin.caller, new).await,
        Err(e) => Err(e),
    };
    let r = match registered {
        Ok(r) => r,
        Err(e) => {
            let entered = FormState::entered(&form, REGISTRATION)
                .failed(e, REGISTRATION, None)
                .back_to(&admin, CLIENTS)?;
            return clients_page(&state, &admin, entered, &form).await;
        }
    };
    let page = Shown::Client(ClientShown {
        id: r.client.id.clone(),
        name: r.client.name.clone().unwrap_or_default(),
        secret: r.secret.clone(),
    });
    shown::show(&state, &admin, &page, CLIENTS).await
}

async fn confirm_delete(
    path: web::Path<String>,
    state: web::Data<AppState>,
    admin: Admin,
) -> Result<HttpResponse, PortalError> {
    let id = path.into_inner();
    let view = state
        .admin
        .get_client(&admin.caller, &id)
        .await
        .back_to(&admin, CLIENTS)?;
    let asked = Asked {
        title: "Delete this client?",
        detail: format!(
            "{}: the application can no longer sign people in or get tokens.",
            view.client.name.as_deref().unwrap_or(&view.client.id)
        ),
        warnings: Vec::new(),
        button: "Delete client",
    };
    let action = format!("/admin/clients/{id}/delete");
    Ok(admin.confirm(&asked, &action, &id, CLIENTS))
}

async fn delete(
    path: web::Path<String>,
    state: web::Data<AppState>,
    Posted { admin, form }: Posted,
) -> Result<HttpResponse, PortalError> {
    go_ahead(&form, CLIENTS)?;
    state
        .admin
        .delete_client(&admin.caller, &path)
        .await
        .back_to(&admin, CLIENTS)?;
    Ok(see_other("/admin/clients?done=deleted"))
}
