//! Load tool: full passkey sign-ins (authorize → passkey → code → token)
//! with a software authenticator, against a running Onramp. Each flow is
//! the one of a browser whose user picks the passkey from the user name
//! field's autofill: it answers the ceremony the sign-in page came with
//! (the button would ask `/signin/passkey/options` for a fresh one).
//!
//! The server needs the clients of config/demo.toml. Usage:
//!   cargo run --release --example signin_load -- [users=50] [concurrency=8] [seconds=10]
//! Environment: ONRAMP_ISSUER (default http://localhost:8080).
//! Prints flows/s and the latency of one whole flow at p50/p99.
//!
//! The tool is kept light so that the server, not the tool, is what runs
//! out of CPU: its authenticator signs with aws-lc (webauthn-authenticator-rs's
//! software passkey signs with RustCrypto, which was a quarter of the tool's
//! CPU), it runs on one thread (it is pinned to one CPU) on mimalloc, and
//! `localhost` is resolved once, not per connection.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::Digest;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const HR: (&str, &str) = ("hr-sync", "hr-sync-dev-secret-change-me");
const RP: (&str, &str) = ("demo-rp", "demo-rp-dev-secret-change-me");
const REDIRECT: &str = "http://localhost:3000/callback";

/// The server under test: its base URL and the address its host name
/// resolves to (looked up once, as a browser caches it).
#[derive(Clone)]
struct Target {
    base: String,
    host: String,
    addr: SocketAddr,
}

impl Target {
    fn new(base: String) -> anyhow::Result<Self> {
        let url = url::Url::parse(&base)?;
        let host = url
            .host_str()
            .ok_or_else(|| anyhow::anyhow!("no host in {base}"))?
            .to_owned();
        let port = url
            .port_or_known_default()
            .ok_or_else(|| anyhow::anyhow!("no port for {base}"))?;
        let addr = (host.as_str(), port)
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| anyhow::anyhow!("{host} does not resolve"))?;
        Ok(Self { base, host, addr })
    }

    /// A new browser: its own cookie jar and connections.
    fn browser(&self) -> anyhow::Result<reqwest::Client> {
        Ok(reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .resolve(&self.host, self.addr)
            .build()?)
    }
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

/// The sign-in page as the tool reads it.
struct SignInPage {
    /// The authorization request's id.
    r: String,
    csrf: String,
    /// The PKCE verifier of the authorization request.
    verifier: String,
    /// The passkey ceremony the page came with (for the browser's autofill
    /// request): `{"options": …, "ceremony": …}`, as the options endpoint
    /// answers.
    started: Value,
}

/// Opens the authorize URL and reads the sign-in page it answers with
/// (or leads to: servers before that redirected to it).
async fn open_signin(http: &reqwest::Client, base: &str) -> anyhow::Result<SignInPage> {
    let verifier = format!("{:0>64}", rand_hex());
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    let url = format!(
        "{base}/authorize?response_type=code&client_id={}&redirect_uri={REDIRECT}&scope=openid&state=s&nonce=n&code_challenge={challenge}&code_challenge_method=S256",
        RP.0
    );
    let mut res = http.get(url).send().await?;
    if res.status().is_redirection() {
        res = http
            .get(format!("{base}{}", location(&res)?))
            .send()
            .await?;
    }
    anyhow::ensure!(res.status().is_success(), "sign-in page: {}", res.status());
    let page = res.text().await?;
    let r = between(&page, "name=\"r\" value=\"", "\"")?.to_owned();
    let csrf = between(&page, "name=\"csrf-token\" content=\"", "\"")?.to_owned();
    let options: Value = serde_json::from_str(&unescape(between(&page, "data-options=\"", "\"")?))?;
    let ceremony = between(&page, "data-ceremony=\"", "\"")?;
    Ok(SignInPage {
        r,
        csrf,
        verifier,
        started: json!({"options": options, "ceremony": ceremony}),
    })
}

/// Undoes the HTML escaping of an attribute value (askama's: `&<>"'`).
fn unescape(attr: &str) -> String {
    attr.replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
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

/// A user's discoverable passkey: an authenticator of the tool's own, with
/// an aws-lc P-256 key, that answers `navigator.credentials.create()` with
/// "none" attestation and `navigator.credentials.get()` with a signed
/// assertion, user present and verified.
struct Passkey {
    key: EcdsaKeyPair,
    credential_id: Vec<u8>,
    /// base64url, as on the wire.
    user_handle: String,
    counter: u32,
}

impl Passkey {
    fn new() -> anyhow::Result<Self> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            .map_err(|_| anyhow::anyhow!("P-256 key generation failed"))?;
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref())
            .map_err(|_| anyhow::anyhow!("P-256 key unreadable"))?;
        let mut credential_id = vec![0u8; 32];
        aws_lc_rs::rand::fill(&mut credential_id).map_err(|_| anyhow::anyhow!("no randomness"))?;
        Ok(Self {
            key,
            credential_id,
            user_handle: String::new(),
            counter: 0,
        })
    }

    /// navigator.credentials.create(): the registration response.
    fn register(&mut self, origin: &str, options: &Value) -> anyhow::Result<Value> {
        let pk = &options["publicKey"];
        let rp_id = text(&pk["rp"]["id"], "rp.id")?;
        self.user_handle = text(&pk["user"]["id"], "user.id")?.to_owned();
        let point = self.key.public_key().as_ref();
        anyhow::ensure!(
            point.len() == 65 && point[0] == 4,
            "not an uncompressed point"
        );
        // The COSE key: kty EC2, alg ES256, crv P-256, x, y.
        let mut cose = Vec::with_capacity(77);
        cbor::head(&mut cose, cbor::MAP, 5);
        cose.extend_from_slice(&[0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21]);
        cbor::bytes(&mut cose, &point[1..33]);
        cose.push(0x22);
        cbor::bytes(&mut cose, &point[33..]);
        // rpIdHash, flags UP UV AT, counter, AAGUID (none), id, key.
        let mut data = sha2::Sha256::digest(rp_id.as_bytes()).to_vec();
        data.push(0x45);
        data.extend_from_slice(&self.counter.to_be_bytes());
        data.extend_from_slice(&[0; 16]);
        let id_len = u16::try_from(self.credential_id.len())?;
        data.extend_from_slice(&id_len.to_be_bytes());
        data.extend_from_slice(&self.credential_id);
        data.extend_from_slice(&cose);
        let mut attestation = Vec::with_capacity(data.len() + 32);
        cbor::head(&mut attestation, cbor::MAP, 3);
        cbor::text(&mut attestation, "fmt");
        cbor::text(&mut attestation, "none");
        cbor::text(&mut attestation, "attStmt");
        cbor::head(&mut attestation, cbor::MAP, 0);
        cbor::text(&mut attestation, "authData");
        cbor::bytes(&mut attestation, &data);
        let client_data = client_data("webauthn.create", &pk["challenge"], origin)?;
        Ok(self.credential(json!({
            "attestationObject": URL_SAFE_NO_PAD.encode(&attestation),
            "clientDataJSON": URL_SAFE_NO_PAD.encode(&client_data),
            "transports": ["internal"],
        })))
    }

    /// navigator.credentials.get() for options without allowCredentials:
    /// the resident credential answers, with its user handle.
    fn assert(&mut self, origin: &str, options: &Value) -> anyhow::Result<Value> {
        let pk = &options["publicKey"];
        let rp_id = text(&pk["rpId"], "rpId")?;
        self.counter += 1;
        let mut data = sha2::Sha256::digest(rp_id.as_bytes()).to_vec();
        data.push(0x05);
        data.extend_from_slice(&self.counter.to_be_bytes());
        let client_data = client_data("webauthn.get", &pk["challenge"], origin)?;
        let mut signed = data.clone();
        signed.extend_from_slice(&sha2::Sha256::digest(&client_data));
        let signature = self
            .key
            .sign(&SystemRandom::new(), &signed)
            .map_err(|_| anyhow::anyhow!("signing failed"))?;
        Ok(self.credential(json!({
            "authenticatorData": URL_SAFE_NO_PAD.encode(&data),
            "clientDataJSON": URL_SAFE_NO_PAD.encode(&client_data),
            "signature": URL_SAFE_NO_PAD.encode(signature.as_ref()),
            "userHandle": self.user_handle,
        })))
    }

    /// The `PublicKeyCredential` a browser posts, around an authenticator `response`.
    fn credential(&self, response: Value) -> Value {
        let id = URL_SAFE_NO_PAD.encode(&self.credential_id);
        json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": response,
            "extensions": {},
        })
    }
}

fn text<'a>(v: &'a Value, what: &str) -> anyhow::Result<&'a str> {
    v.as_str()
        .ok_or_else(|| anyhow::anyhow!("the options have no {what}"))
}

/// The client data a browser at `origin` collects for the ceremony.
fn client_data(kind: &str, challenge: &Value, origin: &str) -> anyhow::Result<Vec<u8>> {
    let challenge = text(challenge, "challenge")?;
    Ok(serde_json::to_vec(&json!({
        "type": kind,
        "challenge": challenge,
        "origin": origin,
        "crossOrigin": false,
    }))?)
}

/// The few CBOR items (RFC 8949) an attestation object needs.
mod cbor {
    pub const MAP: u8 = 5;
    const BYTES: u8 = 2;
    const TEXT: u8 = 3;

    /// An item's head: its major type and length (lengths below 2^16 here).
    pub fn head(out: &mut Vec<u8>, major: u8, len: usize) {
        let m = major << 5;
        match len {
            0..=23 => out.push(m | len as u8),
            24..=0xff => out.extend_from_slice(&[m | 24, len as u8]),
            _ => {
                out.push(m | 25);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
        }
    }

    pub fn bytes(out: &mut Vec<u8>, b: &[u8]) {
        head(out, BYTES, b.len());
        out.extend_from_slice(b);
    }

    pub fn text(out: &mut Vec<u8>, t: &str) {
        head(out, TEXT, t.len());
        out.extend_from_slice(t.as_bytes());
    }
}

/// Provisions a user with a pass and enrolls a passkey (not measured).
async fn setup_user(target: &Target, token: &str, i: usize) -> anyhow::Result<(String, Passkey)> {
    let base = target.base.as_str();
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
    let http = target.browser()?;
    let SignInPage { r, csrf, .. } = open_signin(&http, base).await?;
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
    let mut passkey = Passkey::new()?;
    let credential = passkey.register(base, &started["options"])?;
    post_json(
        &http,
        format!("{base}/enroll/finish"),
        &csrf,
        json!({"r": r, "ceremony": started["ceremony"], "credential": credential}),
    )
    .await?;
    Ok((upn, passkey))
}

/// One measured flow: authorize → passkey (usernameless, the autofill
/// request with the ceremony the sign-in page came with) → code → token.
async fn flow(target: &Target, passkey: &mut Passkey) -> anyhow::Result<()> {
    let base = target.base.as_str();
    let http = target.browser()?;
    let SignInPage {
        r,
        csrf,
        verifier,
        started,
    } = open_signin(&http, base).await?;
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

// One thread: the tool is pinned to one CPU.
#[tokio::main(flavor = "current_thread")]
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
    let target = Target::new(base.clone())?;
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
        people.push(setup_user(&target, &token, i).await?);
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
        let target = target.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            let mut i = 0;
            while Instant::now() < deadline {
                let n = mine.len();
                let (_, passkey) = &mut mine[i % n];
                let t = Instant::now();
                match flow(&target, passkey).await {
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
