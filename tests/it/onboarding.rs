//! Passes scheduled for the hire date: the onboarding policy's API, the
//! scheduler with a moved clock (issued at its time and not before, once
//! across runs, concurrent runs and two instances on one Redis, moved by a
//! changed hire date, never replacing a pass), and the manager's mail
//! through a real SMTP server (aiosmtpd, STARTTLS) whose pass signs the
//! person in on the hire date and not a minute before.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration as StdDuration, Instant};

use onramp::clock::ManualClock;
use onramp::config::{Settings, SmtpSettings, SmtpTls};
use onramp::domain::audit::{AuditEventType, AuditFilter, Outcome};
use onramp::domain::permission::Permission;
use onramp::service::onboarding::{OnboardingService, Run};
use reqwest::Method;
use serde_json::json;
use time::OffsetDateTime;
use time::macros::datetime;

use crate::helpers::*;
use crate::oidc_flow::{Rp, signed_in_browser};

/// Before any pass is due: hire dates are in January 2027, Berlin is UTC+1.
const T0: OffsetDateTime = datetime!(2027-01-10 12:00 UTC);

async fn spawn(
    store_url: String,
    prefix: &str,
    clock: &ManualClock,
    smtp: SmtpSettings,
) -> TestApp {
    TestApp::spawn_with(store_url, prefix, clock.clone(), |s: &mut Settings| {
        // Runs happen when the test says so.
        s.onboarding.scheduler_seconds = 0;
        s.smtp = Some(smtp);
    })
    .await
}

/// A mail server where nothing listens: deliveries fail (and say so).
fn nowhere() -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".into(),
        port: free_port(),
        from: "Onramp <onramp@example.com>".into(),
        username: None,
        password: None,
        tls: SmtpTls::None,
        ca_file: None,
        timeout_seconds: 2,
    }
}

async fn run(app: &TestApp) -> Run {
    OnboardingService::new(app.state.ctx.clone())
        .run_all()
        .await
        .unwrap()
}

async fn policy_token(app: &TestApp) -> String {
    app.token(POLICY_ID, POLICY_SECRET).await
}

async fn enable(app: &TestApp) {
    enable_with(app, json!({"email": true, "webhook": false})).await;
}

/// Turns the policy on (passes two days ahead, 08:00 Berlin, 8 hours)
/// with `delivery`.
async fn enable_with(app: &TestApp, delivery: serde_json::Value) {
    let token = policy_token(app).await;
    let (status, body) = app
        .api(
            Method::PATCH,
            "/policies/onboardingPolicy",
            &token,
            Some(json!({
                "state": "enabled",
                "issueDaysBeforeHire": 2,
                "validFromLocalTime": "08:00",
                "timeZone": "Europe/Berlin",
                "lifetimeInMinutes": 480,
                "isUsableOnce": false,
                "delivery": delivery,
            })),
        )
        .await;
    assert_eq!(status, 204, "{body}");
}

/// Creates a user through the admin API; returns the id.
async fn hire(app: &TestApp, upn: &str, hire_date: Option<&str>) -> String {
    let token = app.hr_token().await;
    let mut body =
        json!({"userPrincipalName": upn, "displayName": format!("New {upn}"), "mail": upn});
    if let Some(d) = hire_date {
        body["employeeHireDate"] = json!(d);
    }
    let (status, user) = app.api(Method::POST, "/users", &token, Some(body)).await;
    assert_eq!(status, 201, "{user}");
    user["id"].as_str().unwrap().to_owned()
}

async fn events(
    app: &TestApp,
    user_id: &str,
    t: AuditEventType,
) -> Vec<onramp::domain::audit::AuditEvent> {
    let filter = AuditFilter {
        target_id: Some(user_id.into()),
        event_type: Some(t),
        ..AuditFilter::default()
    };
    app.store
        .list_audit(&filter, None, 100)
        .await
        .unwrap()
        .events
}

async fn policy_api_on(backend: Backend) {
    let store = StoreHandle::new(backend);
    let clock = ManualClock::new(T0);
    let app = spawn(store.url(), &format!("t{}", free_port()), &clock, nowhere()).await;
    let token = policy_token(&app).await;
    let (status, got) = app
        .api(Method::GET, "/policies/onboardingPolicy", &token, None)
        .await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["state"], "disabled");
    assert!(
        got["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("/$metadata#policies/onboardingPolicy/$entity")
    );
    enable(&app).await;
    let (_, got) = app
        .api(Method::GET, "/policies/onboardingPolicy", &token, None)
        .await;
    assert_eq!(got["state"], "enabled");
    assert_eq!(got["timeZone"], "Europe/Berlin");
    assert_eq!(got["issueDaysBeforeHire"], 2);
    assert_eq!(got["delivery"], json!({"email": true, "webhook": false}));

    // Every bad field is a 400 that names it, and changes nothing.
    for (body, named) in [
        (json!({"lifetimeInMinutes": 481}), "lifetimeInMinutes"),
        (json!({"timeZone": "Mars/Olympus_Mons"}), "timeZone"),
        (json!({"validFromLocalTime": "8:00"}), "validFromLocalTime"),
        (json!({"issueDaysBeforeHire": 31}), "issueDaysBeforeHire"),
        (json!({"delivery": {"email": false}}), "delivery"),
        (json!({"delivery": {"sms": true}}), "sms"),
        (json!({"reminderDays": 1}), "reminderDays"),
        (json!({"state": null}), "state"),
    ] {
        let (status, err) = app
            .api(
                Method::PATCH,
                "/policies/onboardingPolicy",
                &token,
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, 400, "{body} -> {err}");
        let message = err["error"]["message"].as_str().unwrap();
        assert!(message.contains(named), "{body} -> {message}");
    }
    // The TAP policy's bounds count: one-time passes only makes a
    // multi-use onboarding pass a 400.
    let (status, _) = app
        .api(
            Method::PATCH,
            "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass",
            &token,
            Some(json!({"isUsableOnce": true})),
        )
        .await;
    assert_eq!(status, 204);
    let (status, err) = app
        .api(
            Method::PATCH,
            "/policies/onboardingPolicy",
            &token,
            Some(json!({"issueDaysBeforeHire": 3})),
        )
        .await;
    assert_eq!(status, 400, "{err}");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("isUsableOnce")
    );
    let (_, got) = app
        .api(Method::GET, "/policies/onboardingPolicy", &token, None)
        .await;
    assert_eq!(got["issueDaysBeforeHire"], 2, "nothing half-written");

    // Someone without the policy permission may not read it.
    let hr = app.hr_token().await;
    let (status, _) = app
        .api(Method::GET, "/policies/onboardingPolicy", &hr, None)
        .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn onboarding_policy_api_embedded() {
    policy_api_on(Backend::Embedded).await;
}

#[tokio::test]
async fn onboarding_policy_api_redis() {
    policy_api_on(Backend::Redis).await;
}

async fn scheduler_on(backend: Backend) {
    let store = StoreHandle::new(backend);
    let clock = ManualClock::new(T0);
    let app = spawn(store.url(), &format!("t{}", free_port()), &clock, nowhere()).await;
    let ada = hire(&app, "ada@example.com", Some("2027-01-15T00:00:00Z")).await;
    let _no_date = hire(&app, "old@example.com", None).await;

    // Disabled (the default): nothing, even when due.
    clock.set(datetime!(2027-01-13 07:00 UTC));
    assert_eq!(run(&app).await.issued, 0);
    enable(&app).await;

    // Due two days before 08:00 Berlin time (07:00 UTC in winter).
    clock.set(datetime!(2027-01-13 06:59 UTC));
    assert_eq!(run(&app).await.issued, 0);
    assert_eq!(app.store.get_tap(&ada).await.unwrap(), None);
    clock.set(datetime!(2027-01-13 07:00 UTC));
    let r = run(&app).await;
    assert_eq!((r.issued, r.mailed, r.failed), (1, 0, 1), "{r:?}");
    let tap = app.store.get_tap(&ada).await.unwrap().unwrap();
    assert_eq!(tap.start, datetime!(2027-01-15 07:00 UTC));
    assert_eq!(tap.lifetime_minutes, 480);
    let created = events(&app, &ada, AuditEventType::TapCreated).await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].actor.id, "onboarding-scheduler");
    assert!(created[0].detail.as_deref().unwrap().contains("2027-01-15"));
    // No manager: the pass stays (an administrator sees it) and the
    // failure is audited with its reason.
    let failed = events(&app, &ada, AuditEventType::OnboardingFailed).await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].outcome, Outcome::Failure);
    assert!(
        failed[0].detail.as_deref().unwrap().contains("no manager"),
        "{:?}",
        failed[0].detail
    );

    // Exactly once: again later, and two runs at once.
    clock.set(datetime!(2027-01-14 09:00 UTC));
    assert_eq!(run(&app).await.issued, 0);
    let bo = hire(&app, "bo@example.com", Some("2027-01-16T00:00:00Z")).await;
    let (a, b) = tokio::join!(run(&app), run(&app));
    assert_eq!(a.issued + b.issued, 1, "{a:?} {b:?}");
    assert_eq!(events(&app, &bo, AuditEventType::TapCreated).await.len(), 1);
    assert_eq!(app.store.get_tap(&ada).await.unwrap().unwrap().id, tap.id);

    // A changed hire date moves the schedule.
    let cy = hire(&app, "cy@example.com", Some("2027-01-25T00:00:00Z")).await;
    assert_eq!(run(&app).await.issued, 0);
    let hr = app.hr_token().await;
    let (status, body) = app
        .api(
            Method::PATCH,
            &format!("/users/{cy}"),
            &hr,
            Some(json!({"employeeHireDate": "2027-01-16T00:00:00Z"})),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(run(&app).await.issued, 1);
    assert_eq!(
        app.store.get_tap(&cy).await.unwrap().unwrap().start,
        datetime!(2027-01-16 07:00 UTC)
    );

    // A pass already issued is not replaced by a new hire date; the
    // administrator's new pass (the TAP API) replaces it.
    let (status, _) = app
        .api(
            Method::PATCH,
            &format!("/users/{ada}"),
            &hr,
            Some(json!({"employeeHireDate": "2027-01-16T00:00:00Z"})),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(run(&app).await.issued, 0);
    assert_eq!(app.store.get_tap(&ada).await.unwrap().unwrap().id, tap.id);
    let (status, created) = app
        .api(
            Method::POST,
            &format!("/users/{ada}/authentication/temporaryAccessPassMethods"),
            &hr,
            Some(json!({"startDateTime": "2027-01-16T07:00:00Z", "lifetimeInMinutes": 480})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_ne!(app.store.get_tap(&ada).await.unwrap().unwrap().id, tap.id);

    // Past the pass's end nothing is issued for a hire date (enabling the
    // policy never reaches back to people hired long ago).
    let late = hire(&app, "late@example.com", Some("2027-01-13T00:00:00Z")).await;
    assert_eq!(run(&app).await.issued, 0);
    assert_eq!(app.store.get_tap(&late).await.unwrap(), None);

    // Nobody with a passkey already, nor a disabled account, gets one.
    let has_key = hire(&app, "haskey@example.com", Some("2027-01-16T00:00:00Z")).await;
    app.store
        .add_credential(&onramp::domain::credential::PasskeyCredential {
            id: "cred-haskey".into(),
            user_id: has_key.clone(),
            name: "Laptop".into(),
            created: T0,
            last_used: None,
            aaguid: None,
            backup_eligible: false,
            backup_state: false,
            passkey: onramp::domain::credential::PasskeyState::of(&json!({})).unwrap(),
        })
        .await
        .unwrap();
    let off = hire(&app, "off@example.com", Some("2027-01-16T00:00:00Z")).await;
    let (status, _) = app
        .api(
            Method::PATCH,
            &format!("/users/{off}"),
            &hr,
            Some(json!({"accountEnabled": false})),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(run(&app).await.issued, 0);
    assert_eq!(app.store.get_tap(&has_key).await.unwrap(), None);
    assert_eq!(app.store.get_tap(&off).await.unwrap(), None);

    // A TAP policy changed afterwards is checked again at issue time.
    let dee = hire(&app, "dee@example.com", Some("2027-01-16T00:00:00Z")).await;
    let token = policy_token(&app).await;
    let (status, _) = app
        .api(
            Method::PATCH,
            "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass",
            &token,
            Some(json!({"maximumLifetimeInMinutes": 240, "defaultLifetimeInMinutes": 60})),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(run(&app).await.issued, 0);
    assert_eq!(app.store.get_tap(&dee).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_passes_embedded() {
    scheduler_on(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_passes_redis() {
    scheduler_on(Backend::Redis).await;
}

/// Two instances on one Redis, as in production: each pass once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_issue_each_pass_once() {
    let store = StoreHandle::new(Backend::Redis);
    let prefix = format!("t{}", free_port());
    let clock = ManualClock::new(T0);
    let smtp = nowhere();
    let one = spawn(store.url(), &prefix, &clock, smtp.clone()).await;
    let two = spawn(store.url(), &prefix, &clock, smtp).await;
    enable(&one).await;
    let mut ids = Vec::new();
    for n in 0..4 {
        ids.push(
            hire(
                &one,
                &format!("wave{n}@example.com"),
                Some("2027-01-15T00:00:00Z"),
            )
            .await,
        );
    }
    clock.set(datetime!(2027-01-13 07:00 UTC));
    let (a, b) = tokio::join!(run(&one), run(&two));
    assert_eq!(a.issued + b.issued, 4, "{a:?} {b:?}");
    // And once more on each, later: nothing new.
    clock.set(datetime!(2027-01-14 07:00 UTC));
    let (a, b) = tokio::join!(run(&one), run(&two));
    assert_eq!(a.issued + b.issued, 0);
    for id in &ids {
        assert_eq!(events(&one, id, AuditEventType::TapCreated).await.len(), 1);
        assert!(one.store.get_tap(id).await.unwrap().is_some());
    }
}

/// The background scheduler of a running instance issues due passes by
/// itself (every `onboarding.scheduler_seconds`, and once at start).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_background_scheduler_issues_due_passes() {
    let store = StoreHandle::new(Backend::Embedded);
    let clock = ManualClock::new(T0);
    let app = TestApp::spawn_with(store.url(), "bg", clock.clone(), |s: &mut Settings| {
        s.onboarding.scheduler_seconds = 1;
        s.smtp = Some(nowhere());
    })
    .await;
    enable(&app).await;
    let id = hire(&app, "soon@example.com", Some("2027-01-15T00:00:00Z")).await;
    clock.set(datetime!(2027-01-13 07:00 UTC));
    let deadline = Instant::now() + StdDuration::from_secs(10);
    while app.store.get_tap(&id).await.unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "the scheduler issued nothing within 10 s"
        );
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    assert_eq!(events(&app, &id, AuditEventType::TapCreated).await.len(), 1);
}

// ---- the manager's mail through a real SMTP server ----

/// aiosmtpd in its virtualenv (tests/smtp/setup.sh, run by tests/all.sh
/// before `cargo test`), STARTTLS required, on a free port.
struct SmtpServer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl SmtpServer {
    fn start() -> Self {
        Self::start_with(&[])
    }

    /// `plain`: a server that offers no STARTTLS.
    fn start_plain() -> Self {
        Self::start_with(&["plain"])
    }

    fn start_with(args: &[&str]) -> Self {
        let python = std::env::var_os("ONRAMP_TEST_SMTP_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                let target = std::env::var_os("CARGO_TARGET_DIR")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
                target.join("smtp-venv/bin/python")
            });
        assert!(
            python.is_file(),
            "the SMTP test server's Python ({}) is missing: run tests/smtp/setup.sh (tests/all.sh does) or set ONRAMP_TEST_SMTP_PYTHON",
            python.display()
        );
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(&python)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp/server.py"))
            .arg(port.to_string())
            .arg(dir.path())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "the SMTP test server did not start");
        Self { child, port, dir }
    }

    fn settings(&self) -> SmtpSettings {
        SmtpSettings {
            host: "localhost".into(),
            port: self.port,
            from: "Onramp <onramp@example.com>".into(),
            username: None,
            password: None,
            tls: SmtpTls::Starttls,
            ca_file: Some(self.dir.path().join("ca.pem")),
            timeout_seconds: 5,
        }
    }

    /// The n-th message received (1-based), waiting up to 10 s.
    fn mail(&self, n: usize) -> String {
        let path = self.dir.path().join(format!("mail-{n}.eml"));
        let deadline = Instant::now() + StdDuration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(text) = std::fs::read_to_string(&path) {
                return text;
            }
            std::thread::sleep(StdDuration::from_millis(50));
        }
        panic!("no mail {n} arrived");
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The body of a message, with quoted-printable soft breaks undone.
fn body_of(mail: &str) -> String {
    let (_, body) = mail.split_once("\r\n\r\n").expect("headers, then the body");
    if mail.contains("Content-Transfer-Encoding: quoted-printable") {
        body.replace("=\r\n", "").replace("=3D", "=")
    } else {
        body.to_owned()
    }
}

async fn mail_to_manager_on(backend: Backend) {
    let smtp = SmtpServer::start();
    let store = StoreHandle::new(backend);
    let clock = ManualClock::new(T0);
    let app = spawn(
        store.url(),
        &format!("t{}", free_port()),
        &clock,
        smtp.settings(),
    )
    .await;
    enable(&app).await;
    let boss = hire(&app, "boss@example.com", None).await;
    let upn = "newhire@example.com";
    let id = hire(&app, upn, Some("2027-01-15T00:00:00Z")).await;
    let hr = app.hr_token().await;
    let (status, body) = app
        .api(
            Method::PUT,
            &format!("/users/{id}/manager/$ref"),
            &hr,
            Some(json!({"@odata.id": format!("{}/api/v1/users/{boss}", app.base)})),
        )
        .await;
    assert_eq!(status, 204, "{body}");

    clock.set(datetime!(2027-01-13 07:00 UTC));
    let r = run(&app).await;
    assert_eq!((r.issued, r.mailed, r.failed), (1, 1, 0), "{r:?}");
    let mail = smtp.mail(1);
    assert!(
        mail.contains("X-Envelope-To: boss@example.com\r\n"),
        "{mail}"
    );
    assert!(mail.contains("X-TLS: yes\r\n"), "STARTTLS: {mail}");
    let body = body_of(&mail);
    assert!(body.contains(&format!("New {upn} ({upn})")), "{body}");
    assert!(body.contains("2027-01-15 08:00 (Europe/Berlin)"), "{body}");
    assert!(body.contains("2027-01-15 16:00 (Europe/Berlin)"), "{body}");
    assert!(body.contains(&app.base), "the sign-in address: {body}");
    let passcode = body
        .lines()
        .find_map(|l| l.strip_prefix("    "))
        .map(str::trim)
        .expect("the pass on a line of its own")
        .to_owned();
    let mailed = events(&app, &id, AuditEventType::OnboardingMailed).await;
    assert_eq!(mailed.len(), 1);
    assert!(
        !mailed[0].detail.as_deref().unwrap().contains(&passcode),
        "never logged"
    );

    // 07:59 in Berlin on the hire date: not yet. 08:00: signs in.
    let rp = Rp::discover(&app, RP_ID).await;
    clock.set(datetime!(2027-01-15 06:59 UTC));
    let browser = crate::browser::Browser::new(&app.base);
    let (url, _, _, _) = rp.authorize_url(&[]);
    let page = browser.open(&url).await;
    let early = browser.sign_in_with_tap(&page, upn, &passcode).await;
    assert_eq!(early.status, 401, "{}", early.body);
    assert!(early.body.contains("not valid yet"), "{}", early.body);
    clock.set(datetime!(2027-01-15 07:00 UTC));
    signed_in_browser(&app, &rp, upn, &passcode).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manager_mail_signs_in_on_the_hire_date_embedded() {
    mail_to_manager_on(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manager_mail_signs_in_on_the_hire_date_redis() {
    mail_to_manager_on(Backend::Redis).await;
}

// ---- the portal's onboarding page ----

async fn portal_page_on(backend: Backend) {
    let store = StoreHandle::new(backend);
    let clock = ManualClock::new(T0);
    let app = spawn(store.url(), &format!("t{}", free_port()), &clock, nowhere()).await;
    let admin = crate::portal::admin_browser(&app).await;
    let policies = admin.get("/admin/policy").await;
    assert!(policies.body.contains("href=\"/admin/policy/onboarding\""));
    let page = admin.get("/admin/policy/onboarding").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("aria-current=\"page\">Policies"),
        "the nav marks Policies"
    );
    let csrf = page.field("csrf");
    let form = |zone: &'static str, lifetime: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("enabled", "yes".to_owned()),
            ("days", "3".to_owned()),
            ("time", "09:30".to_owned()),
            ("time_zone", zone.to_owned()),
            ("lifetime", lifetime.to_owned()),
            ("email", "yes".to_owned()),
        ]
    };
    let post = |f: Vec<(&'static str, String)>| {
        let admin = &admin;
        async move {
            let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            admin.post_form("/admin/policy/onboarding", &pairs).await
        }
    };
    // A bad time zone: the form again, the error beside the field, the
    // values as typed, nothing saved.
    let res = post(form("Europe/Atlantis", "240")).await;
    assert_eq!(res.status, 400, "{}", res.body);
    assert!(res.body.contains("id=\"time_zone-error\""), "{}", res.body);
    assert!(res.body.contains("Europe/Atlantis"), "{}", res.body);
    assert!(
        res.body
            .contains("aria-invalid=\"true\" aria-describedby=\"time_zone-error\"")
    );
    assert!(res.body.contains("value=\"09:30\""), "kept as typed");
    crate::portal::assert_inline(
        &res,
        400,
        "time_zone",
        "Time zone `Europe/Atlantis` is not an IANA time zone name (such as Europe/Berlin).",
    );
    assert!(
        res.body.contains("name=\"email\" value=\"yes\" checked"),
        "ticks kept: {}",
        res.body
    );
    // Beyond the TAP policy's maximum (480): beside the lifetime, in plain
    // words (the API's names left out).
    let res = post(form("Europe/Berlin", "600")).await;
    crate::portal::assert_inline(
        &res,
        400,
        "lifetime",
        "Lifetime must be between 60 and 480 minutes.",
    );
    assert!(!res.body.contains("LifetimeInMinutes"), "{}", res.body);
    // Not a number: beside the field too.
    let res = post(form("Europe/Berlin", "four hours")).await;
    crate::portal::assert_inline(&res, 400, "lifetime", "Lifetime must be a whole number.");
    assert!(res.body.contains("value=\"four hours\""), "{}", res.body);
    let token = policy_token(&app).await;
    let (_, got) = app
        .api(Method::GET, "/policies/onboardingPolicy", &token, None)
        .await;
    assert_eq!(got["state"], "disabled", "nothing saved: {got}");
    // A good one is saved, and the API sees it.
    let res = post(form("Europe/Berlin", "240")).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let saved = admin.follow(res).await;
    assert!(
        saved.body.contains("onboarding policy was saved"),
        "{}",
        saved.body
    );
    let (_, got) = app
        .api(Method::GET, "/policies/onboardingPolicy", &token, None)
        .await;
    assert_eq!(got["state"], "enabled");
    assert_eq!(got["validFromLocalTime"], "09:30");
    assert_eq!(got["issueDaysBeforeHire"], 3);
    assert_eq!(got["lifetimeInMinutes"], 240);
    assert_eq!(got["isUsableOnce"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onboarding_portal_page_embedded() {
    portal_page_on(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onboarding_portal_page_redis() {
    portal_page_on(Backend::Redis).await;
}

/// STARTTLS is required: a server that does not offer it gets no pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_pass_goes_to_a_server_without_starttls() {
    let smtp = SmtpServer::start_plain();
    let store = StoreHandle::new(Backend::Embedded);
    let clock = ManualClock::new(T0);
    let settings = SmtpSettings {
        ca_file: None,
        ..smtp.settings()
    };
    let app = spawn(store.url(), "plain", &clock, settings).await;
    enable(&app).await;
    let boss = hire(&app, "boss@example.com", None).await;
    let id = hire(&app, "newhire@example.com", Some("2027-01-15T00:00:00Z")).await;
    let hr = app.hr_token().await;
    let (status, _) = app
        .api(
            Method::PUT,
            &format!("/users/{id}/manager/$ref"),
            &hr,
            Some(json!({"@odata.id": format!("{}/api/v1/users/{boss}", app.base)})),
        )
        .await;
    assert_eq!(status, 204);
    clock.set(datetime!(2027-01-13 07:00 UTC));
    let r = run(&app).await;
    assert_eq!((r.issued, r.mailed, r.failed), (1, 0, 1), "{r:?}");
    let failed = events(&app, &id, AuditEventType::OnboardingFailed).await;
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0]
            .detail
            .as_deref()
            .unwrap()
            .contains("STARTTLS is not supported"),
        "{:?}",
        failed[0].detail
    );
    // A permanent refusal is not tried again.
    assert!(
        !failed[0].detail.as_deref().unwrap().contains("attempts"),
        "{:?}",
        failed[0].detail
    );
    let received: Vec<_> = std::fs::read_dir(smtp.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".eml"))
        .collect();
    assert!(received.is_empty(), "a mail went out in the clear");
}

/// Passes sent to webhook subscriptions that receive passcodes: signed, at
/// once, to those that opted in only, audited without the pass, and the
/// pass signs the person in on the hire date.
async fn passes_to_webhooks_on(backend: Backend) {
    let opted_in = crate::webhooks::Receiver::start(0);
    let other = crate::webhooks::Receiver::start(0);
    let store = StoreHandle::new(backend);
    let clock = ManualClock::new(T0);
    let app = TestApp::spawn_with(
        store.url(),
        &format!("t{}", free_port()),
        clock.clone(),
        |s: &mut Settings| {
            s.onboarding.scheduler_seconds = 0;
            s.smtp = Some(nowhere());
            s.clients.push(client(
                "hooks-admin",
                "hooks-admin-secret-0123456789",
                vec![Permission::WebhookReadWriteAll],
            ));
        },
    )
    .await;
    let hooks = app
        .token("hooks-admin", "hooks-admin-secret-0123456789")
        .await;
    let mut secrets = Vec::new();
    for (receiver, passcodes) in [(&opted_in, true), (&other, false)] {
        let (status, body) = app
            .api(
                Method::POST,
                "/webhooks",
                &hooks,
                Some(json!({
                    "url": receiver.url(),
                    "events": ["onboarding.pass_issued"],
                    "includePasscodes": passcodes,
                })),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        secrets.push(body["secret"].as_str().unwrap().to_owned());
    }
    enable_with(&app, json!({"email": false, "webhook": true})).await;
    let upn = "hooked@example.com";
    let id = hire(&app, upn, Some("2027-01-15T00:00:00Z")).await;

    clock.set(datetime!(2027-01-13 07:00 UTC));
    let r = run(&app).await;
    assert_eq!((r.issued, r.mailed, r.failed), (1, 1, 0), "{r:?}");
    let got = opted_in.all();
    assert_eq!(got.len(), 1, "{got:?}");
    crate::webhooks::assert_signed(&got[0], &secrets[0]);
    let message = got[0].json();
    assert_eq!(message["type"], "onboarding.pass_issued");
    assert_eq!(message["data"]["user"]["id"], id.as_str());
    assert_eq!(message["data"]["user"]["userPrincipalName"], upn);
    assert_eq!(message["data"]["startDateTime"], "2027-01-15T07:00:00Z");
    assert_eq!(message["data"]["hireDate"], "2027-01-15");
    let passcode = message["data"]["temporaryAccessPass"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(passcode.len() >= 8, "{message}");
    assert!(other.all().is_empty(), "not opted in: {:?}", other.all());
    let sent = events(&app, &id, AuditEventType::OnboardingSent).await;
    assert_eq!(sent.len(), 1);
    assert!(!sent[0].detail.as_deref().unwrap().contains(&passcode));
    // Sent, not queued: nothing is left to deliver, and no delivery record
    // holds the pass.
    // (The clock moved two days: a fresh token.)
    let hooks = app
        .token("hooks-admin", "hooks-admin-secret-0123456789")
        .await;
    let (status, deliveries) = app.api(Method::GET, "/webhooks", &hooks, None).await;
    assert_eq!(status, 200, "{deliveries}");
    for sub in deliveries["value"].as_array().expect("a list") {
        let (_, d) = app
            .api(
                Method::GET,
                &format!("/webhooks/{}/deliveries", sub["id"].as_str().unwrap()),
                &hooks,
                None,
            )
            .await;
        assert!(!d.to_string().contains(&passcode), "{d}");
    }

    clock.set(datetime!(2027-01-15 07:00 UTC));
    let rp = Rp::discover(&app, RP_ID).await;
    signed_in_browser(&app, &rp, upn, &passcode).await;
    opted_in.stop().await;
    other.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_go_to_webhooks_that_receive_passcodes_embedded() {
    passes_to_webhooks_on(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_go_to_webhooks_that_receive_passcodes_redis() {
    passes_to_webhooks_on(Backend::Redis).await;
}
