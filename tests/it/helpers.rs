//! Test harness: a real `redis-server` per test, the app on a free port,
//! an advanceable clock, and small HTTP helpers.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use onramp::clock::ManualClock;
use onramp::config::{ClientSettings, Settings};
use onramp::crypto::random::OsRandom;
use onramp::domain::client::{ClientAuthMethod, GrantType, SigningAlg};
use onramp::domain::permission::Permission;
use onramp::service::bootstrap::Issued;
use onramp::startup::{Application, Deps};
use onramp::store::SharedStore;
use serde_json::Value;

pub const HR_ID: &str = "hr-sync";
pub const HR_SECRET: &str = "hr-sync-secret-0123456789";
pub const POLICY_ID: &str = "policy-admin";
pub const POLICY_SECRET: &str = "policy-admin-secret-0123456789";
pub const RP_ID: &str = "demo-rp";
pub const RP2_ID: &str = "second-rp";
pub const RP_SECRET: &str = "demo-rp-secret-0123456789";
pub const RP_REDIRECT: &str = "http://localhost:9/callback";
pub const RP_LOGGED_OUT: &str = "http://localhost:9/signed-out";
pub const READER_ID: &str = "user-only";
pub const READER_SECRET: &str = "user-only-secret-0123456789";

/// A `redis-server` on a free port, stopped on drop.
pub struct RedisServer {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    pub fn start() -> Self {
        let port = free_port();
        Self::start_on(port)
    }

    pub fn start_on(port: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start redis-server ({e}): install it (apt-get install redis-server); the Redis tests need a real server")
            });
        let server = Self {
            child,
            port,
            _dir: dir,
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(client) = redis::Client::open(self.url())
                && let Ok(mut conn) = client.get_connection()
                && redis::cmd("PING").query::<String>(&mut conn).is_ok()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server on port {} did not become ready", self.port);
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A three-node Redis Cluster (three primaries, no replicas) on free
/// loopback ports, each node with its own config file in a temp dir; every
/// node is stopped on drop.
pub struct RedisCluster {
    children: Vec<Child>,
    pub ports: Vec<u16>,
    dir: tempfile::TempDir,
}

impl RedisCluster {
    pub fn start() -> Self {
        let mut cluster = Self {
            children: Vec::new(),
            ports: Vec::new(),
            dir: tempfile::tempdir().unwrap(),
        };
        // Six distinct free ports: held open together so none repeats. Each
        // node's cluster bus gets its own (the default, port + 10000, may be
        // taken or past 65535).
        let held: Vec<TcpListener> = (0..6)
            .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
            .collect();
        let free: Vec<u16> = held
            .iter()
            .map(|l| l.local_addr().unwrap().port())
            .collect();
        drop(held);
        for pair in free.chunks(2) {
            let (port, bus) = (pair[0], pair[1]);
            let node_dir = cluster.dir.path().join(port.to_string());
            std::fs::create_dir(&node_dir).unwrap();
            let child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--cluster-enabled", "yes", "--cluster-port", &bus.to_string()])
                .args(["--cluster-config-file", "nodes.conf"])
                .args(["--save", "", "--appendonly", "no"])
                .arg("--dir")
                .arg(&node_dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("cannot start redis-server ({e}): install it (apt-get install redis-server); the Redis Cluster tests need a real server")
                });
            cluster.children.push(child);
            cluster.ports.push(port);
        }
        for &port in &cluster.ports {
            wait_for_ping(port);
        }
        let nodes: Vec<String> = cluster
            .ports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        let out = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&nodes)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run redis-cli ({e}): install it (apt-get install redis-tools); the Redis Cluster tests need it")
            });
        assert!(
            out.status.success(),
            "redis-cli --cluster create failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        cluster.wait_state_ok();
        cluster
    }

    /// Every node must see all slots covered before a client may rely on it.
    fn wait_state_ok(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        for &port in &self.ports {
            let mut last = String::new();
            loop {
                if let Ok(client) = redis::Client::open(format!("redis://127.0.0.1:{port}"))
                    && let Ok(mut conn) = client.get_connection()
                    && let Ok(info) = redis::cmd("CLUSTER").arg("INFO").query::<String>(&mut conn)
                {
                    if info.contains("cluster_state:ok") {
                        break;
                    }
                    last = info;
                }
                assert!(
                    Instant::now() < deadline,
                    "Redis Cluster node 127.0.0.1:{port} did not reach cluster_state:ok within 20 s; last CLUSTER INFO:\n{last}"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3`
    pub fn url(&self) -> String {
        let nodes: Vec<String> = self
            .ports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        format!("redis+cluster://{}", nodes.join(","))
    }

    pub fn stop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

fn wait_for_ping(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(client) = redis::Client::open(format!("redis://127.0.0.1:{port}"))
            && let Ok(mut conn) = client.get_connection()
            && redis::cmd("PING").query::<String>(&mut conn).is_ok()
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("redis-server (cluster node) on port {port} did not become ready");
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Embedded,
    Redis,
    /// Three-node Redis Cluster; not in [`BACKENDS`] (it is slower to start),
    /// chosen by the tests that exercise scale-out.
    RedisCluster,
}

pub const BACKENDS: [Backend; 2] = [Backend::Embedded, Backend::Redis];

/// Where a test app keeps its data.
pub enum StoreHandle {
    Embedded(tempfile::TempDir),
    Redis(RedisServer),
    RedisCluster(RedisCluster),
}

impl StoreHandle {
    pub fn new(backend: Backend) -> Self {
        match backend {
            Backend::Embedded => StoreHandle::Embedded(tempfile::tempdir().unwrap()),
            Backend::Redis => StoreHandle::Redis(RedisServer::start()),
            Backend::RedisCluster => StoreHandle::RedisCluster(RedisCluster::start()),
        }
    }

    pub fn url(&self) -> String {
        match self {
            StoreHandle::Embedded(dir) => format!("embedded:{}", self.embedded_path(dir).display()),
            StoreHandle::Redis(r) => r.url(),
            StoreHandle::RedisCluster(c) => c.url(),
        }
    }

    fn embedded_path(&self, dir: &tempfile::TempDir) -> PathBuf {
        dir.path().join("onramp.redb")
    }
}

pub fn client(id: &str, secret: &str, permissions: Vec<Permission>) -> ClientSettings {
    ClientSettings {
        id: id.into(),
        name: None,
        secret: Some(secret.into()),
        secret_sha256: None,
        grant_types: vec![GrantType::ClientCredentials],
        permissions,
        delegated_permissions: vec![],
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        token_endpoint_auth_method: None,
        id_token_alg: None,
        access_token_alg: None,
        jwks: None,
        introspection_audiences: vec![],
    }
}

/// Settings for a test app: issuer `http://localhost:PORT`, the given store,
/// an HR client with both permissions and a client with users only.
pub fn settings(port: u16, store_url: &str, prefix: &str) -> Settings {
    let mut s = Settings::default();
    s.server.listen = format!("127.0.0.1:{port}");
    s.server.issuer = format!("http://localhost:{port}");
    s.server.workers = 2;
    s.store.url = store_url.into();
    s.store.prefix = prefix.into();
    s.store.timeout_ms = 500;
    s.log.level = "warn".into();
    s.clients.push(client(
        HR_ID,
        HR_SECRET,
        vec![
            Permission::UserReadWriteAll,
            Permission::UserAuthenticationMethodReadWriteAll,
        ],
    ));
    s.clients.push(client(
        READER_ID,
        READER_SECRET,
        vec![Permission::UserReadWriteAll],
    ));
    let mut rs = client(
        "rs-client",
        "rs-client-secret-0123456789",
        vec![Permission::UserReadWriteAll],
    );
    rs.access_token_alg = Some(SigningAlg::RS256);
    s.clients.push(rs);
    s.clients.push(client(
        POLICY_ID,
        POLICY_SECRET,
        vec![
            Permission::PolicyReadWriteAuthenticationMethod,
            Permission::AuditLogReadAll,
        ],
    ));
    let mut rp = client(RP_ID, RP_SECRET, vec![]);
    rp.grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
    rp.redirect_uris = vec![RP_REDIRECT.into()];
    rp.post_logout_redirect_uris = vec![RP_LOGGED_OUT.into()];
    s.clients.push(rp);
    let mut rp2 = client(RP2_ID, RP_SECRET, vec![]);
    rp2.grant_types = vec![GrantType::AuthorizationCode];
    rp2.redirect_uris = vec![RP_REDIRECT.into()];
    rp2.id_token_alg = Some(SigningAlg::ES256);
    s.clients.push(rp2);
    let mut public = client("spa", "unused", vec![]);
    public.secret = None;
    public.token_endpoint_auth_method = Some(ClientAuthMethod::None);
    public.grant_types = vec![GrantType::AuthorizationCode];
    public.redirect_uris = vec!["http://localhost:9/cb".into()];
    s.clients.push(public);
    s
}

pub struct TestApp {
    pub base: String,
    pub clock: ManualClock,
    pub http: reqwest::Client,
    pub bootstrap: Option<Issued>,
    pub store: SharedStore,
    /// The app's services, for what the web API does not expose yet.
    pub state: actix_web::web::Data<onramp::state::AppState>,
    pub handle: actix_web::dev::ServerHandle,
}

impl TestApp {
    /// Starts an app on `store` (a fresh prefix per call).
    pub async fn spawn(store: &StoreHandle) -> TestApp {
        let prefix = format!("t{}", free_port());
        Self::spawn_with(store.url(), &prefix, ManualClock::starting_now(), |_| {}).await
    }

    pub async fn spawn_with(
        store_url: String,
        prefix: &str,
        clock: ManualClock,
        tweak: impl FnOnce(&mut Settings),
    ) -> TestApp {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut s = settings(port, &store_url, prefix);
        tweak(&mut s);
        let deps = Deps {
            clock: Arc::new(clock.clone()),
            rng: Arc::new(OsRandom),
        };
        let mut app = Application::build(s.clone(), deps, Some(listener))
            .await
            .unwrap();
        let handle = app.handle();
        let bootstrap = app.bootstrap.take();
        let store = app.state.ctx.store.clone();
        let state = app.state.clone();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            base: format!("http://localhost:{port}"),
            clock,
            http: reqwest::Client::builder()
                .pool_idle_timeout(std::time::Duration::from_secs(2))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            bootstrap,
            store,
            state,
            handle,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A client-credentials access token for `id`.
    pub async fn token(&self, id: &str, secret: &str) -> String {
        let res = self
            .http
            .post(self.url("/token"))
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "token request failed");
        let body: Value = res.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// `POST /token` as demo-rp (`client_secret_basic`), answered as sent:
    /// for what a client library would turn into an error of its own.
    pub async fn rp_token(&self, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(self.url("/token"))
            .basic_auth(RP_ID, Some(RP_SECRET))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn hr_token(&self) -> String {
        self.token(HR_ID, HR_SECRET).await
    }

    /// Calls the admin API with a bearer token; returns status and JSON (or Null).
    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, self.url(&format!("/api/v1{path}")))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, json)
    }

    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }
}
