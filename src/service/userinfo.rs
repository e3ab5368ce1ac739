//! `/userinfo` (OIDC Core §5.3): claims by scope.

use serde_json::{Map, Value};
use std::sync::Arc;

use super::Context;
use super::token::{BearerError, TokenService};

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
        if scopes.contains(&"profile") {
            out.insert("name".into(), Value::String(user.display_name.clone()));
            out.insert(
                "preferred_username".into(),
                Value::String(user.upn.to_string()),
            );
            if let Some(g) = &user.given_name {
                out.insert("given_name".into(), Value::String(g.clone()));
            }
            if let Some(f) = &user.surname {
                out.insert("family_name".into(), Value::String(f.clone()));
            }
        }
        if scopes.contains(&"email")
            && let Some(mail) = &user.mail
        {
            out.insert("email".into(), Value::String(mail.clone()));
            // Mail comes from the directory (the HR system), not from the person.
            out.insert("email_verified".into(), Value::Bool(true));
        }
        Ok(Value::Object(out))
    }
}
