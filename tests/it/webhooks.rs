//! Webhooks: the admin API, signed deliveries to a real HTTP receiver,
//! retries with the same `webhook-id`, restart survival and two instances
//! on one Redis. Signatures are checked here with aws-lc's HMAC directly
//! (not Onramp's signing code); the browser test checks them with the
//! `standardwebhooks` npm package.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use onramp::clock::ManualClock;
use onramp::domain::permission::Permission;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{BACKENDS, Backend, StoreHandle, TestApp, client, free_port};

const HOOKS_ID: &str = "hooks-admin";
const HOOKS_SECRET: &str = "hooks-admin-secret-0123456789";

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// A real HTTP receiver on 127.0.0.1 that answers 500 to its first
/// `fail_first` requests and 204 afterwards.
pub struct Receiver {
    pub port: u16,
    pub got: Arc<Mutex<Vec<Received>>>,
    handle: actix_web::dev::ServerHandle,
}

impl Receiver {
    pub fn start(fail_first: usize) -> Self {
        Self::start_on(TcpListener::bind("127.0.0.1:0").unwrap(), fail_first)
    }

    pub fn start_on(listener: TcpListener, fail_first: usize) -> Self {
        let port = listener.local_addr().unwrap().port();
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let seen = got.clone();
        let server = HttpServer::new(move || {
            let seen = seen.clone();
            App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
                let seen = seen.clone();
                async move {
                    let h = |n: &str| {
                        req.headers()
                            .get(n)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned()
                    };
                    let mut all = seen.lock().unwrap();
                    all.push(Received {
                        id: h("webhook-id"),
                        timestamp: h("webhook-timestamp"),
                        signature: h("webhook-signature"),
                        body: String::from_utf8(body.to_vec()).unwrap(),
                    });
                    if all.len() <= fail_first {
                        HttpResponse::InternalServerError().finish()
                    } else {
                        HttpResponse::NoContent().finish()
                    }
                }
            }))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self { port, got, handle }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    pub fn all(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// The requests of type `t`.
    pub fn of_type(&self, t: &str) -> Vec<Received> {
        self.all()
            .into_iter()
            .filter(|r| r.json()["type"] == t)
            .collect()
    }

    /// The requests of type `t` about the user `user_id`.
    pub fn about(&self, t: &str, user_id: &str) -> Vec<Received> {
        self.of_type(t)
            .into_iter()
            .filter(|r| r.json()["data"]["user"]["id"] == user_id)
            .collect()
    }

    /// Waits (up to 10 s) until `n` requests of type `t` have arrived.
    pub async fn wait_for(&self, t: &str, n: usize) -> Vec<Received> {
        self.wait_until(t, n, |r| self.of_type(r)).await
    }

    /// [`Self::wait_for`] for the requests about one user.
    pub async fn wait_about(&self, t: &str, user_id: &str, n: usize) -> Vec<Received> {
        self.wait_until(t, n, |r| self.about(r, user_id)).await
    }

    async fn wait_until(
        &self,
        t: &str,
        n: usize,
        select: impl Fn(&str) -> Vec<Received>,
    ) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = select(t);
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "waited for {n} {t} webhook(s), got {}: {:?}",
                got.len(),
                self.all()
                    .iter()
                    .map(|r| r.json()["type"].clone())
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }
}

/// Checks a Standard Webhooks signature with aws-lc's HMAC directly.
pub fn assert_signed(r: &Received, secret: &str) {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"))
        .unwrap();
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &key);
    let signed = format!("{}.{}.{}", r.id, r.timestamp, r.body);
    let expected = STANDARD.encode(aws_lc_rs::hmac::sign(&key, signed.as_bytes()).as_ref());
    let sigs: Vec<&str> = r
        .signature
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .collect();
    assert!(
        sigs.contains(&expected.as_str()),
        "signature {:?} does not verify for {}",
        r.signature,
        r.id
    );
}

fn with_hooks(s: &mut onramp::config::Settings) {
    s.webhooks.poll_ms = 20;
    s.clients.push(client(
        HOOKS_ID,
        HOOKS_SECRET,
        vec![
            Permission::WebhookReadWriteAll,
            Permission::UserReadWriteAll,
            Permission::UserAuthenticationMethodReadWriteAll,
        ],
    ));
}

async fn spawn(store: &StoreHandle, prefix: &str, clock: ManualClock) -> TestApp {
    TestApp::spawn_with(store.url(), prefix, clock, with_hooks).await
}

async fn subscribe(app: &TestApp, token: &str, url: &str, events: &[&str]) -> (String, String) {
    let (s, body) = app
        .api(
            Method::POST,
            "/webhooks",
            token,
            Some(json!({"url": url, "events": events, "description": "test receiver"})),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    (
        body["id"].as_str().unwrap().to_owned(),
        body["secret"].as_str().unwrap().to_owned(),
    )
}

async fn create_user(app: &TestApp, token: &str, upn: &str) -> String {
    let (s, user) = app
        .api(
            Method::POST,
            "/users",
            token,
            Some(json!({"userPrincipalName": upn, "displayName": upn})),
        )
        .await;
    assert_eq!(s, 201, "{user}");
    user["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn subscriptions_through_the_admin_api() {
    for backend in BACKENDS {
        let store = StoreHandle::new(backend);
        let app = spawn(&store, "wh", ManualClock::starting_now()).await;
        let token = app.token(HOOKS_ID, HOOKS_SECRET).await;
        let (s, made) = app
            .api(
                Method::POST,
                "/webhooks",
                &token,
                Some(json!({"url": "https://hooks.example.com/in", "events": ["tap.used", "onboarding.completed"], "description": "HR"})),
            )
            .await;
        assert_eq!(s, 201, "{backend:?}: {made}");
        let id = made["id"].as_str().unwrap();
        let secret = made["secret"].as_str().unwrap();
        assert!(secret.starts_with("whsec_"), "{secret}");
        assert_eq!(STANDARD.decode(&secret[6..]).unwrap().len(), 32);
        assert_eq!(made["includePasscodes"], false);
        assert!(
            made["@odata.context"]
                .as_str()
                .unwrap()
                .ends_with("$metadata#webhooks/$entity")
        );

        // The secret is shown once: never in a read.
        let (s, got) = app
            .api(Method::GET, &format!("/webhooks/{id}"), &token, None)
            .await;
        assert_eq!(s, 200);
        assert!(got.get("secret").is_none(), "{got}");
        assert_eq!(got["events"], json!(["tap.used", "onboarding.completed"]));
        let (s, list) = app.api(Method::GET, "/webhooks", &token, None).await;
        assert_eq!(s, 200);
        assert_eq!(list["value"].as_array().unwrap().len(), 1);
        assert!(!list.to_string().contains("whsec_"));

        // Bad input is a 400 naming what is wrong.
        for (body, named) in [
            (
                json!({"url": "http://hooks.example.com/", "events": ["tap.used"]}),
                "url",
            ),
            (
                json!({"url": "ftp://localhost/", "events": ["tap.used"]}),
                "url",
            ),
            (
                json!({"url": "https://h.example/", "events": ["tap.nope"]}),
                "events[0]",
            ),
            (json!({"url": "https://h.example/", "events": []}), "events"),
            (json!({"events": ["tap.used"]}), "url"),
            (
                json!({"url": "https://h.example/", "events": ["tap.used"], "secret": "mine"}),
                "secret",
            ),
        ] {
            let (s, err) = app
                .api(Method::POST, "/webhooks", &token, Some(body.clone()))
                .await;
            assert_eq!(s, 400, "{body}: {err}");
            let message = err["error"]["message"].as_str().unwrap();
            assert!(message.contains(named), "{body}: {message}");
        }
        let (s, _) = app.api(Method::GET, "/webhooks?$top=1", &token, None).await;
        assert_eq!(s, 400);

        // Without the permission: 403.
        let hr = app.hr_token().await;
        let (s, _) = app.api(Method::GET, "/webhooks", &hr, None).await;
        assert_eq!(s, 403);

        // Creation and deletion are audited.
        let (s, _) = app
            .api(Method::DELETE, &format!("/webhooks/{id}"), &token, None)
            .await;
        assert_eq!(s, 204);
        let (s, err) = app
            .api(Method::GET, &format!("/webhooks/{id}"), &token, None)
            .await;
        assert_eq!(s, 404, "{err}");
        let (s, _) = app
            .api(Method::DELETE, &format!("/webhooks/{id}"), &token, None)
            .await;
        assert_eq!(s, 404);
        let page = app
            .store
            .list_audit(&Default::default(), None, 50)
            .await
            .unwrap();
        let types: Vec<&str> = page.events.iter().map(|e| e.event_type.as_str()).collect();
        assert!(
            types.contains(&"webhook.created") && types.contains(&"webhook.deleted"),
            "{types:?}"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn a_receiver_that_fails_twice_gets_the_event_on_the_third_attempt() {
    for backend in BACKENDS {
        let store = StoreHandle::new(backend);
        let clock = ManualClock::starting_now();
        let app = spawn(&store, "wh", clock.clone()).await;
        let token = app.token(HOOKS_ID, HOOKS_SECRET).await;
        let receiver = Receiver::start(2);
        let (hook, secret) = subscribe(&app, &token, &receiver.url(), &["user.created"]).await;
        let user_id = create_user(&app, &token, "ada@example.com").await;

        receiver.wait_for("user.created", 1).await;
        // Retries wait 5 s (plus up to a quarter), then 10 s: move time.
        clock.advance(time::Duration::seconds(7));
        receiver.wait_for("user.created", 2).await;
        clock.advance(time::Duration::seconds(13));
        let got = receiver.wait_for("user.created", 3).await;
        assert_eq!(got.len(), 3, "{backend:?}");
        for r in &got {
            assert_eq!(r.id, got[0].id, "a retry carries the same webhook-id");
            assert_eq!(r.body, got[0].body, "and the same body");
            assert_signed(r, &secret);
        }
        assert_ne!(
            got[0].timestamp, got[2].timestamp,
            "each attempt is signed anew"
        );
        let body = got[0].json();
        assert_eq!(body["data"]["user"]["id"], user_id.as_str());
        assert_eq!(body["data"]["user"]["userPrincipalName"], "ada@example.com");
        assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));

        // No more attempts once delivered, however long we wait.
        clock.advance(time::Duration::hours(2));
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(receiver.of_type("user.created").len(), 3);
        let token = app.token(HOOKS_ID, HOOKS_SECRET).await;

        let list = deliveries_when(&app, &token, &hook, |d| d["status"] == "delivered").await;
        let d = &list["value"][0];
        assert_eq!(d["attempts"], 3);
        assert_eq!(d["id"], got[0].id.as_str());

        // "Send again": the same id and body once more.
        let (s, _) = app
            .api(
                Method::POST,
                &format!("/webhooks/{hook}/deliveries/{}/redeliver", got[0].id),
                &token,
                None,
            )
            .await;
        assert_eq!(s, 204);
        let again = receiver.wait_for("user.created", 4).await;
        assert_eq!(again[3].id, got[0].id);
        assert_eq!(again[3].body, got[0].body);
        receiver.stop().await;
        app.stop().await;
    }
}

#[tokio::test]
async fn each_event_is_delivered_once_per_subscription_and_only_if_wanted() {
    for backend in BACKENDS {
        let store = StoreHandle::new(backend);
        let clock = ManualClock::starting_now();
        let app = spawn(&store, "wh", clock.clone()).await;
        let token = app.token(HOOKS_ID, HOOKS_SECRET).await;
        let a = Receiver::start(0);
        let b = Receiver::start(0);
        let (_, secret_a) = subscribe(
            &app,
            &token,
            &a.url(),
            &["user.created", "tap.created", "tap.expired", "user.deleted"],
        )
        .await;
        subscribe(&app, &token, &b.url(), &["user.deleted"]).await;
        let user_id = create_user(&app, &token, "grace@example.com").await;
        let (s, tap) = app
            .api(
                Method::POST,
                &format!("/users/{user_id}/authentication/temporaryAccessPassMethods"),
                &token,
                Some(json!({"lifetimeInMinutes": 60})),
            )
            .await;
        assert_eq!(s, 201, "{tap}");
        let created = a.wait_for("tap.created", 1).await;
        assert!(
            !created[0]
                .body
                .contains(tap["temporaryAccessPass"].as_str().unwrap()),
            "no pass in a body"
        );
        // The pass ends unused: tap.expired, once.
        clock.advance(time::Duration::minutes(61));
        // (The bootstrap administrator's pass expires too.)
        let expired = a.wait_about("tap.expired", &user_id, 1).await;
        assert_signed(&expired[0], &secret_a);
        let token = app.token(HOOKS_ID, HOOKS_SECRET).await;
        let (s, _) = app
            .api(Method::DELETE, &format!("/users/{user_id}"), &token, None)
            .await;
        assert_eq!(s, 204);
        a.wait_for("user.deleted", 1).await;
        b.wait_for("user.deleted", 1).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut ids: Vec<String> = a
            .all()
            .into_iter()
            .filter(|r| r.json()["data"]["user"]["id"] == user_id.as_str())
            .map(|r| r.id)
            .collect();
        assert_eq!(
            ids.len(),
            4,
            "{backend:?}: user.created, tap.created, tap.expired, user.deleted"
        );
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 4);
        assert_eq!(b.all().len(), 1, "b wants user.deleted only");
        assert_ne!(
            a.of_type("user.deleted")[0].id,
            b.all()[0].id,
            "one delivery per subscription"
        );
        a.stop().await;
        b.stop().await;
        app.stop().await;
    }
}

/// A pass used before its end expires without a `tap.expired`.
#[tokio::test]
async fn a_used_or_replaced_pass_does_not_expire_unused() {
    let store = StoreHandle::new(Backend::Embedded);
    let clock = ManualClock::starting_now();
    let app = spawn(&store, "wh", clock.clone()).await;
    let token = app.token(HOOKS_ID, HOOKS_SECRET).await;
    let r = Receiver::start(0);
    subscribe(&app, &token, &r.url(), &["tap.created", "tap.expired"]).await;
    let user_id = create_user(&app, &token, "lin@example.com").await;
    let taps = format!("/users/{user_id}/authentication/temporaryAccessPassMethods");
    for _ in 0..2 {
        let (s, _) = app
            .api(
                Method::POST,
                &taps,
                &token,
                Some(json!({"lifetimeInMinutes": 60})),
            )
            .await;
        assert_eq!(s, 201);
    }
    r.wait_for("tap.created", 2).await;
    clock.advance(time::Duration::minutes(61));
    // Only the second (current) pass expires; the replaced one does not.
    r.wait_about("tap.expired", &user_id, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let expired = r.about("tap.expired", &user_id);
    assert_eq!(
        expired.len(),
        1,
        "{:?}",
        expired.iter().map(|e| &e.body).collect::<Vec<_>>()
    );
    app.stop().await;
}

#[tokio::test]
async fn a_stopped_receivers_events_survive_a_restart() {
    for backend in BACKENDS {
        let store = StoreHandle::new(backend);
        let clock = ManualClock::starting_now();
        // The receiver's port, kept free until it starts.
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}/hook");
        let secret = {
            let app = spawn(&store, "wh", clock.clone()).await;
            let token = app.token(HOOKS_ID, HOOKS_SECRET).await;
            let (hook, secret) = subscribe(&app, &token, &url, &["user.created"]).await;
            create_user(&app, &token, "kept@example.com").await;
            // Wait for the failed first attempt.
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let (_, list) = app
                    .api(
                        Method::GET,
                        &format!("/webhooks/{hook}/deliveries"),
                        &token,
                        None,
                    )
                    .await;
                if list["value"][0]["attempts"] == 1 {
                    assert_eq!(list["value"][0]["status"], "pending");
                    assert!(
                        list["value"][0]["lastError"]
                            .as_str()
                            .unwrap()
                            .contains("connect"),
                        "{list}"
                    );
                    break;
                }
                assert!(Instant::now() < deadline, "no failed attempt: {list}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            app.handle.stop(true).await;
            secret
        };
        if backend == Backend::Embedded {
            wait_until_released(&store).await;
        }
        let receiver = Receiver::start_on(TcpListener::bind(("127.0.0.1", port)).unwrap(), 0);
        let app = spawn(&store, "wh", clock.clone()).await;
        clock.advance(time::Duration::seconds(7));
        let got = receiver.wait_for("user.created", 1).await;
        assert_signed(&got[0], &secret);
        assert_eq!(
            got[0].json()["data"]["user"]["userPrincipalName"],
            "kept@example.com"
        );
        receiver.stop().await;
        app.stop().await;
    }
}

/// The subscription's deliveries once the newest satisfies `done` (the
/// worker writes an outcome just after the receiver answers).
async fn deliveries_when(
    app: &TestApp,
    token: &str,
    hook: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (s, list) = app
            .api(
                Method::GET,
                &format!("/webhooks/{hook}/deliveries"),
                token,
                None,
            )
            .await;
        assert_eq!(s, 200, "{list}");
        if done(&list["value"][0]) {
            return list;
        }
        assert!(Instant::now() < deadline, "{list}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_until_released(store: &StoreHandle) {
    let StoreHandle::Embedded(dir) = store else {
        return;
    };
    let path = dir.path().join("onramp.redb");
    for _ in 0..50 {
        match onramp::store::embedded::EmbeddedStore::open(&path) {
            Ok(s) => {
                drop(s);
                return;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("the embedded store was not released");
}

#[tokio::test]
async fn two_instances_on_one_redis_deliver_each_event_once() {
    let store = StoreHandle::new(Backend::Redis);
    let clock = ManualClock::starting_now();
    let a = spawn(&store, "shared", clock.clone()).await;
    let b = spawn(&store, "shared", clock.clone()).await;
    let token_a = a.token(HOOKS_ID, HOOKS_SECRET).await;
    let token_b = b.token(HOOKS_ID, HOOKS_SECRET).await;
    let receiver = Receiver::start(0);
    let (_, secret) = subscribe(&a, &token_a, &receiver.url(), &["user.created"]).await;
    const N: usize = 30;
    for i in 0..N {
        let (app, token) = if i % 2 == 0 {
            (&a, &token_a)
        } else {
            (&b, &token_b)
        };
        create_user(app, token, &format!("twin{i}@example.com")).await;
    }
    receiver.wait_for("user.created", N).await;
    // Both workers keep polling: nothing arrives twice.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let got = receiver.of_type("user.created");
    let mut per_id: HashMap<String, usize> = HashMap::new();
    for r in &got {
        assert_signed(r, &secret);
        *per_id.entry(r.id.clone()).or_default() += 1;
    }
    assert_eq!(per_id.len(), N);
    assert!(per_id.values().all(|&n| n == 1), "{per_id:?}");
    receiver.stop().await;
    a.stop().await;
    b.stop().await;
}

/// The portal: a subscription made there shows its secret once; its page
/// lists deliveries with status and attempts and sends one again; deletion
/// asks first.
#[tokio::test]
async fn the_portal_manages_subscriptions_and_shows_deliveries() {
    let store = StoreHandle::new(Backend::Embedded);
    let app = spawn(&store, "wh", ManualClock::starting_now()).await;
    let admin = crate::portal::admin_browser(&app).await;
    let receiver = Receiver::start(0);

    let list = admin.get("/admin/webhooks").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.contains("No subscriptions yet."));
    assert!(
        list.body.contains("aria-current=\"page\">Webhooks</a>"),
        "the nav marks the section"
    );
    let csrf = list.field("csrf");
    // A bad URL is refused with what to fix, and nothing is made.
    let refused = admin
        .post_form(
            "/admin/webhooks",
            &[
                ("csrf", &csrf),
                ("url", "http://hooks.example.com/"),
                ("event", "user.created"),
            ],
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("https"), "{}", refused.body);
    let url = receiver.url();
    let posted = admin
        .post_form(
            "/admin/webhooks",
            &[
                ("csrf", &csrf),
                ("url", &url),
                ("description", "HR tracker"),
                ("event", "user.created"),
                ("event", "onboarding.completed"),
            ],
        )
        .await;
    assert_eq!(posted.status, 303, "{}", posted.body);
    let shown_at = posted.location.clone().unwrap();
    assert!(shown_at.starts_with("/admin/shown/"), "{shown_at}");
    let shown = admin.follow(posted).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    let start = shown.body.find("<code id=\"webhook-secret\">").unwrap() + 26;
    let secret = shown.body[start..start + shown.body[start..].find('<').unwrap()].to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    let again = admin.get(&shown_at).await;
    assert_eq!(again.status, 410);
    assert!(!again.body.contains(&secret));
    let list = admin.get("/admin/webhooks").await;
    assert!(
        list.body.contains(&url) && !list.body.contains(&secret),
        "{}",
        list.body
    );
    let hook_path = link_to_hook(&list.body);

    let token = app.token(HOOKS_ID, HOOKS_SECRET).await;
    create_user(&app, &token, "portal.hire@example.com").await;
    let got = receiver.wait_for("user.created", 1).await;
    assert_signed(&got[0], &secret);
    // The worker writes the outcome just after the receiver answers.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let detail = admin.get(&hook_path).await;
        assert_eq!(detail.status, 200, "{}", detail.body);
        assert!(detail.body.contains(&got[0].id), "{}", detail.body);
        if detail.body.contains("<td>delivered</td><td>1</td>") {
            break;
        }
        assert!(Instant::now() < deadline, "{}", detail.body);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let resend = format!("{hook_path}/deliveries/{}/redeliver", got[0].id);
    let without_csrf = admin.post_form(&resend, &[]).await;
    assert_eq!(without_csrf.status, 403);
    let resent = admin.post_form(&resend, &[("csrf", &csrf)]).await;
    assert_eq!(resent.status, 303, "{}", resent.body);
    let again = receiver.wait_for("user.created", 2).await;
    assert_eq!(again[1].id, got[0].id);
    assert_signed(&again[1], &secret);

    let confirm = admin.get(&format!("{hook_path}/delete")).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains("Delete this webhook subscription?"));
    let id = hook_path.rsplit('/').next().unwrap();
    let unconfirmed = admin
        .post_form(
            &format!("{hook_path}/delete"),
            &[("csrf", &csrf), ("item", id)],
        )
        .await;
    assert_eq!(unconfirmed.status, 303);
    assert!(
        app.store.get_webhook(id).await.unwrap().is_some(),
        "not without the confirmation"
    );
    let deleted = admin
        .post_form(
            &format!("{hook_path}/delete"),
            &[("csrf", &csrf), ("item", id), ("confirm", "yes")],
        )
        .await;
    assert_eq!(deleted.status, 303, "{}", deleted.body);
    assert!(app.store.get_webhook(id).await.unwrap().is_none());
    receiver.stop().await;
    app.stop().await;
}

fn link_to_hook(body: &str) -> String {
    let start = body.find("<a href=\"/admin/webhooks/").unwrap() + 9;
    body[start..start + body[start..].find('"').unwrap()].to_owned()
}

/// On a Redis Cluster: every webhook key shares the audit log's slot, so
/// the scripts that log an event and queue its deliveries run there too.
#[tokio::test]
async fn deliveries_work_on_a_redis_cluster() {
    let store = StoreHandle::new(Backend::RedisCluster);
    let clock = ManualClock::starting_now();
    let app = spawn(&store, "whc", clock.clone()).await;
    let token = app.token(HOOKS_ID, HOOKS_SECRET).await;
    let receiver = Receiver::start(1);
    let (hook, secret) = subscribe(
        &app,
        &token,
        &receiver.url(),
        &["user.created", "user.deleted"],
    )
    .await;
    let user = create_user(&app, &token, "cluster@example.com").await;
    receiver.wait_for("user.created", 1).await;
    clock.advance(time::Duration::seconds(7));
    let got = receiver.wait_for("user.created", 2).await;
    assert_eq!(got[0].id, got[1].id);
    assert_signed(&got[1], &secret);
    let (s, _) = app
        .api(Method::DELETE, &format!("/users/{user}"), &token, None)
        .await;
    assert_eq!(s, 204);
    receiver.wait_for("user.deleted", 1).await;
    let list = deliveries_when(&app, &token, &hook, |d| d["status"] == "delivered").await;
    assert_eq!(list["value"].as_array().unwrap().len(), 2, "{list}");
    let (s, _) = app
        .api(Method::DELETE, &format!("/webhooks/{hook}"), &token, None)
        .await;
    assert_eq!(s, 204);
    receiver.stop().await;
    app.stop().await;
}

/// `onboarding.completed` is the first passkey after a pass only: a second
/// passkey, registered after another pass, is `passkey.registered` alone.
#[tokio::test]
async fn onboarding_completes_once_with_the_first_passkey() {
    let store = StoreHandle::new(Backend::Redis);
    let app = spawn(&store, "wh", ManualClock::starting_now()).await;
    let token = app.token(HOOKS_ID, HOOKS_SECRET).await;
    let receiver = Receiver::start(0);
    let (_, secret) = subscribe(
        &app,
        &token,
        &receiver.url(),
        &["passkey.registered", "onboarding.completed"],
    )
    .await;
    let upn = "onboarded@example.com";
    let (user_id, passcode) = crate::oidc_flow::provision(&app, upn, json!({})).await;
    let rp = crate::oidc_flow::Rp::discover(&app, crate::helpers::RP_ID).await;
    crate::oidc_flow::signed_in_browser(&app, &rp, upn, &passcode).await;
    let done = receiver
        .wait_about("onboarding.completed", &user_id, 1)
        .await;
    assert_signed(&done[0], &secret);
    receiver.wait_about("passkey.registered", &user_id, 1).await;

    // Another pass, another device: a second passkey.
    let (s, tap) = app
        .api(
            Method::POST,
            &format!("/users/{user_id}/authentication/temporaryAccessPassMethods"),
            &token,
            Some(json!({})),
        )
        .await;
    assert_eq!(s, 201, "{tap}");
    crate::oidc_flow::signed_in_browser(
        &app,
        &rp,
        upn,
        tap["temporaryAccessPass"].as_str().unwrap(),
    )
    .await;
    receiver.wait_about("passkey.registered", &user_id, 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.about("onboarding.completed", &user_id).len(), 1);
    receiver.stop().await;
    app.stop().await;
}
