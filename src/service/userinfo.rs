//! `/userinfo` (OIDC Core §5.3): claims by scope and by name (§5.5).

use serde_json::{Map, Value};
use std::sync::Arc;

use super::Context;
use super::token::{BearerError, TokenService};
use crate::domain::claims;

fn signed_in_at(unix: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

pub struct UserInfoService {
    ctx: Arc<Context>,
    tokens: TokenService,
}

impl UserInfoService {
    pub fn new(ctx: Arc<Context>) -> Self {
        Self {
            tokens: TokenService::new(ctx.clone()),
            ctx,
        }
    }

    pub async fn claims(&self, access_token: &str) -> Result<Value, BearerError> {
        let token = self.tokens.verify_user_token(access_token).await?;
        let scopes: Vec<&str> = token.scope.split(' ').collect();
        if !scopes.contains(&"openid") {
            return Err(BearerError::Invalid);
        }
        let user = match self.ctx.store.get_user(&token.sub).await {
            Ok(Some(u)) if u.sign_in_valid(signed_in_at(token.auth_time)) => u,
            Ok(_) => return Err(BearerError::Invalid),
            Err(e) => return Err(BearerError::Unavailable(e.to_string())),
        };
        let mut out = Map::new();
        out.insert("sub".into(), Value::String(user.id.clone()));
        let mut names: Vec<&str> = scopes
            .iter()
            .flat_map(|s| claims::for_scope(s))
            .copied()
            .collect();
        names.extend(token.claims.iter().map(String::as_str));
        names.sort_unstable();
        names.dedup();
        claims::add(&mut out, &user, &names);
        Ok(Value::Object(out))
    }
}
