//! Typed settings: built-in defaults < TOML file < `ONRAMP_*` environment.
//! Unknown keys and bad values are refused with the key named.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use crate::crypto::sha256;
use crate::domain::DomainError;
use crate::domain::client::{
    Client, ClientAuthMethod, ClientKeys, FieldNames, GrantType, PORTAL_CLIENT_ID, SigningAlg,
    is_loopback,
};
use crate::domain::permission::Permission;
use crate::domain::user::Upn;
use crate::store::redis::{RedisTarget, mask_cluster_password};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub server: ServerSettings,
    pub store: StoreSettings,
    pub bootstrap: BootstrapSettings,
    pub tokens: TokenSettings,
    pub keys: KeySettings,
    pub audit: AuditSettings,
    pub log: LogSettings,
    pub clients: Vec<ClientSettings>,
    /// Outgoing mail (onboarding passes to managers); none: no mail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp: Option<SmtpSettings>,
    pub onboarding: OnboardingSettings,
    pub webhooks: WebhookSettings,
}

/// Webhook delivery (README, "Webhooks").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookSettings {
    /// How often each instance looks for due deliveries.
    pub poll_ms: u64,
    /// Connect and total time of one attempt.
    pub timeout_seconds: u64,
    /// The first retry's delay; each further one doubles it.
    pub retry_base_seconds: u64,
    /// The longest delay between two attempts.
    pub retry_cap_seconds: u64,
    /// Attempts before a delivery is given up.
    pub max_attempts: u32,
    /// Deliveries one instance attempts at once.
    pub batch: usize,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            poll_ms: 1000,
            timeout_seconds: 5,
            retry_base_seconds: 5,
            retry_cap_seconds: 3600,
            max_attempts: 12,
            batch: 32,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    pub listen: String,
    pub issuer: String,
    /// Worker threads; 0 means one per core.
    pub workers: usize,
    /// Seconds to finish in-flight requests after SIGTERM.
    pub shutdown_timeout_seconds: u64,
    /// A client gets this long to send a request's headers, and again this
    /// long for its body and our answer; slower requests get 408.
    pub request_timeout_seconds: u64,
    /// Proxies (addresses or CIDR ranges) whose `X-Forwarded-For` is
    /// believed. Empty: the TCP peer is the client.
    pub trusted_proxies: Vec<IpRange>,
    /// Pass checks (argon2, 19 MiB each) that run at once; 0 = one per core.
    pub pass_checks: usize,
    /// Pass checks that may wait for a free one; a sign-in beyond that gets
    /// "busy, try again" (503) at once. 0 = four per running check.
    pub pass_check_queue: usize,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            issuer: "http://localhost:8080".into(),
            workers: 0,
            shutdown_timeout_seconds: 10,
            request_timeout_seconds: 30,
            trusted_proxies: Vec::new(),
            pass_checks: 0,
            pass_check_queue: 0,
        }
    }
}

/// An IP address or a CIDR range (`10.0.0.0/8`, `fd00::/8`, `192.0.2.7`),
/// held as an [`ipnet::IpNet`] with its host bits cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IpRange(ipnet::IpNet);

impl IpRange {
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("`{text}` is not an IP address or CIDR range");
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (text.trim(), None),
        };
        let written = addr.parse::<IpAddr>().map_err(|_| bad())?;
        let max = if written.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        // An IPv4-mapped range (`::ffff:10.0.0.0/104`) is the IPv4 range it
        // covers, its prefix counted in IPv6 bits; one wider than the mapped
        // block (/96) would take in IPv6 addresses as well: refused.
        let network = written.to_canonical();
        let prefix = match (written, network) {
            (IpAddr::V6(_), IpAddr::V4(_)) => prefix.checked_sub(96).ok_or_else(bad)?,
            _ => prefix,
        };
        let net = ipnet::IpNet::new(network, prefix).map_err(|_| bad())?;
        Ok(Self(net.trunc()))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&ip.to_canonical())
    }
}

impl TryFrom<String> for IpRange {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        Self::parse(&value)
    }
}

impl From<IpRange> for String {
    /// A single address without its prefix, a range in CIDR notation.
    fn from(r: IpRange) -> Self {
        if r.0.prefix_len() == r.0.max_prefix_len() {
            r.0.addr().to_string()
        } else {
            r.0.to_string()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSettings {
    /// `embedded:PATH`, `redis://...` or `rediss://...`.
    pub url: String,
    /// Prefix of every Redis key.
    pub prefix: String,
    /// Redis connect timeout and per-command response timeout.
    pub timeout_ms: u64,
}

impl Default for StoreSettings {
    fn default() -> Self {
        Self {
            url: "embedded:data/onramp.redb".into(),
            prefix: "onramp".into(),
            timeout_ms: 2000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BootstrapSettings {
    pub admin_upn: String,
    /// Lifetime of the bootstrap pass (and of `onramp recover`).
    pub tap_lifetime_minutes: u32,
    /// Where the bootstrap (and `onramp recover`) pass is written, readable
    /// by its owner only, when the output is not a terminal.
    pub pass_file: PathBuf,
}

impl Default for BootstrapSettings {
    fn default() -> Self {
        Self {
            admin_upn: "admin@localhost".into(),
            tap_lifetime_minutes: 60,
            pass_file: PathBuf::from("data/bootstrap-pass.txt"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenSettings {
    pub access_token_lifetime_seconds: u32,
    /// Absolute lifetime of a refresh token family (passkey sign-ins;
    /// TAP sign-ins end with the TAP).
    pub refresh_token_lifetime_seconds: u32,
    /// A refresh token unused this long expires.
    pub refresh_token_idle_seconds: u32,
    /// Token endpoint requests per second per client and instance (burst:
    /// twice that); 0 turns the limit off.
    pub rate_limit_per_client: u32,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            access_token_lifetime_seconds: 3600,
            refresh_token_lifetime_seconds: 30 * 24 * 3600,
            refresh_token_idle_seconds: 7 * 24 * 3600,
            rate_limit_per_client: 500,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeySettings {
    /// After a rotation, new keys are published this long before they sign
    /// (longer than JWKS caching: 300 s).
    pub activation_delay_seconds: u32,
    /// How often each instance re-reads the key set from the store.
    pub refresh_seconds: u64,
}

impl Default for KeySettings {
    fn default() -> Self {
        Self {
            activation_delay_seconds: 360,
            refresh_seconds: 30,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditSettings {
    /// Audit events older than this many days are deleted; 0 keeps them
    /// for ever.
    pub retention_days: u32,
}

impl AuditSettings {
    pub const MAX_RETENTION_DAYS: u32 = 36_500;
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Upgrade with STARTTLS; refuse a server that does not offer it.
    #[default]
    Starttls,
    /// Plain text: only to a loopback host (a relay on this machine).
    None,
}

/// `[smtp]`: the server that carries the onboarding mail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    #[serde(default = "submission_port")]
    pub port: u16,
    /// The sender, `Onramp <onramp@example.com>` or a bare address.
    pub from: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub tls: SmtpTls,
    /// A PEM file of CA certificates to trust besides the public roots
    /// (a company CA, or a test's own).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Connect and per-command timeout.
    #[serde(default = "smtp_timeout")]
    pub timeout_seconds: u64,
}

fn submission_port() -> u16 {
    587
}

fn smtp_timeout() -> u64 {
    10
}

/// `[onboarding]`: the scheduler of passes for the hire date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OnboardingSettings {
    /// Seconds between the scheduler's runs; 0 turns it off on this
    /// instance (another may run it: each pass is issued once anyway).
    pub scheduler_seconds: u64,
    /// Users one run looks at, at most; the next run goes on from there.
    pub users_per_run: usize,
}

impl Default for OnboardingSettings {
    fn default() -> Self {
        Self {
            scheduler_seconds: 60,
            users_per_run: 10_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    pub format: LogFormat,
    /// A `tracing` filter, e.g. `info` or `onramp=debug,info`.
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

/// A `[[clients]]` table. Read through [`ClientFile`], which has the
/// file's keys: `jwks` and `jwks_uri` become one [`ClientKeys`] value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ClientFile", into = "ClientFile")]
pub struct ClientSettings {
    pub id: String,
    pub name: Option<String>,
    /// Plain secret, for development only.
    pub secret: Option<String>,
    /// Hex SHA-256 of the secret.
    pub secret_sha256: Option<String>,
    pub grant_types: Vec<GrantType>,
    /// Admin API permissions of the application itself (client credentials).
    pub permissions: Vec<Permission>,
    /// Admin API permissions it may ask for on behalf of a signed-in
    /// administrator (code flow), trimmed to that administrator's roles.
    pub delegated_permissions: Vec<Permission>,
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the browser back to.
    pub post_logout_redirect_uris: Vec<String>,
    /// Back-channel logout endpoint (OpenID Back-Channel Logout 1.0).
    pub backchannel_logout_uri: Option<String>,
    pub token_endpoint_auth_method: Option<ClientAuthMethod>,
    pub id_token_alg: Option<SigningAlg>,
    pub access_token_alg: Option<SigningAlg>,
    /// The client's public keys, for private_key_jwt: a JWK Set (JSON
    /// text, key `jwks`) or the URL serving it (key `jwks_uri`).
    pub jwks: Option<ClientKeys>,
    /// Audiences of Onramp's access tokens this client is a resource server
    /// of: it may introspect other clients' tokens for them (RFC 7662 §4).
    pub introspection_audiences: Vec<String>,
}

/// A `[[clients]]` table as written in the file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientFile {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    secret_sha256: Option<String>,
    #[serde(default)]
    grant_types: Vec<GrantType>,
    #[serde(default)]
    permissions: Vec<Permission>,
    #[serde(default)]
    delegated_permissions: Vec<Permission>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    backchannel_logout_uri: Option<String>,
    #[serde(default)]
    token_endpoint_auth_method: Option<ClientAuthMethod>,
    #[serde(default)]
    id_token_alg: Option<SigningAlg>,
    #[serde(default)]
    access_token_alg: Option<SigningAlg>,
    #[serde(default)]
    jwks: Option<String>,
    #[serde(default)]
    jwks_uri: Option<String>,
    #[serde(default)]
    introspection_audiences: Vec<String>,
}

impl TryFrom<ClientFile> for ClientSettings {
    type Error = String;
    fn try_from(f: ClientFile) -> Result<Self, String> {
        let jwks = match (f.jwks, f.jwks_uri) {
            (Some(_), Some(_)) => {
                return Err(format!(
                    "client `{}`: give jwks or jwks_uri, not both",
                    f.id
                ));
            }
            (Some(inline), None) => Some(ClientKeys::Inline(inline)),
            (None, Some(jwks_uri)) => Some(ClientKeys::Uri { jwks_uri }),
            (None, None) => None,
        };
        Ok(Self {
            id: f.id,
            name: f.name,
            secret: f.secret,
            secret_sha256: f.secret_sha256,
            grant_types: f.grant_types,
            permissions: f.permissions,
            delegated_permissions: f.delegated_permissions,
            redirect_uris: f.redirect_uris,
            post_logout_redirect_uris: f.post_logout_redirect_uris,
            backchannel_logout_uri: f.backchannel_logout_uri,
            token_endpoint_auth_method: f.token_endpoint_auth_method,
            id_token_alg: f.id_token_alg,
            access_token_alg: f.access_token_alg,
            jwks,
            introspection_audiences: f.introspection_audiences,
        })
    }
}

impl From<ClientSettings> for ClientFile {
    fn from(c: ClientSettings) -> Self {
        let (jwks, jwks_uri) = match c.jwks {
            Some(ClientKeys::Inline(inline)) => (Some(inline), None),
            Some(ClientKeys::Uri { jwks_uri }) => (None, Some(jwks_uri)),
            None => (None, None),
        };
        Self {
            id: c.id,
            name: c.name,
            secret: c.secret,
            secret_sha256: c.secret_sha256,
            grant_types: c.grant_types,
            permissions: c.permissions,
            delegated_permissions: c.delegated_permissions,
            redirect_uris: c.redirect_uris,
            post_logout_redirect_uris: c.post_logout_redirect_uris,
            backchannel_logout_uri: c.backchannel_logout_uri,
            token_endpoint_auth_method: c.token_endpoint_auth_method,
            id_token_alg: c.id_token_alg,
            access_token_alg: c.access_token_alg,
            jwks,
            jwks_uri,
            introspection_audiences: c.introspection_audiences,
        }
    }
}

/// The store URL, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    Embedded(PathBuf),
    Redis(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(String),
    #[error("configuration key `{key}`: {message}")]
    Invalid { key: String, message: String },
}

fn invalid(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        message: message.into(),
    }
}

impl SmtpSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.host.is_empty() || self.host.chars().any(|c| c.is_whitespace() || c == '/') {
            return Err(invalid("smtp.host", "must be a host name or address"));
        }
        if self.port == 0 {
            return Err(invalid("smtp.port", "must be 1 to 65535"));
        }
        self.from.parse::<lettre::message::Mailbox>().map_err(|e| {
            invalid(
                "smtp.from",
                format!("`{}` is not a mailbox: {e}", self.from),
            )
        })?;
        if self.username.is_some() != self.password.is_some() {
            return Err(invalid(
                "smtp.password",
                "username and password go together",
            ));
        }
        // Credentials and passes never cross a network in the clear.
        let loopback = self.host == "localhost"
            || self
                .host
                .trim_matches(|c| c == '[' || c == ']')
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if self.tls == SmtpTls::None && !loopback {
            return Err(invalid(
                "smtp.tls",
                format!(
                    "\"none\" only to a loopback host, not `{}`; use \"starttls\"",
                    self.host
                ),
            ));
        }
        if let Some(ca) = &self.ca_file
            && !ca.is_file()
        {
            return Err(invalid(
                "smtp.ca_file",
                format!("{} is not a file", ca.display()),
            ));
        }
        if !(1..=300).contains(&self.timeout_seconds) {
            return Err(invalid("smtp.timeout_seconds", "must be between 1 and 300"));
        }
        Ok(())
    }
}

impl Settings {
    /// Loads defaults, then `file` (which must exist if given), then the
    /// `ONRAMP_` environment (`__` separates levels), and validates.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError::Load(format!(
                    "config file {} does not exist",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        // ONRAMP_CONFIG names the file itself and is read by the CLI.
        figment = figment.merge(Env::prefixed("ONRAMP_").split("__").ignore(&["config"]));
        let settings: Settings = figment.extract().map_err(|e| {
            let mut msgs = e.into_iter().map(|e| e.to_string()).collect::<Vec<_>>();
            msgs.dedup();
            ConfigError::Load(msgs.join("; "))
        })?;
        settings.validate()?;
        Ok(settings)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.server.listen.parse::<SocketAddr>().map_err(|_| {
            invalid(
                "server.listen",
                format!("`{}` is not an address:port", self.server.listen),
            )
        })?;
        let issuer = url::Url::parse(&self.server.issuer)
            .map_err(|e| invalid("server.issuer", format!("not a URL: {e}")))?;
        if !matches!(issuer.scheme(), "http" | "https")
            || issuer.query().is_some()
            || issuer.fragment().is_some()
            || issuer.host_str().is_none()
        {
            return Err(invalid(
                "server.issuer",
                "must be an http(s) URL without query or fragment",
            ));
        }
        // Tokens and cookies must not travel in the clear: plain http only
        // for development on this machine.
        if issuer.scheme() == "http" && !is_loopback(&issuer) {
            return Err(invalid(
                "server.issuer",
                format!(
                    "`{}` must be https (http only on localhost, 127.0.0.1 or [::1])",
                    self.server.issuer
                ),
            ));
        }
        if !(1..=600).contains(&self.server.request_timeout_seconds) {
            return Err(invalid(
                "server.request_timeout_seconds",
                "must be between 1 and 600",
            ));
        }
        if self.server.pass_checks > 256 {
            return Err(invalid("server.pass_checks", "must be at most 256"));
        }
        if self.server.pass_check_queue > 4096 {
            return Err(invalid("server.pass_check_queue", "must be at most 4096"));
        }
        self.store_url()?;
        if self.store.prefix.is_empty()
            || !self
                .store
                .prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(invalid(
                "store.prefix",
                "must be non-empty letters, digits, - _ or .",
            ));
        }
        if self.store.timeout_ms == 0 {
            return Err(invalid("store.timeout_ms", "must be positive"));
        }
        Upn::parse(&self.bootstrap.admin_upn)
            .map_err(|e| invalid("bootstrap.admin_upn", e.to_string()))?;
        if !(10..=43_200).contains(&self.bootstrap.tap_lifetime_minutes) {
            return Err(invalid(
                "bootstrap.tap_lifetime_minutes",
                "must be between 10 and 43200",
            ));
        }
        if self.bootstrap.pass_file.as_os_str().is_empty()
            || self.bootstrap.pass_file.file_name().is_none()
        {
            return Err(invalid("bootstrap.pass_file", "must name a file"));
        }
        if !(60..=86_400).contains(&self.tokens.access_token_lifetime_seconds) {
            return Err(invalid(
                "tokens.access_token_lifetime_seconds",
                "must be between 60 and 86400",
            ));
        }
        if !(300..=365 * 24 * 3600).contains(&self.tokens.refresh_token_lifetime_seconds) {
            return Err(invalid(
                "tokens.refresh_token_lifetime_seconds",
                "must be between 300 and 31536000",
            ));
        }
        if !(60..=self.tokens.refresh_token_lifetime_seconds)
            .contains(&self.tokens.refresh_token_idle_seconds)
        {
            return Err(invalid(
                "tokens.refresh_token_idle_seconds",
                "must be between 60 and refresh_token_lifetime_seconds",
            ));
        }
        if self.audit.retention_days > AuditSettings::MAX_RETENTION_DAYS {
            return Err(invalid(
                "audit.retention_days",
                format!(
                    "must be 0 (keep for ever) to {} days",
                    AuditSettings::MAX_RETENTION_DAYS
                ),
            ));
        }
        let w = &self.webhooks;
        if !(10..=60_000).contains(&w.poll_ms) {
            return Err(invalid("webhooks.poll_ms", "must be between 10 and 60000"));
        }
        if !(1..=30).contains(&w.timeout_seconds) {
            return Err(invalid(
                "webhooks.timeout_seconds",
                "must be between 1 and 30",
            ));
        }
        if !(1..=86_400).contains(&w.retry_base_seconds)
            || w.retry_cap_seconds < w.retry_base_seconds
        {
            return Err(invalid(
                "webhooks.retry_base_seconds",
                "must be between 1 and 86400 and at most webhooks.retry_cap_seconds",
            ));
        }
        if w.retry_cap_seconds > 7 * 86_400 {
            return Err(invalid(
                "webhooks.retry_cap_seconds",
                "must be at most 604800 (a week)",
            ));
        }
        if !(1..=50).contains(&w.max_attempts) {
            return Err(invalid("webhooks.max_attempts", "must be between 1 and 50"));
        }
        if !(1..=256).contains(&w.batch) {
            return Err(invalid("webhooks.batch", "must be between 1 and 256"));
        }
        if !(1..=3600).contains(&self.keys.refresh_seconds) {
            return Err(invalid(
                "keys.refresh_seconds",
                "must be between 1 and 3600",
            ));
        }
        if u64::from(self.keys.activation_delay_seconds) <= self.keys.refresh_seconds {
            return Err(invalid(
                "keys.activation_delay_seconds",
                "must be longer than keys.refresh_seconds, so every instance knows a new key before it signs",
            ));
        }
        tracing_subscriber::EnvFilter::try_new(&self.log.level)
            .map_err(|e| invalid("log.level", e.to_string()))?;
        if let Some(smtp) = &self.smtp {
            smtp.validate()?;
        }
        if self.onboarding.scheduler_seconds > 86_400 {
            return Err(invalid(
                "onboarding.scheduler_seconds",
                "must be 0 (off) to 86400",
            ));
        }
        if !(1..=1_000_000).contains(&self.onboarding.users_per_run) {
            return Err(invalid(
                "onboarding.users_per_run",
                "must be between 1 and 1000000",
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, c) in self.clients.iter().enumerate() {
            if !seen.insert(c.id.as_str()) {
                return Err(invalid(
                    format!("clients[{i}].id"),
                    format!("`{}` is listed twice", c.id),
                ));
            }
            self.validate_client(i, c)?;
        }
        Ok(())
    }

    /// A `[[clients]]` table: the file's own keys (id, the secret's forms,
    /// audiences of this issuer), then the rules every client follows.
    fn validate_client(&self, i: usize, c: &ClientSettings) -> Result<(), ConfigError> {
        let key = |k: &str| format!("clients[{i}].{k}");
        if c.id.is_empty()
            || c.id.len() > 128
            || c.id.chars().any(|ch| ch.is_control() || ch == ' ')
        {
            return Err(invalid(
                key("id"),
                "must be 1 to 128 printable characters without spaces",
            ));
        }
        if c.id == PORTAL_CLIENT_ID {
            return Err(invalid(
                key("id"),
                format!("`{}` is reserved for the built-in admin portal", c.id),
            ));
        }
        if c.secret.is_some() && c.secret_sha256.is_some() {
            return Err(invalid(
                key("secret"),
                "give either secret or secret_sha256, not both",
            ));
        }
        if let Some(hash) = &c.secret_sha256 {
            let mut out = [0u8; 32];
            hex::decode_to_slice(hash, &mut out)
                .map_err(|_| invalid(key("secret_sha256"), "must be 64 hex digits"))?;
        }
        if let Some(secret) = &c.secret
            && secret.len() < 16
        {
            return Err(invalid(key("secret"), "must be at least 16 characters"));
        }
        c.to_client()
            .validate(FieldNames::Config { index: i })
            .map_err(client_error)?;
        // Only audiences Onramp issues access tokens for: anything else
        // would never match (a typo that silently grants nothing).
        let users = self.issuer().to_owned();
        let api = format!("{users}/api/v1");
        for aud in &c.introspection_audiences {
            if *aud != users && *aud != api {
                return Err(invalid(
                    key("introspection_audiences"),
                    format!(
                        "`{aud}` is not an audience of Onramp's access tokens: use `{users}` (users' tokens) or `{api}` (admin API tokens)"
                    ),
                ));
            }
        }
        Ok(())
    }

    pub fn store_url(&self) -> Result<StoreUrl, ConfigError> {
        let url = self.store.url.trim();
        if let Some(path) = url.strip_prefix("embedded:") {
            if path.is_empty() {
                return Err(invalid("store.url", "embedded: needs a file path"));
            }
            return Ok(StoreUrl::Embedded(PathBuf::from(path)));
        }
        if RedisTarget::is_cluster_url(url) {
            // Same parser as the store uses to connect.
            RedisTarget::parse(url)
                .map_err(|e| invalid("store.url", format!("bad Redis Cluster URL: {e}")))?;
            return Ok(StoreUrl::Redis(url.to_owned()));
        }
        if url.starts_with("redis://") || url.starts_with("rediss://") {
            url::Url::parse(url)
                .map_err(|e| invalid("store.url", format!("bad Redis URL: {e}")))?;
            return Ok(StoreUrl::Redis(url.to_owned()));
        }
        Err(invalid(
            "store.url",
            "must start with embedded:, redis://, rediss://, redis+cluster:// or rediss+cluster://",
        ))
    }

    /// The issuer without a trailing slash.
    pub fn issuer(&self) -> &str {
        self.server.issuer.trim_end_matches('/')
    }

    /// The effective settings as TOML, with secrets masked.
    pub fn to_masked_toml(&self) -> String {
        let mut masked = self.clone();
        for c in &mut masked.clients {
            if c.secret.is_some() {
                c.secret = Some("********".into());
            }
        }
        if let Some(url) = mask_cluster_password(&masked.store.url, "********") {
            // A cluster URL lists several hosts, which `url::Url` cannot parse.
            masked.store.url = url;
        } else if let Ok(mut url) = url::Url::parse(&masked.store.url)
            && url.password().is_some()
        {
            let _ = url.set_password(Some("********"));
            masked.store.url = url.to_string();
        }
        if let Some(smtp) = &mut masked.smtp
            && smtp.password.is_some()
        {
            smtp.password = Some("********".into());
        }
        toml::to_string_pretty(&masked).unwrap_or_else(|e| format!("# cannot render: {e}"))
    }
}

/// A client's refusal, under the key the domain named.
fn client_error(e: DomainError) -> ConfigError {
    match e {
        DomainError::Invalid { field, message } => invalid(field, message),
        other => ConfigError::Load(other.to_string()),
    }
}

impl ClientSettings {
    /// The client record this table describes (the one model that
    /// validation and the token endpoint use).
    pub fn to_client(&self) -> Client {
        let secret_sha256 = match (&self.secret, &self.secret_sha256) {
            (Some(plain), _) => Some(sha256(plain.as_bytes())),
            (None, Some(hex_digest)) => {
                let mut out = [0u8; 32];
                // Checked by `Settings::validate`.
                hex::decode_to_slice(hex_digest, &mut out)
                    .ok()
                    .map(|()| out)
            }
            (None, None) => None,
        };
        Client {
            id: self.id.clone(),
            name: self.name.clone(),
            secret_sha256,
            redirect_uris: self.redirect_uris.clone(),
            post_logout_redirect_uris: self.post_logout_redirect_uris.clone(),
            backchannel_logout_uri: self.backchannel_logout_uri.clone(),
            grant_types: self.grant_types.clone(),
            auth_method: self.auth_method(),
            id_token_alg: self.id_token_alg.unwrap_or(SigningAlg::RS256),
            access_token_alg: self.access_token_alg.unwrap_or(SigningAlg::ES256),
            permissions: self.permissions.clone(),
            delegated_permissions: self.delegated_permissions.clone(),
            jwks: self.jwks.clone(),
            introspection_audiences: self.introspection_audiences.clone(),
        }
    }

    pub fn auth_method(&self) -> ClientAuthMethod {
        self.token_endpoint_auth_method.unwrap_or(
            if self.secret.is_none() && self.secret_sha256.is_none() {
                ClientAuthMethod::None
            } else {
                ClientAuthMethod::ClientSecretBasic
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Settings from TOML text, through the real loader (defaults, file, env).
    fn load_toml(text: &str) -> Result<Settings, ConfigError> {
        let dir = std::env::temp_dir().join(format!(
            "onramp-config-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("test.toml");
        std::fs::write(&file, text).unwrap();
        let out = Settings::load(Some(&file));
        let _ = std::fs::remove_dir_all(&dir);
        out
    }

    const PK_CLIENT: &str = r#"
[[clients]]
id = "pk"
grant_types = ["client_credentials"]
token_endpoint_auth_method = "private_key_jwt"
"#;
    const JWKS: &str = r#"jwks = '{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}'"#;

    #[test]
    fn private_key_jwt_needs_exactly_one_of_jwks_and_jwks_uri() {
        let s = load_toml(&format!("{PK_CLIENT}{JWKS}\n")).unwrap();
        assert!(matches!(s.clients[0].jwks, Some(ClientKeys::Inline(_))));
        let s = load_toml(&format!(
            "{PK_CLIENT}jwks_uri = \"https://rp.example/jwks.json\"\n"
        ))
        .unwrap();
        assert_eq!(
            s.clients[0].jwks,
            Some(ClientKeys::Uri {
                jwks_uri: "https://rp.example/jwks.json".into()
            })
        );
        // check-config prints it under its own key.
        assert!(
            s.to_masked_toml()
                .contains("jwks_uri = \"https://rp.example/jwks.json\"")
        );
        assert!(load_toml(&format!("{PK_CLIENT}jwks_uri = \"http://127.0.0.1:9/k\"\n")).is_ok());

        let both = load_toml(&format!(
            "{PK_CLIENT}{JWKS}\njwks_uri = \"https://rp.example/jwks.json\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(both.contains("jwks or jwks_uri, not both"), "{both}");
        let neither = load_toml(PK_CLIENT).unwrap_err().to_string();
        assert!(
            neither.contains("clients[0].jwks") && neither.contains("jwks_uri"),
            "{neither}"
        );
        for bad in [
            "http://rp.example/jwks",
            "ftp://rp.example/jwks",
            "jwks.json",
        ] {
            let e = load_toml(&format!("{PK_CLIENT}jwks_uri = \"{bad}\"\n"))
                .unwrap_err()
                .to_string();
            assert!(e.contains("`clients[0].jwks_uri`"), "{bad}: {e}");
        }
    }

    #[test]
    fn configured_clients_follow_the_registration_rules() {
        let web = "[[clients]]\nid = \"web\"\nsecret = \"web-secret-0123456789\"\n";
        let ok = |rest: &str| load_toml(&format!("{web}{rest}"));
        let refused = |rest: &str| ok(rest).unwrap_err().to_string();
        // http only on the loopback host, in every list of redirect targets.
        for uri in [
            "http://localhost:3000/callback",
            "http://127.0.0.1:9/cb",
            "http://[::1]:8400/cb",
            "https://app.example/cb",
        ] {
            assert!(
                ok(&format!("grant_types = [\"authorization_code\"]\nredirect_uris = [\"{uri}\"]\npost_logout_redirect_uris = [\"{uri}\"]\n")).is_ok(),
                "{uri}"
            );
        }
        let e = refused(
            "grant_types = [\"authorization_code\"]\nredirect_uris = [\"https://app.example/cb\", \"http://app.example/cb\"]\n",
        );
        assert!(
            e.contains("`clients[0].redirect_uris[1]`") && e.contains("https"),
            "{e}"
        );
        let e = refused(
            "grant_types = [\"authorization_code\"]\nredirect_uris = [\"https://app.example/cb\"]\npost_logout_redirect_uris = [\"http://app.example/\"]\n",
        );
        assert!(
            e.contains("`clients[0].post_logout_redirect_uris[0]`"),
            "{e}"
        );
        let e = refused(
            "grant_types = [\"authorization_code\"]\nredirect_uris = [\"com.example.app:/cb\"]\n",
        );
        assert!(e.contains("`clients[0].redirect_uris[0]`"), "{e}");
        // A refresh token only comes with a code.
        let e = refused("grant_types = [\"client_credentials\", \"refresh_token\"]\n");
        assert!(
            e.contains("`clients[0].grant_types`")
                && e.contains("refresh_token needs authorization_code"),
            "{e}"
        );
        let e = refused(
            "grant_types = [\"client_credentials\"]\nbackchannel_logout_uri = \"https://app.example/bc#x\"\n",
        );
        assert!(e.contains("`clients[0].backchannel_logout_uri`"), "{e}");
    }

    #[test]
    fn introspection_audiences_name_onramp_token_audiences() {
        let rs = "[[clients]]\nid = \"rs\"\nsecret = \"rs-secret-0123456789\"\ngrant_types = [\"client_credentials\"]\n";
        let s = load_toml(rs).unwrap();
        assert!(s.clients[0].introspection_audiences.is_empty());
        let s = load_toml(&format!(
            "{rs}introspection_audiences = [\"http://localhost:8080\", \"http://localhost:8080/api/v1\"]\n"
        ))
        .unwrap();
        assert_eq!(
            s.clients[0].introspection_audiences,
            ["http://localhost:8080", "http://localhost:8080/api/v1"]
        );
        assert!(s.to_masked_toml().contains("introspection_audiences = ["));
        let e = load_toml(&format!(
            "{rs}introspection_audiences = [\"https://other.example\"]\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("`clients[0].introspection_audiences`") && e.contains("other.example"),
            "{e}"
        );
        let public = "[[clients]]\nid = \"spa\"\ngrant_types = [\"authorization_code\"]\nredirect_uris = [\"http://localhost:9/cb\"]\nintrospection_audiences = [\"http://localhost:8080\"]\n";
        let e = load_toml(public).unwrap_err().to_string();
        assert!(e.contains("`clients[0].introspection_audiences`"), "{e}");
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges() {
        let s = load_toml(
            "[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"192.0.2.7\", \"fd00::/8\"]\n",
        )
        .unwrap();
        let ranges = &s.server.trusted_proxies;
        let ip = |t: &str| t.parse::<IpAddr>().unwrap();
        assert!(ranges[0].contains(ip("10.1.2.3")));
        assert!(ranges[0].contains(ip("::ffff:10.1.2.3")), "IPv4-mapped");
        assert!(!ranges[0].contains(ip("11.0.0.1")));
        assert!(ranges[1].contains(ip("192.0.2.7")) && !ranges[1].contains(ip("192.0.2.8")));
        assert!(ranges[2].contains(ip("fd12::1")) && !ranges[2].contains(ip("fe80::1")));
        assert!(IpRange::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        // Printed back as given (host bits cleared).
        assert_eq!(
            String::from(IpRange::parse("10.9.9.9/8").unwrap()),
            "10.0.0.0/8"
        );
        assert!(s.to_masked_toml().contains("\"192.0.2.7\""));
        for bad in ["10.0.0.0/33", "::/129", "proxy.example", "10.0.0.0/x", ""] {
            assert!(IpRange::parse(bad).is_err(), "{bad}");
        }
        let e = load_toml("[server]\ntrusted_proxies = [\"proxy.example\"]\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("server.trusted_proxies") && e.contains("proxy.example"),
            "{e}"
        );
        let mut s = Settings::default();
        s.server.request_timeout_seconds = 0;
        let e = s.validate().unwrap_err().to_string();
        assert!(e.contains("`server.request_timeout_seconds`"), "{e}");
    }

    #[test]
    fn http_issuer_only_on_the_loopback_host() {
        for ok in [
            "http://localhost:8080",
            "http://127.0.0.1:8080",
            "http://[::1]:8080",
            "https://login.example.com",
        ] {
            let mut s = Settings::default();
            s.server.issuer = ok.into();
            assert!(s.validate().is_ok(), "{ok}");
        }
        for bad in ["http://login.example.com", "http://10.0.0.1:8080"] {
            let mut s = Settings::default();
            s.server.issuer = bad.into();
            let e = s.validate().unwrap_err().to_string();
            assert!(
                e.contains("`server.issuer`") && e.contains("https"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn production_example_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/production.example.toml");
        let text = std::fs::read_to_string(path).unwrap();
        let s: Settings = toml::from_str(&text).unwrap();
        s.validate().unwrap();
    }

    #[test]
    fn demo_config_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/demo.toml");
        let text = std::fs::read_to_string(path).unwrap();
        let s: Settings = toml::from_str(&text).unwrap();
        s.validate().unwrap();
    }

    #[test]
    fn default_toml_file_equals_built_in_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/default.toml");
        let text = std::fs::read_to_string(path).unwrap();
        let from_file: Settings = toml::from_str(&text).unwrap();
        assert_eq!(from_file, Settings::default());
    }

    #[test]
    fn validation_names_the_key() {
        let mut s = Settings::default();
        s.store.url = "postgres://x".into();
        assert!(s.validate().unwrap_err().to_string().contains("store.url"));
        let mut s = Settings::default();
        s.clients.push(ClientSettings {
            id: "c".into(),
            name: None,
            secret: None,
            secret_sha256: None,
            grant_types: vec![GrantType::ClientCredentials],
            permissions: vec![],
            delegated_permissions: vec![],
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
            token_endpoint_auth_method: Some(ClientAuthMethod::ClientSecretBasic),
            id_token_alg: None,
            access_token_alg: None,
            jwks: None,
            introspection_audiences: vec![],
        });
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("clients[0].secret")
        );
        s.clients[0].id = PORTAL_CLIENT_ID.into();
        s.clients[0].secret = Some("a-long-enough-secret-0123456789".into());
        let err = s.validate().unwrap_err().to_string();
        assert!(
            err.contains("clients[0].id") && err.contains("reserved"),
            "{err}"
        );
    }

    #[test]
    fn masked_output_hides_secrets() {
        let mut s = Settings::default();
        s.store.url = "redis://:hunter2hunter2@localhost:6379/0".into();
        s.clients.push(ClientSettings {
            id: "c".into(),
            name: None,
            secret: Some("very-secret-value-123".into()),
            secret_sha256: None,
            grant_types: vec![GrantType::ClientCredentials],
            permissions: vec![],
            delegated_permissions: vec![],
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
            token_endpoint_auth_method: None,
            id_token_alg: None,
            access_token_alg: None,
            jwks: None,
            introspection_audiences: vec![],
        });
        let out = s.to_masked_toml();
        assert!(!out.contains("very-secret-value-123"));
        assert!(!out.contains("hunter2"));
        assert!(out.contains("********"));
    }

    #[test]
    fn smtp_settings_are_checked_and_the_password_masked() {
        let smtp = |host: &str, tls: SmtpTls| SmtpSettings {
            host: host.into(),
            port: 587,
            from: "Onramp <onramp@example.com>".into(),
            username: Some("onramp".into()),
            password: Some("smtp-secret-42".into()),
            tls,
            ca_file: None,
            timeout_seconds: 10,
        };
        let key = |s: SmtpSettings| {
            let settings = Settings {
                smtp: Some(s),
                ..Settings::default()
            };
            match settings.validate() {
                Err(ConfigError::Invalid { key, .. }) => key,
                other => format!("{other:?}"),
            }
        };
        let ok = Settings {
            smtp: Some(smtp("smtp.example.com", SmtpTls::Starttls)),
            ..Settings::default()
        };
        assert!(ok.validate().is_ok());
        assert!(!ok.to_masked_toml().contains("smtp-secret-42"));
        assert!(ok.to_masked_toml().contains("[smtp]"));
        // Plain text only to this machine.
        assert_eq!(key(smtp("smtp.example.com", SmtpTls::None)), "smtp.tls");
        for host in ["localhost", "127.0.0.1", "[::1]"] {
            let s = Settings {
                smtp: Some(smtp(host, SmtpTls::None)),
                ..Settings::default()
            };
            assert!(s.validate().is_ok(), "{host}");
        }
        let mut bad = smtp("smtp.example.com", SmtpTls::Starttls);
        bad.from = "not a mailbox".into();
        assert_eq!(key(bad), "smtp.from");
        let mut bad = smtp("smtp.example.com", SmtpTls::Starttls);
        bad.password = None;
        assert_eq!(key(bad), "smtp.password");
        let mut bad = smtp("smtp.example.com", SmtpTls::Starttls);
        bad.ca_file = Some(PathBuf::from("/nonexistent/ca.pem"));
        assert_eq!(key(bad), "smtp.ca_file");
        let s = Settings {
            onboarding: OnboardingSettings {
                users_per_run: 0,
                ..OnboardingSettings::default()
            },
            ..Settings::default()
        };
        assert!(
            matches!(s.validate(), Err(ConfigError::Invalid { key, .. }) if key == "onboarding.users_per_run")
        );
    }

    #[test]
    fn mapped_ranges_count_their_prefix_in_ipv6_bits() {
        // Found by prop_ip_range_contains_exactly_its_members: the prefix of
        // `::ffff:a.b.c.d/N` was applied to the IPv4 address as it stood.
        let parse = |t: &str| IpRange::parse(t);
        assert_eq!(parse("::ffff:10.1.2.3/104"), parse("10.0.0.0/8"));
        assert_eq!(parse("::ffff:192.0.2.7/128"), parse("192.0.2.7"));
        assert_eq!(parse("::ffff:192.0.2.7"), parse("192.0.2.7"));
        assert_eq!(parse("::ffff:0.0.0.0/96"), parse("0.0.0.0/0"));
        for wider in [
            "::ffff:0.0.0.0/0",
            "::ffff:10.1.2.3/24",
            "::ffff:10.0.0.0/95",
        ] {
            assert!(parse(wider).is_err(), "{wider}");
        }
    }

    #[test]
    fn redis_cluster_urls() {
        let mut s = Settings::default();
        s.store.url = "redis+cluster://:hunter2hunter2@10.0.0.1:7000,10.0.0.2:7000".into();
        assert!(matches!(s.store_url(), Ok(StoreUrl::Redis(_))));
        assert!(!s.to_masked_toml().contains("hunter2"));
        for bad in [
            "redis+cluster://",
            "redis+cluster://10.0.0.1:7000,,10.0.0.2:7000",
            "redis+cluster://10.0.0.1:7000/3",
            "redis+cluster://10.0.0.1:70000",
        ] {
            s.store.url = bad.into();
            let e = s.store_url().unwrap_err().to_string();
            assert!(
                e.contains("`store.url`") && e.contains("Cluster"),
                "{bad}: {e}"
            );
        }
    }
}

/// Property tests (`prop_*`; `PROPTEST_CASES` sets the number of cases).
#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// How a range's address is written.
    #[derive(Debug, Clone, Copy)]
    enum Written {
        V4(u32),
        V6(u128),
        /// An IPv4 address in IPv6 form, `::ffff:a.b.c.d`.
        Mapped(u32),
    }

    impl Written {
        fn text(self) -> String {
            match self {
                Written::V4(a) => Ipv4Addr::from(a).to_string(),
                Written::V6(a) => Ipv6Addr::from(a).to_string(),
                Written::Mapped(a) => format!("::ffff:{}", Ipv4Addr::from(a)),
            }
        }

        /// Bits of the written form (32 for IPv4, 128 for IPv6).
        fn width(self) -> u32 {
            if matches!(self, Written::V4(_)) {
                32
            } else {
                128
            }
        }
    }

    fn written() -> impl Strategy<Value = Written> {
        prop_oneof![
            any::<u32>().prop_map(Written::V4),
            any::<u128>().prop_map(Written::V6),
            any::<u32>().prop_map(Written::Mapped),
            // Near the edges: all zeros, all ones, a few bits set.
            prop_oneof![
                Just(0u128),
                Just(u128::MAX),
                (0u32..128).prop_map(|b| 1u128 << b)
            ]
            .prop_map(Written::V6),
        ]
    }

    /// Which family an address belongs to after canonicalisation, and its bits.
    fn canonical(ip: IpAddr) -> (bool, u128) {
        match ip.to_canonical() {
            IpAddr::V4(v4) => (true, u128::from(u32::from(v4))),
            IpAddr::V6(v6) => (false, u128::from(v6)),
        }
    }

    proptest! {
        #[test]
        fn prop_ip_range_parse_never_panics(s in any::<String>()) {
            let _ = IpRange::parse(&s);
        }

        #[test]
        fn prop_ip_range_near_valid_text_round_trips(
            s in "[ ]?[0-9a-fA-F:.]{0,24}(/[+0-9]{0,4})?[ ]?",
        ) {
            if let Ok(r) = IpRange::parse(&s) {
                let shown = String::from(r);
                prop_assert_eq!(IpRange::parse(&shown), Ok(r), "{} shown as {}", s, shown);
            }
        }

        #[test]
        fn prop_ip_range_contains_exactly_its_members(
            w in written(),
            prefix in prop_oneof![Just(None), (0u32..=140).prop_map(Some)],
            host in any::<u128>(),
            flip in any::<prop::sample::Index>(),
        ) {
            let text = match prefix {
                Some(p) => format!("{}/{p}", w.text()),
                None => w.text(),
            };
            let parsed = IpRange::parse(&text);
            let p = prefix.unwrap_or(w.width());
            // Written prefix, in bits of the written form; an IPv4-mapped
            // range is an IPv4 range when it covers only mapped addresses.
            let (v4, bits, width, p) = match w {
                Written::V4(a) => (true, u128::from(a), 32, p),
                Written::V6(a) => (false, a, 128, p),
                Written::Mapped(a) if p >= 96 => (true, u128::from(a), 32, p - 96),
                Written::Mapped(_) => {
                    prop_assert!(parsed.is_err(), "{} must be refused: {:?}", text, parsed);
                    return Ok(());
                }
            };
            if p > width {
                prop_assert!(parsed.is_err(), "{} must be refused", text);
                return Ok(());
            }
            let range = parsed.map_err(TestCaseError::fail)?;
            prop_assert_eq!(IpRange::parse(&String::from(range)), Ok(range));
            let full = u128::MAX >> (128 - width);
            let keep = full & !full.checked_shr(p).unwrap_or(0);
            let member = (bits & keep) | (host & !keep & full);
            let as_ip = |b: u128| -> IpAddr {
                if v4 { IpAddr::V4(Ipv4Addr::from(b as u32)) } else { IpAddr::V6(Ipv6Addr::from(b)) }
            };
            let ip = as_ip(member);
            // The member may live in the other family after canonicalisation
            // (a random IPv6 range may hold mapped addresses).
            let (ip_v4, _) = canonical(ip);
            if ip_v4 == v4 {
                prop_assert!(range.contains(ip), "{} must contain {}", text, ip);
            }
            if let IpAddr::V4(a) = ip {
                prop_assert!(range.contains(IpAddr::V6(a.to_ipv6_mapped())), "{} must contain mapped {}", text, ip);
            }
            if p > 0 {
                let bit = (width - 1) - (flip.index(p as usize) as u32);
                let outsider = as_ip(member ^ (1u128 << bit));
                let (o_v4, _) = canonical(outsider);
                if o_v4 == v4 {
                    prop_assert!(!range.contains(outsider), "{} must not contain {}", text, outsider);
                }
            }
            // The other family is never contained.
            let other = if v4 { IpAddr::V6(Ipv6Addr::from(host | (1 << 127))) } else { IpAddr::V4(Ipv4Addr::from(host as u32)) };
            prop_assert!(!range.contains(other), "{} must not contain {}", text, other);
        }
    }
}
