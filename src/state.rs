//! What every handler can reach.

use std::sync::Arc;

use crate::service::Context;
use crate::service::admin::AdminService;
use crate::service::token::TokenService;

pub struct AppState {
    pub ctx: Arc<Context>,
    pub admin: AdminService,
    pub tokens: TokenService,
    /// The discovery document, rendered once.
    pub discovery: Arc<str>,
}

impl AppState {
    pub fn new(ctx: Arc<Context>) -> Self {
        Self {
            admin: AdminService::new(ctx.clone()),
            tokens: TokenService::new(ctx.clone()),
            discovery: crate::service::discovery::document(&ctx.issuer).into(),
            ctx,
        }
    }
}
