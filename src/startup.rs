//! Builds the application: store, keys, clients, bootstrap, HTTP server.

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{SharedClock, SystemClock};
use crate::config::{ConfigError, Settings, StoreUrl};
use crate::crypto::random::{OsRandom, SharedRandom};
use crate::domain::DomainError;
use crate::service::Context;
use crate::service::audit::AuditLog;
use crate::service::bootstrap::{Bootstrap, Issued};
use crate::service::clients::ClientRegistry;
use crate::service::hashing::HashLimiter;
use crate::service::keys::KeyService;
use crate::state::AppState;
use crate::store::embedded::EmbeddedStore;
use crate::store::redis::RedisStore;
use crate::store::{SharedStore, StoreError};
use crate::web::{self as http, not_found, request_envelope};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("initialisation: {0}")]
    Init(#[from] DomainError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

/// Injected time and randomness.
#[derive(Clone)]
pub struct Deps {
    pub clock: SharedClock,
    pub rng: SharedRandom,
}

impl Default for Deps {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            rng: Arc::new(OsRandom),
        }
    }
}

pub async fn open_store(settings: &Settings) -> Result<SharedStore, StartupError> {
    match settings.store_url()? {
        StoreUrl::Embedded(path) => Ok(Arc::new(EmbeddedStore::open(&path)?)),
        StoreUrl::Redis(url) => {
            let timeout = Duration::from_millis(settings.store.timeout_ms);
            let store = RedisStore::connect(&url, &settings.store.prefix, timeout).await?;
            if store.persistence_enabled().await == Some(false) {
                tracing::warn!(
                    "Redis persistence (appendonly) is off: users, passes and keys are lost if Redis restarts"
                );
            }
            Ok(Arc::new(store))
        }
    }
}

pub async fn build_context(
    settings: Settings,
    store: SharedStore,
    deps: Deps,
) -> Result<Arc<Context>, StartupError> {
    let keys = KeyService::load_or_create(&*store, deps.clock.clone()).await?;
    let issuer = settings.issuer().to_owned();
    let webauthn = relying_party(&issuer);
    let hashing = HashLimiter::new(
        settings.server.pass_checks,
        settings.server.pass_check_queue,
        deps.rng.clone(),
    )
    .await?;
    Ok(Arc::new(Context {
        webauthn,
        hashing,
        http: crate::service::backchannel::http_client(),
        token_limiter: crate::service::ratelimit::RateLimiter::new(
            settings.tokens.rate_limit_per_client,
        ),
        remote_jwks: Default::default(),
        clients: ClientRegistry::from_settings(&settings, store.clone()),
        audit: AuditLog::new(store.clone(), deps.rng.clone()),
        api_audience: format!("{issuer}/api/v1"),
        issuer,
        keys,
        store,
        clock: deps.clock,
        rng: deps.rng,
        settings: Arc::new(settings),
    }))
}

/// Re-reads the signing keys every `keys.refresh_seconds`, so that a
/// rotation made elsewhere is known here before the new key signs. Holds
/// only a weak reference: the task ends when the application does.
fn spawn_key_refresh(ctx: &Arc<Context>) {
    let weak = Arc::downgrade(ctx);
    let every = Duration::from_secs(ctx.settings.keys.refresh_seconds);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(ctx) = weak.upgrade() else { break };
            if let Err(e) = ctx.keys.reload(&*ctx.store).await {
                tracing::warn!(error = %e, "cannot re-read the signing keys");
            }
        }
    });
}

/// Once a minute (and once at start): reclaims the space of expired
/// short-lived records (the embedded store; Redis expires keys itself;
/// reads never rely on it), moves audit events a crash left in a Redis
/// outbox into the log, and deletes events past `audit.retention_days`.
fn spawn_sweeper(ctx: &Arc<Context>) {
    let weak = Arc::downgrade(ctx);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            let Some(ctx) = weak.upgrade() else { break };
            match ctx.store.recover_audit().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(moved = n, "audit events recovered from outboxes"),
                Err(e) => tracing::warn!(error = %e, "recovering audit events failed"),
            }
            let days = ctx.settings.audit.retention_days;
            if days > 0 {
                let before = ctx.clock.now() - time::Duration::days(i64::from(days));
                match ctx.store.prune_audit(before, 10_000).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(deleted = n, "audit events past retention deleted"),
                    Err(e) => tracing::warn!(error = %e, "deleting old audit events failed"),
                }
            }
            match ctx.store.sweep_expired(ctx.clock.now(), 10_000).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(removed = n, "expired records swept"),
                Err(e) => tracing::warn!(error = %e, "sweeping expired records failed"),
            }
        }
    });
}

/// Every `onboarding.scheduler_seconds` (and once at start): issues the
/// passes due for hire dates (`service::onboarding`), going on where the
/// last run stopped. Safe on any number of instances.
fn spawn_onboarding(ctx: &Arc<Context>) {
    let every = ctx.settings.onboarding.scheduler_seconds;
    if every == 0 {
        return;
    }
    let weak = Arc::downgrade(ctx);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(every));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut cursor: Option<String> = None;
        loop {
            tick.tick().await;
            let Some(ctx) = weak.upgrade() else { break };
            let service = crate::service::onboarding::OnboardingService::new(ctx);
            match service.run(cursor.as_deref()).await {
                Ok(run) => {
                    if run.issued > 0 {
                        tracing::info!(
                            issued = run.issued,
                            mailed = run.mailed,
                            failed = run.failed,
                            "onboarding passes issued"
                        );
                    }
                    cursor = run.next;
                }
                Err(e) => tracing::warn!(error = %e, "the onboarding scheduler's run failed"),
            }
        }
    });
}

/// The WebAuthn relying party for the issuer's origin (RP ID = its host).
fn relying_party(issuer: &str) -> Option<Arc<webauthn_rs::Webauthn>> {
    let origin = url::Url::parse(issuer).ok()?;
    let host = origin.host_str()?.to_owned();
    match webauthn_rs::WebauthnBuilder::new(&host, &origin)
        .and_then(|b| b.rp_name("Onramp").build())
    {
        Ok(w) => Some(Arc::new(w)),
        Err(e) => {
            tracing::warn!(error = %e, %issuer, "passkeys are unavailable: the issuer host must be a domain name");
            None
        }
    }
}

/// Idle keep-alive connections are closed after this long (test clients
/// drop theirs sooner, so a request never races the close).
const KEEP_ALIVE_SECONDS: u64 = 5;

pub struct Application {
    server: Server,
    port: u16,
    /// The bootstrap administrator and pass, on the first start.
    pub bootstrap: Option<Issued>,
    pub state: actix_web::web::Data<AppState>,
}

impl Application {
    /// Opens the store, loads keys, bootstraps an empty directory and binds
    /// the server (to `listener` if given: tests pass one on port 0).
    pub async fn build(
        settings: Settings,
        deps: Deps,
        listener: Option<TcpListener>,
    ) -> Result<Self, StartupError> {
        let store = open_store(&settings).await?;
        // Records stored before the mail and employeeId indexes existed
        // get their entries once (idempotent; one read once done).
        match store.reindex_users().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(users = n, "directory lookup indexes built"),
            Err(e) => return Err(StartupError::from(e)),
        }
        // Read once here, not on the first page that names a passkey.
        tracing::debug!(
            models = crate::domain::authenticator::known_models(),
            "authenticator models loaded"
        );
        let ctx = build_context(settings, store, deps).await?;
        let bootstrap = Bootstrap::new(ctx.clone()).ensure_admin().await?;
        spawn_key_refresh(&ctx);
        spawn_sweeper(&ctx);
        spawn_onboarding(&ctx);
        crate::service::webhooks::spawn_worker(&ctx);
        let settings = ctx.settings.clone();
        let state = actix_web::web::Data::new(AppState::new(ctx));
        let listener = match listener {
            Some(l) => l,
            None => {
                TcpListener::bind(&settings.server.listen).map_err(|source| StartupError::Bind {
                    addr: settings.server.listen.clone(),
                    source,
                })?
            }
        };
        let addr = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: settings.server.listen.clone(),
            source,
        })?;
        let app_state = state.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(app_state.clone())
                .wrap(from_fn(crate::web::i18n::localize))
                .wrap(from_fn(request_envelope))
                .configure(http::routes)
                .default_service(actix_web::web::to(not_found))
        })
        .shutdown_timeout(settings.server.shutdown_timeout_seconds)
        // Slow clients: the headers within the request timeout (then the
        // envelope bounds body and answer), idle keep-alive connections
        // closed after 5 s, and 5 s for a client to go once we close.
        .client_request_timeout(Duration::from_secs(settings.server.request_timeout_seconds))
        .keep_alive(Duration::from_secs(KEEP_ALIVE_SECONDS))
        .client_disconnect_timeout(Duration::from_secs(5));
        if settings.server.workers > 0 {
            server = server.workers(settings.server.workers);
        }
        let server = server
            .listen(listener)
            .map_err(|source| StartupError::Bind {
                addr: addr.to_string(),
                source,
            })?
            .run();
        Ok(Self {
            server,
            port: addr.port(),
            bootstrap,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGTERM/SIGINT (graceful: in-flight requests finish).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
