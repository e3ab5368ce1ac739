//! A minimal relying party using the `openidconnect` crate.
//!
//! Start Onramp with `cargo run --release -- --config config/demo.toml`, then
//! run `cargo run --example demo_rp` and open http://localhost:3000.
//! Environment: ONRAMP_ISSUER (default http://localhost:8080), DEMO_RP_PORT (3000).

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

type Pending = Arc<Mutex<HashMap<String, (Nonce, PkceCodeVerifier)>>>;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let issuer = std::env::var("ONRAMP_ISSUER").unwrap_or_else(|_| "http://localhost:8080".into());
    let port: u16 = std::env::var("DEMO_RP_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(issuer.clone())?, &http).await?;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new("demo-rp".into()),
        Some(ClientSecret::new("demo-rp-dev-secret-change-me".into())),
    )
    .set_redirect_uri(RedirectUrl::new(format!(
        "http://localhost:{port}/callback"
    ))?);
    let pending: Pending = Arc::default();
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("demo RP: open http://localhost:{port} (issuer {issuer})");

    loop {
        let (mut socket, _) = listener.accept().await?;
        let mut buf = vec![0u8; 8192];
        let n = socket.read(&mut buf).await?;
        let request = String::from_utf8_lossy(&buf[..n]);
        let target = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let url = url::Url::parse(&format!("http://localhost{target}"))?;
        let response = if url.path() == "/callback" {
            let q: HashMap<_, _> = url.query_pairs().into_owned().collect();
            match (
                q.get("code"),
                q.get("state").and_then(|s| pending.lock().ok()?.remove(s)),
            ) {
                (Some(code), Some((nonce, verifier))) => {
                    let tokens = client
                        .exchange_code(AuthorizationCode::new(code.clone()))?
                        .set_pkce_verifier(verifier)
                        .request_async(&http)
                        .await?;
                    let id_token = tokens
                        .id_token()
                        .ok_or_else(|| anyhow::anyhow!("no ID token"))?;
                    let claims = id_token.claims(&client.id_token_verifier(), &nonce)?;
                    let amr: Vec<String> = claims
                        .auth_method_refs()
                        .map(|v| v.iter().map(|a| a.to_string()).collect())
                        .unwrap_or_default();
                    let info: CoreUserInfoClaims = client
                        .user_info(tokens.access_token().clone(), None)?
                        .request_async(&http)
                        .await?;
                    let name = info
                        .preferred_username()
                        .map(|u| u.to_string())
                        .unwrap_or_default();
                    let body = format!(
                        "<h1>Signed in</h1><p>sub: {}</p><p>user: {name}</p><p>amr: {amr:?}</p><p><a href=\"/\">Sign in again</a></p>",
                        claims.subject().as_str()
                    );
                    println!("signed in: {name} amr={amr:?}");
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    )
                }
                _ => {
                    let body = format!(
                        "sign-in failed: {}",
                        q.get("error_description").cloned().unwrap_or_default()
                    );
                    format!(
                        "HTTP/1.1 400 Bad Request\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    )
                }
            }
        } else if url.path() != "/" {
            // Only the home page signs in: a browser's own request for
            // /favicon.ico would otherwise start a second sign-in.
            "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n".to_owned()
        } else {
            let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
            let (auth_url, state, nonce) = client
                .authorize_url(
                    CoreAuthenticationFlow::AuthorizationCode,
                    CsrfToken::new_random,
                    Nonce::new_random,
                )
                .add_scope(Scope::new("profile".into()))
                .add_scope(Scope::new("email".into()))
                .set_pkce_challenge(challenge)
                .url();
            if let Ok(mut p) = pending.lock() {
                p.insert(state.secret().clone(), (nonce, verifier));
            }
            format!("HTTP/1.1 302 Found\r\nlocation: {auth_url}\r\ncontent-length: 0\r\n\r\n")
        };
        socket.write_all(response.as_bytes()).await?;
    }
}
