//! Load tool: full passkey sign-ins (authorize → passkey → code → token)
//! with a software authenticator, against a running Onramp.
//!
//! The server needs the clients of config/demo.toml. Usage:
//!   cargo run --release --example signin_load -- [users=50] [concurrency=8] [seconds=10]
//! Environment: ONRAMP_ISSUER (default http://localhost:8080).
//! Prints flows/s and the latency of one whole flow at p50/p99.

use base64::Engine;
use serde_json::{Value, json};
use sha2::Digest;
use std::time::{Duration, Instant};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

const HR: (&str, &str) = ("hr-sync", "hr-sync-dev-secret-change-me");
const RP: (&str, &str) = ("demo-rp", "demo-rp-dev-secret-change-me");
const REDIRECT: &str = "http://localhost:3000/callback";

fn browser() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()?)
}

fn location(res: &reqwest::Response) -> anyhow::Result<String> {
    Ok(res
        .headers()
        .get("location")
        .ok_or_else(|| anyhow::anyhow!("no redirect ({})", res.status()))?
        .to_str()?
        .to_owned())
}

fn between<'a>(body: &'a str, start: &str, end: &str) -> anyhow::Result<&'a str> {
    let i = body
        .find(start)
        .ok_or_else(|| anyhow::anyhow!("{start} not on the page"))?
        + start.len();
    let j = body[i..]
        .find(end)
        .ok_or_else(|| anyhow::anyhow!("unterminated {start}"))?;
    Ok(&body[i..i + j])
}

/// Opens the authorize URL; returns (request id, csrf token) from the sign-in page.
async fn open_signin(
    http: &reqwest::Client,
    base: &str,
) -> anyhow::Result<(String, String, String)> {
    let verifier = format!("{:0>64}", rand_hex());
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let url = format!(
        "{base}/authorize?response_type=code&client_id={}&redirect_uri={REDIRECT}&scope=openid&state=s&nonce=n&code_challenge={challenge}&code_challenge_method=S256",
        RP.0
    );
    let res = http.get(url).send().await?;
    let page = http
        .get(format!("{base}{}", location(&res)?))
        .send()
        .await?
        .text()
        .await?;
    let r = between(&page, "name=\"r\" value=\"", "\"")?.to_owned();
    let csrf = between(&page, "name=\"csrf-token\" content=\"", "\"")?.to_owned();
    Ok((r, csrf, verifier))
}

fn rand_hex() -> String {
    let mut b = [0u8; 32];
    let _ = aws_lc_rs::rand::fill(&mut b);
    hex::encode(b)
}

async fn post_json(
    http: &reqwest::Client,
    url: String,
    csrf: &str,
    body: Value,
) -> anyhow::Result<Value> {
    let res = http
        .post(url)
        .header("x-csrf-token", csrf)
        .json(&body)
        .send()
        .await?;
    let status = res.status();
    let v: Value = res.json().await?;
    anyhow::ensure!(status.is_success(), "{status}: {v}");
    Ok(v)
}

/// A user's discoverable passkey. The software authenticator keeps keys by
/// credential id only, so this keeps what a resident credential also holds
/// (the user handle) and answers the usernameless ceremony Onramp runs.
struct Passkey {
    soft: SoftPasskey,
    /// base64url, as on the wire.
    user_handle: Value,
    credential_id: Value,
}

impl Passkey {
    /// navigator.credentials.get() for options without allowCredentials.
    fn assert(&mut self, base: &str, options: &Value) -> anyhow::Result<Value> {
        let mut options = options.clone();
        options["publicKey"]["allowCredentials"] =
            json!([{ "type": "public-key", "id": self.credential_id }]);
        let assertion = self
            .soft
            .do_authentication(url::Url::parse(base)?, serde_json::from_value(options)?)
            .map_err(|e| anyhow::anyhow!("assert: {e:?}"))?;
        let mut assertion = serde_json::to_value(assertion)?;
        assertion["response"]["userHandle"] = self.user_handle.clone();
        Ok(assertion)
    }
}

/// Provisions a user with a pass and enrolls a passkey (not measured).
async fn setup_user(base: &str, token: &str, i: usize) -> anyhow::Result<(String, Passkey)> {
    let api = reqwest::Client::new();
    let upn = format!("load{i}-{}@example.com", &rand_hex()[..8]);
    let user: Value = api
        .post(format!("{base}/api/v1/users"))
        .bearer_auth(token)
        .json(&json!({"userPrincipalName": upn, "displayName": "Load"}))
        .send()
        .await?
        .json()
        .await?;
    let id = user["id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("create user: {user}"))?;
    let tap: Value = api
        .post(format!(
            "{base}/api/v1/users/{id}/authentication/temporaryAccessPassMethods"
        ))
        .bearer_auth(token)
        .json(&json!({}))
        .send()
        .await?
        .json()
        .await?;
    let passcode = tap["temporaryAccessPass"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("create pass: {tap}"))?;
    let http = browser()?;
    let (r, csrf, _) = open_signin(&http, base).await?;
    http.post(format!("{base}/signin/tap"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("r", &r),
            ("username", &upn),
            ("passcode", passcode),
        ])
        .send()
        .await?;
    let started = post_json(
        &http,
        format!("{base}/enroll/options"),
        &csrf,
        json!({"r": r}),
    )
    .await?;
    let mut soft = SoftPasskey::new(true);
    let credential = soft
        .do_registration(
            url::Url::parse(base)?,
            serde_json::from_value(started["options"].clone())?,
        )
        .map_err(|e| anyhow::anyhow!("register: {e:?}"))?;
    let credential = serde_json::to_value(credential)?;
    let passkey = Passkey {
        soft,
        user_handle: started["options"]["publicKey"]["user"]["id"].clone(),
        credential_id: credential["rawId"].clone(),
    };
    post_json(
        &http,
        format!("{base}/enroll/finish"),
        &csrf,
        json!({"r": r, "ceremony": started["ceremony"], "credential": credential}),
    )
    .await?;
    Ok((upn, passkey))
}

/// One measured flow: authorize → passkey (usernameless) → code → token.
async fn flow(base: &str, passkey: &mut Passkey) -> anyhow::Result<()> {
    let http = browser()?;
    let (r, csrf, verifier) = open_signin(&http, base).await?;
    let started = post_json(
        &http,
        format!("{base}/signin/passkey/options"),
        &csrf,
        json!({"r": r}),
    )
    .await?;
    let credential = passkey.assert(base, &started["options"])?;
    let done = post_json(
        &http,
        format!("{base}/signin/passkey/finish"),
        &csrf,
        json!({"r": r, "ceremony": started["ceremony"], "credential": credential}),
    )
    .await?;
    // Straight to the application when the sign-in answered the request
    // at once; otherwise through Onramp's resume step.
    let next = done["redirect"].as_str().unwrap_or_default();
    let back = if next.starts_with('/') {
        let res = http.get(format!("{base}{next}")).send().await?;
        url::Url::parse(&location(&res)?)?
    } else {
        url::Url::parse(next)?
    };
    let code = back
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| anyhow::anyhow!("no code: {back}"))?;
    let tokens: Value = http
        .post(format!("{base}/token"))
        .basic_auth(RP.0, Some(RP.1))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ])
        .send()
        .await?
        .json()
        .await?;
    anyhow::ensure!(tokens["id_token"].is_string(), "token: {tokens}");
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (users, concurrency, seconds) = (
        args.first().copied().unwrap_or(50),
        args.get(1).copied().unwrap_or(8).max(1),
        args.get(2).copied().unwrap_or(10),
    );
    let base = std::env::var("ONRAMP_ISSUER").unwrap_or_else(|_| "http://localhost:8080".into());
    let token: Value = reqwest::Client::new()
        .post(format!("{base}/token"))
        .basic_auth(HR.0, Some(HR.1))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await?
        .json()
        .await?;
    let token = token["access_token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("admin token: {token}"))?
        .to_owned();
    let mut people = Vec::new();
    for i in 0..users {
        people.push(setup_user(&base, &token, i).await?);
    }
    eprintln!("enrolled {users} users; running {concurrency} concurrent flows for {seconds}s");
    // Each worker owns its own users: no authenticator is shared.
    let mut buckets: Vec<Vec<(String, Passkey)>> = (0..concurrency).map(|_| Vec::new()).collect();
    for (i, p) in people.into_iter().enumerate() {
        buckets[i % concurrency].push(p);
    }
    let deadline = Instant::now() + Duration::from_secs(seconds as u64);
    let mut tasks = Vec::new();
    for mut mine in buckets.into_iter().filter(|b| !b.is_empty()) {
        let base = base.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            let mut i = 0;
            while Instant::now() < deadline {
                let n = mine.len();
                let (_, passkey) = &mut mine[i % n];
                let t = Instant::now();
                match flow(&base, passkey).await {
                    Ok(()) => latencies.push(t.elapsed()),
                    Err(e) => {
                        errors += 1;
                        if errors < 3 {
                            eprintln!("flow failed: {e:#}");
                        }
                    }
                }
                i += 1;
            }
            (latencies, errors)
        }));
    }
    let (mut all, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (l, e) = t.await?;
        all.extend(l);
        errors += e;
    }
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "passkey sign-in flows: {} ok, {errors} failed, {:.1} flows/s, p50 {:.1} ms, p99 {:.1} ms",
        all.len(),
        all.len() as f64 / seconds as f64,
        pct(0.50).as_secs_f64() * 1000.0,
        pct(0.99).as_secs_f64() * 1000.0
    );
    Ok(())
}
