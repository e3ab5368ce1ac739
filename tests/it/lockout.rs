//! The TAP lockout under attack: concurrent guesses, strangers who know a
//! user name, the audit log's growth, administrators clearing locks, and
//! the bounded argon2 queue (issue #9, items 1, 2, 3 and 6).

use reqwest::Method;
use serde_json::{Value, json};
use time::Duration;

use crate::browser::{Browser, Response};
use crate::helpers::*;
use crate::oidc_flow::provision;

/// Posts the TAP form as a browser at `address` (through the trusted
/// proxy the tests' loopback peer stands for).
struct Attempt {
    browser: Browser,
    csrf: String,
}

impl Attempt {
    async fn new(app: &TestApp) -> Self {
        let browser = Browser::new(&app.base);
        let page = browser.get("/signin").await;
        assert_eq!(page.status, 200, "{}", page.body);
        let csrf = page.field("csrf");
        Self { browser, csrf }
    }

    async fn tap(&self, address: &str, username: &str, passcode: &str) -> Response {
        let res = self
            .browser
            .http
            .post(format!("{}/signin/tap", self.browser.base))
            .header("x-forwarded-for", address)
            .form(&[
                ("csrf", self.csrf.as_str()),
                ("r", ""),
                ("username", username),
                ("passcode", passcode),
            ])
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        Response {
            status,
            location,
            body: res.text().await.unwrap(),
        }
    }
}

async fn spawn(backend: Backend, store: &StoreHandle) -> TestApp {
    let _ = backend;
    TestApp::spawn_with(
        store.url(),
        &format!("lk{}", free_port()),
        onramp::clock::ManualClock::starting_now(),
        |s| {
            s.server.trusted_proxies = vec![onramp::config::IpRange::parse("127.0.0.0/8").unwrap()];
            // Room for every attempt of a burst: the lockout alone must bound them.
            s.server.pass_check_queue = 256;
        },
    )
    .await
}

async fn events(app: &TestApp) -> Vec<onramp::domain::audit::AuditEvent> {
    app.store
        .list_audit(&Default::default(), None, 999)
        .await
        .unwrap()
        .events
}

fn count(events: &[onramp::domain::audit::AuditEvent], kind: &str) -> usize {
    events
        .iter()
        .filter(|e| e.event_type.as_str() == kind)
        .count()
}

async fn lock_state(app: &TestApp, user_id: &str) -> Value {
    let token = app.hr_token().await;
    let (status, body) = app
        .api(
            Method::GET,
            &format!("/users/{user_id}/signInLockout"),
            &token,
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// 40 concurrent attempts for one name, 39 wrong and the right one: never
/// more than 10 pass checks, one `tap.locked`, and the lock is the first
/// period only.
async fn concurrent_guesses_on(backend: Backend) {
    let store = StoreHandle::new(backend);
    let app = spawn(backend, &store).await;
    let (_, passcode) = provision(&app, "burst@example.com", json!({"isUsableOnce": false})).await;
    let attempt = std::sync::Arc::new(Attempt::new(&app).await);
    let mut tasks = Vec::new();
    for i in 0..40 {
        let attempt = attempt.clone();
        let pass = if i == 20 {
            passcode.clone()
        } else {
            format!("WRONG{i:03}")
        };
        tasks.push(tokio::spawn(async move {
            attempt
                .tap("203.0.113.50", "burst@example.com", &pass)
                .await
                .status
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let wrong = statuses.iter().filter(|s| **s == 401).count();
    let right = statuses.iter().filter(|s| **s == 303).count();
    assert!(
        statuses.iter().all(|s| matches!(s, 303 | 401 | 429)),
        "{statuses:?}"
    );
    // A right pass gives its reservation back; wrong ones never exceed it.
    assert!(
        wrong <= 10 && right <= 1,
        "{wrong} wrong passes checked for a limit of 10: {statuses:?}"
    );
    assert!(statuses.iter().filter(|s| **s == 429).count() >= 29);
    let log = events(&app).await;
    assert!(
        count(&log, "tap.failed") <= 10,
        "{}",
        count(&log, "tap.failed")
    );
    assert_eq!(count(&log, "tap.locked"), 1, "one event per lock");
    // One burst is one lock: the first period, 5 minutes.
    app.clock.advance(Duration::minutes(5));
    let ok = attempt
        .tap("203.0.113.50", "burst@example.com", &passcode)
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_guesses_never_exceed_the_limit_embedded() {
    concurrent_guesses_on(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_guesses_never_exceed_the_limit_redis() {
    concurrent_guesses_on(Backend::Redis).await;
}

/// A stranger who knows a user name locks only themself out; strangers
/// from many addresses lock the name for the first period at most, and
/// that period does not grow. The audit log grows per lock, not per try.
async fn strangers_on(backend: Backend) {
    let store = StoreHandle::new(backend);
    let app = spawn(backend, &store).await;
    let (victim, passcode) =
        provision(&app, "newhire@example.com", json!({"isUsableOnce": false})).await;
    let attempt = Attempt::new(&app).await;
    let stranger = "203.0.113.7";
    for i in 0..300 {
        let res = attempt
            .tap(stranger, "newhire@example.com", &format!("GUESS{i:03}"))
            .await;
        assert!(matches!(res.status, 401 | 429), "{}", res.status);
    }
    let log = events(&app).await;
    let from_stranger: Vec<_> = log
        .iter()
        .filter(|e| e.client_address.as_deref() == Some(stranger))
        .collect();
    // 10 checks of the name, then the name is locked there; the address
    // lock follows at its own limit: 10 failures and 2 locks, whatever the
    // number of attempts.
    assert!(
        from_stranger.len() <= 12,
        "{} events for 300 attempts: {:?}",
        from_stranger.len(),
        from_stranger
            .iter()
            .map(|e| e.event_type.as_str())
            .collect::<Vec<_>>()
    );
    // The locked events name the person the attempts were about.
    assert!(from_stranger.iter().any(|e| {
        e.event_type.as_str() == "tap.locked" && e.target.as_ref().is_some_and(|t| t.id == victim)
    }));
    // The person, at another address, is not locked out.
    let ok = attempt
        .tap("198.51.100.1", "newhire@example.com", &passcode)
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(lock_state(&app, &victim).await["isLocked"], false);

    // Strangers at four addresses: 30 checks lock the name everywhere,
    // for 5 minutes, every time.
    for round in 0..2 {
        for n in 0..40 {
            let from = format!("192.0.2.{}", 10 + n / 10 + 4 * round);
            attempt.tap(&from, "newhire@example.com", "BADBAD22").await;
        }
        let state = lock_state(&app, &victim).await;
        assert_eq!(state["isLocked"], true, "round {round}: {state}");
        let until = time::OffsetDateTime::parse(
            state["lockedUntilDateTime"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        let left = until - onramp::clock::Clock::now(&app.clock);
        assert!(
            left <= Duration::minutes(5) && left > Duration::minutes(4),
            "round {round}: the name lock lasts the first period only: {left}"
        );
        let refused = attempt
            .tap("198.51.100.1", "newhire@example.com", &passcode)
            .await;
        assert_eq!(refused.status, 429, "{}", refused.body);
        assert!(
            refused.body.contains("Try again in 5 minutes."),
            "{}",
            refused.body
        );
        app.clock.advance(Duration::minutes(5));
        let ok = attempt
            .tap("198.51.100.1", "newhire@example.com", &passcode)
            .await;
        assert_eq!(ok.status, 303, "round {round}: {}", ok.body);
    }
    // Each ended lock is summed up once, with the attempts it refused.
    let log = events(&app).await;
    let ended: Vec<_> = log
        .iter()
        .filter(|e| e.event_type.as_str() == "tap.unlocked")
        .collect();
    assert!(!ended.is_empty());
    // The name lock of each round refused the rest of its round (at
    // least the 10 attempts past the 30 checks) and the person's try.
    let refused = |d: &str| -> u32 {
        d.split("; ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let name_locks: Vec<u32> = ended
        .iter()
        .filter_map(|e| e.detail.as_deref())
        .filter(|d| d.contains("from every address"))
        .map(refused)
        .collect();
    assert_eq!(name_locks.len(), 2, "{ended:?}");
    assert!(name_locks.iter().all(|n| *n >= 11), "{name_locks:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn strangers_cannot_keep_someone_locked_out_embedded() {
    strangers_on(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn strangers_cannot_keep_someone_locked_out_redis() {
    strangers_on(Backend::Redis).await;
}

/// An administrator clears a lock through the API; a new pass clears it too.
async fn clearing_on(backend: Backend) {
    let store = StoreHandle::new(backend);
    let app = spawn(backend, &store).await;
    let (victim, passcode) =
        provision(&app, "typo@example.com", json!({"isUsableOnce": false})).await;
    let attempt = Attempt::new(&app).await;
    let lock_out = || async {
        for i in 0..11 {
            attempt
                .tap("198.51.100.9", "typo@example.com", &format!("TYPO{i:04}"))
                .await;
        }
        let res = attempt
            .tap("198.51.100.9", "typo@example.com", &passcode)
            .await;
        assert_eq!(res.status, 429, "{}", res.body);
    };
    lock_out().await;
    let token = app.hr_token().await;
    let (status, body) = app
        .api(
            Method::DELETE,
            &format!("/users/{victim}/signInLockout"),
            &token,
            None,
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let ok = attempt
        .tap("198.51.100.9", "typo@example.com", &passcode)
        .await;
    assert_eq!(ok.status, 303, "cleared by the administrator: {}", ok.body);
    let log = events(&app).await;
    assert!(log.iter().any(|e| e.event_type.as_str() == "tap.unlocked"
        && e.actor.id == HR_ID
        && e.target.as_ref().is_some_and(|t| t.id == victim)));

    // A new pass gives a fresh start.
    lock_out().await;
    let (status, created) = app
        .api(
            Method::POST,
            &format!("/users/{victim}/authentication/temporaryAccessPassMethods"),
            &token,
            Some(json!({"isUsableOnce": false})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let fresh = created["temporaryAccessPass"].as_str().unwrap();
    let ok = attempt.tap("198.51.100.9", "typo@example.com", fresh).await;
    assert_eq!(ok.status, 303, "a new pass clears the lock: {}", ok.body);

    // The lock resource needs the methods permission and a real user.
    let reader = app.token(READER_ID, READER_SECRET).await;
    let (status, _) = app
        .api(
            Method::DELETE,
            &format!("/users/{victim}/signInLockout"),
            &reader,
            None,
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = app
        .api(
            Method::DELETE,
            "/users/nobody@example.com/signInLockout",
            &token,
            None,
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn administrators_and_new_passes_clear_locks_embedded() {
    clearing_on(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn administrators_and_new_passes_clear_locks_redis() {
    clearing_on(Backend::Redis).await;
}

/// VmRSS or VmHWM (peak) of a process, in KiB.
fn memory_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// 256 pass checks at once from one address: the server checks a few at a
/// time, turns the rest away at once with 503 and `Retry-After`, adds well
/// under 512 MiB of memory, and keeps answering other requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_pass_checks_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = dir.path().join("onramp.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\nissuer = \"http://localhost:{port}\"\n\
             [store]\nurl = \"embedded:{}\"\n[log]\nlevel = \"warn\"\n\
             [[clients]]\nid = \"{HR_ID}\"\nsecret = \"{HR_SECRET}\"\ngrant_types = [\"client_credentials\"]\n\
             permissions = [\"User.ReadWrite.All\", \"UserAuthenticationMethod.ReadWrite.All\"]\n",
            dir.path().join("db.redb").display()
        ),
    )
    .unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_onramp"));
    for (k, _) in std::env::vars() {
        if k.starts_with("ONRAMP_") {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd
        .args(["--config", config.to_str().unwrap(), "serve"])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let pid = child.id();
    let base = format!("http://localhost:{port}");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await
            && r.status() == 200
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "onramp did not start");
        if let Some(status) = child.try_wait().unwrap() {
            panic!("onramp exited: {status}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let _guard = Kill(child);
    let token: Value = http
        .post(format!("{base}/token"))
        .basic_auth(HR_ID, Some(HR_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();
    let user: Value = http
        .post(format!("{base}/api/v1/users"))
        .bearer_auth(&token)
        .json(&json!({"userPrincipalName": "load@example.com", "displayName": "Load"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = user["id"].as_str().unwrap();
    let created = http
        .post(format!(
            "{base}/api/v1/users/{id}/authentication/temporaryAccessPassMethods"
        ))
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);

    let browser = Browser::new(&base);
    let page = browser.get("/signin").await;
    let csrf = page.field("csrf");
    // Warm up (the first check allocates argon2's memory once).
    browser
        .post_form(
            "/signin/tap",
            &[
                ("csrf", &csrf),
                ("r", ""),
                ("username", "warm@example.com"),
                ("passcode", "WARMUP22"),
            ],
        )
        .await;
    let before = memory_kib(pid, "VmRSS:");
    let mut tasks = Vec::new();
    for i in 0..256 {
        let http = browser.http.clone();
        let (base, csrf) = (base.clone(), csrf.clone());
        tasks.push(tokio::spawn(async move {
            let res = http
                .post(format!("{base}/signin/tap"))
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("r", ""),
                    // Names of nobody: every one would be checked (against
                    // the dummy hash) if the server let it.
                    ("username", &format!("guess{i}@example.com")),
                    ("passcode", "GUESS222"),
                ])
                .send()
                .await
                .unwrap();
            let retry = res.headers().get("retry-after").is_some();
            (res.status().as_u16(), retry)
        }));
    }
    // Meanwhile the server keeps answering.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let started = std::time::Instant::now();
    let health = http.get(format!("{base}/healthz")).send().await.unwrap();
    let health_took = started.elapsed();
    assert_eq!(health.status(), 200);
    let mut busy = 0;
    for t in tasks {
        let (status, retry) = t.await.unwrap();
        assert!(matches!(status, 401 | 429 | 503), "{status}");
        if status == 503 {
            assert!(retry, "503 carries Retry-After");
            busy += 1;
        }
    }
    let peak = memory_kib(pid, "VmHWM:");
    eprintln!(
        "burst of 256: {busy} turned away, {} MiB added at the peak, /healthz in {health_took:?}",
        peak.saturating_sub(before) / 1024
    );
    assert!(busy > 0, "a burst this wide is partly turned away");
    assert!(
        peak.saturating_sub(before) < 512 * 1024,
        "the burst added {} MiB",
        peak.saturating_sub(before) / 1024
    );
    assert!(
        health_took < std::time::Duration::from_secs(2),
        "/healthz took {health_took:?} during the burst"
    );
}
