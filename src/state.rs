//! What every handler can reach.

use std::sync::Arc;

use crate::service::Context;
use crate::service::account::AccountService;
use crate::service::admin::AdminService;
use crate::service::authorize::AuthorizeService;
use crate::service::enrollment::EnrollmentService;
use crate::service::logout::LogoutService;
use crate::service::session::Sessions;
use crate::service::shown_once::ShownOnceService;
use crate::service::signin::SignInService;
use crate::service::token::TokenService;
use crate::service::userinfo::UserInfoService;
use crate::service::webhooks::Webhooks;

pub struct AppState {
    pub ctx: Arc<Context>,
    pub account: AccountService,
    pub admin: AdminService,
    pub tokens: TokenService,
    pub authorize: AuthorizeService,
    pub signin: SignInService,
    pub signin_sessions: Sessions,
    pub enrollment: EnrollmentService,
    pub logout: LogoutService,
    pub userinfo: UserInfoService,
    pub shown_once: ShownOnceService,
    pub webhooks: Webhooks,
    pub cookies: CookieNames,
    /// The discovery document, rendered once.
    pub discovery: Arc<str>,
}

impl AppState {
    pub fn new(ctx: Arc<Context>) -> Self {
        Self {
            account: AccountService::new(ctx.clone()),
            admin: AdminService::new(ctx.clone()),
            tokens: TokenService::new(ctx.clone()),
            authorize: AuthorizeService::new(ctx.clone()),
            signin: SignInService::new(ctx.clone()),
            signin_sessions: Sessions::new(ctx.clone()),
            enrollment: EnrollmentService::new(ctx.clone()),
            logout: LogoutService::new(ctx.clone()),
            userinfo: UserInfoService::new(ctx.clone()),
            shown_once: ShownOnceService::new(ctx.clone()),
            webhooks: Webhooks::new(ctx.clone()),
            cookies: CookieNames::for_issuer(&ctx.issuer),
            discovery: crate::service::discovery::document(&ctx.issuer).into(),
            ctx,
        }
    }
}

/// The session and CSRF cookies' names and flags, decided once from the
/// issuer: `__Host-` names and `Secure` when it is https (browsers refuse
/// both on plain http, e.g. in development). `web::cookies` builds and reads
/// the cookies themselves, so that this layer needs no HTTP types.
pub struct CookieNames {
    pub session: &'static str,
    pub csrf: &'static str,
    pub(crate) secure: bool,
}

impl CookieNames {
    pub fn for_issuer(issuer: &str) -> Self {
        if issuer.starts_with("https://") {
            Self {
                session: "__Host-onramp_session",
                csrf: "__Host-onramp_csrf",
                secure: true,
            }
        } else {
            Self {
                session: "onramp_session",
                csrf: "onramp_csrf",
                secure: false,
            }
        }
    }
}
