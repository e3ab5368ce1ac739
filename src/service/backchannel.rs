//! OpenID Connect Back-Channel Logout 1.0: a signed logout token POSTed to
//! each client of the ended session, from a background task with retries
//! and a time bound, never holding up the person's own request.

use serde::Serialize;
use serde_json::{Map, Value, json};
use std::time::Duration;

use super::Context;
use crate::crypto::keys::JwtType;
use crate::crypto::{jwt, random};
use crate::domain::authz::Session;

const ATTEMPTS: u32 = 3;
const TIMEOUT: Duration = Duration::from_secs(5);
/// Logout tokens are short-lived (§2.4).
const LIFETIME_SECONDS: i64 = 120;

#[derive(Serialize)]
struct LogoutClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
    jti: String,
    sub: &'a str,
    sid: &'a str,
    events: Map<String, Value>,
}

/// The HTTP client for deliveries: no redirects, bounded time.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .build()
        .unwrap_or_default()
}

/// Notifies every client of `session` that registered a back-channel
/// logout URI. Returns at once; delivery happens in the background.
pub async fn notify(ctx: &Context, session: &Session) {
    let now = ctx.clock.now().unix_timestamp();
    for client_id in &session.clients {
        let Ok(Some(client)) = ctx.clients.find(client_id).await else {
            continue;
        };
        let Some(uri) = client.backchannel_logout_uri.clone() else {
            continue;
        };
        let mut events = Map::new();
        events.insert(
            "http://schemas.openid.net/event/backchannel-logout".into(),
            json!({}),
        );
        let Ok(jti) = random::token::<16>(&*ctx.rng) else {
            continue;
        };
        let claims = LogoutClaims {
            iss: &ctx.issuer,
            aud: &client.id,
            iat: now,
            exp: now + LIFETIME_SECONDS,
            jti,
            sub: &session.user_id,
            sid: &session.sid,
            events,
        };
        let ring = ctx.keys.ring();
        let Some(key) = ring.active(client.id_token_alg) else {
            continue;
        };
        let Ok(token) = jwt::sign(key, JwtType::LogoutToken, &claims) else {
            continue;
        };
        let http = ctx.http.clone();
        let client_id = client.id.clone();
        tokio::spawn(async move {
            for attempt in 1..=ATTEMPTS {
                let result = http
                    .post(&uri)
                    .form(&[("logout_token", token.as_str())])
                    .send()
                    .await;
                match result {
                    Ok(res) if res.status().is_success() => {
                        tracing::info!(client = %client_id, "back-channel logout delivered");
                        return;
                    }
                    Ok(res) => {
                        tracing::warn!(client = %client_id, status = res.status().as_u16(), attempt, "back-channel logout refused")
                    }
                    Err(e) => {
                        tracing::warn!(client = %client_id, error = %e, attempt, "back-channel logout failed")
                    }
                }
                tokio::time::sleep(Duration::from_secs(u64::from(attempt))).await;
            }
            tracing::warn!(client = %client_id, "back-channel logout given up");
        });
    }
}
