//! The `onramp` binary: configuration errors, check-config, recover.

use std::process::Command;

use crate::helpers::*;

fn onramp() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_onramp"));
    // Keep the developer's environment out of these tests.
    for (k, _) in std::env::vars() {
        if k.starts_with("ONRAMP_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

#[test]
fn check_config_prints_the_effective_config_with_secrets_masked() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    std::fs::write(
        &file,
        "[server]\nissuer = \"https://login.example.com\"\n[[clients]]\nid = \"hr\"\nsecret = \"super-secret-value-123\"\ngrant_types = [\"client_credentials\"]\n",
    )
    .unwrap();
    let out = onramp()
        .args(["--config", file.to_str().unwrap(), "check-config"])
        .env("ONRAMP_STORE__PREFIX", "fromenv")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("https://login.example.com"),
        "file layer applied"
    );
    assert!(
        text.contains("prefix = \"fromenv\""),
        "env layer applied: {text}"
    );
    assert!(!text.contains("super-secret-value-123"));
    assert!(text.contains("********"));
}

#[test]
fn bad_configuration_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    std::fs::write(
        &file,
        "[store]\nurl = \"embedded:x.redb\"\nprefx = \"typo\"\n",
    )
    .unwrap();
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec!["--config", file.to_str().unwrap(), "check-config"],
            vec![],
            "prefx",
        ),
        (
            vec!["check-config"],
            vec![("ONRAMP_SERVER__WORKERS", "many")],
            "workers",
        ),
        (
            vec!["check-config"],
            vec![("ONRAMP_STORE__NOPE", "1")],
            "nope",
        ),
        (
            vec!["check-config"],
            vec![("ONRAMP_STORE__URL", "postgres://x")],
            "store.url",
        ),
        (
            vec!["check-config"],
            vec![("ONRAMP_SERVER__ISSUER", "not a url")],
            "server.issuer",
        ),
        (
            vec!["check-config"],
            vec![("ONRAMP_SERVER__ISSUER", "http://login.example.com")],
            "`server.issuer`: `http://login.example.com` must be https",
        ),
        (
            vec!["check-config"],
            vec![("ONRAMP_SERVER__REQUEST_TIMEOUT_SECONDS", "0")],
            "server.request_timeout_seconds",
        ),
        (
            vec!["check-config"],
            vec![("ONRAMP_SERVER__TRUSTED_PROXIES", "[\"not-an-address\"]")],
            "server.trusted_proxies",
        ),
        (
            vec!["--config", "/nonexistent/onramp.toml", "check-config"],
            vec![],
            "does not exist",
        ),
        (vec!["serve"], vec![("ONRAMP_LOG__FORMAT", "xml")], "format"),
    ];
    for (args, env, needle) in cases {
        let out = onramp().args(&args).envs(env.clone()).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?} {env:?}: {err}");
        assert!(
            err.to_lowercase().contains(&needle.to_lowercase()),
            "{args:?} {env:?}: {err}"
        );
    }
}

#[tokio::test]
async fn recover_refuses_a_locked_embedded_store() {
    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn(&store).await;
    let out = onramp()
        .args(["recover", "--upn", "admin@localhost"])
        .env("ONRAMP_STORE__URL", store.url())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("stop the server"), "{err}");
    drop(app);
}

#[tokio::test]
async fn recover_issues_a_new_pass_against_redis_while_serving() {
    let redis = RedisServer::start();
    let app = TestApp::spawn_with(
        redis.url(),
        "rec",
        onramp::clock::ManualClock::starting_now(),
        |_| {},
    )
    .await;
    let first = app.bootstrap.as_ref().unwrap().tap.view.tap.id.clone();
    let dir = tempfile::tempdir().unwrap();
    let pass_file = dir.path().join("recovered.txt");
    let out = onramp()
        .args(["recover", "--upn", "ADMIN@localhost"])
        .env("ONRAMP_STORE__URL", redis.url())
        .env("ONRAMP_STORE__PREFIX", "rec")
        .env("ONRAMP_LOG__LEVEL", "error")
        .env("ONRAMP_BOOTSTRAP__PASS_FILE", &pass_file)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    let user = app.bootstrap.as_ref().unwrap().user.id.clone();
    let stored = app.store.get_tap(&user).await.unwrap().unwrap();
    assert_ne!(stored.id, first, "the pass was replaced");
    // stdout is not a terminal: the pass is in the owner-only file, and the
    // output only says where.
    let passcode = pass_in_file(&pass_file);
    assert!(onramp::crypto::hasher::verify(
        passcode.as_bytes(),
        &stored.hash
    ));
    assert!(
        !stdout.contains(&passcode) && !stderr.contains(&passcode),
        "{stdout}{stderr}"
    );
    assert!(stdout.contains(&*pass_file.to_string_lossy()), "{stdout}");

    // On a terminal (a pseudo-terminal from script(1)), the pass is shown
    // there and no file is written.
    let tty_file = dir.path().join("not-written.txt");
    let mut script = Command::new("script");
    for (k, _) in std::env::vars() {
        if k.starts_with("ONRAMP_") {
            script.env_remove(k);
        }
    }
    let out = script
        .args([
            "-qec",
            &format!(
                "{} recover --upn admin@localhost",
                env!("CARGO_BIN_EXE_onramp")
            ),
            "/dev/null",
        ])
        .env("ONRAMP_STORE__URL", redis.url())
        .env("ONRAMP_STORE__PREFIX", "rec")
        .env("ONRAMP_BOOTSTRAP__PASS_FILE", &tty_file)
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{shown}");
    let passcode = shown
        .lines()
        .find_map(|l| l.trim().strip_prefix("pass:"))
        .unwrap_or_else(|| panic!("no pass on the terminal: {shown}"))
        .trim()
        .to_owned();
    let stored = app.store.get_tap(&user).await.unwrap().unwrap();
    assert!(onramp::crypto::hasher::verify(
        passcode.as_bytes(),
        &stored.hash
    ));
    assert!(!tty_file.exists());
    let out = onramp()
        .args(["recover", "--upn", "ghost@localhost"])
        .env("ONRAMP_STORE__URL", redis.url())
        .env("ONRAMP_STORE__PREFIX", "rec")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
}

/// The `pass:` line of a pass file, after checking that only its owner may
/// read it.
fn pass_in_file(path: &std::path::Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("no pass file at {}: {e}", path.display()));
    assert!(meta.file_type().is_file(), "{}", path.display());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600, "owner-only");
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .find_map(|l| l.trim().strip_prefix("pass:"))
        .unwrap_or_else(|| panic!("no pass in {}: {text}", path.display()))
        .trim()
        .to_owned()
}

/// What `onramp serve` wrote on its first start, with stdout and stderr
/// pipes (not terminals), until SIGTERM stopped it.
struct FirstStart {
    stdout: String,
    stderr: String,
}

/// Runs `onramp serve` on a fresh embedded store in `dir` with `env`, waits
/// until it answers /healthz, then stops it with SIGTERM (a graceful
/// shutdown, exit status 0).
fn first_start(dir: &std::path::Path, env: &[(&str, &str)]) -> FirstStart {
    use std::io::Read;
    let port = free_port();
    let mut child = onramp()
        .arg("serve")
        .current_dir(dir)
        .env("ONRAMP_SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .env("ONRAMP_SERVER__ISSUER", format!("http://localhost:{port}"))
        .env(
            "ONRAMP_STORE__URL",
            format!("embedded:{}", dir.join("db.redb").display()),
        )
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = r.read_to_string(&mut text);
            text
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    // Bootstrap runs before the HTTP server (which installs the signal
    // handlers): wait until it answers.
    let healthy = |port: u16| {
        use std::io::Write;
        let Ok(mut c) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
            return false;
        };
        let _ = c.set_read_timeout(Some(std::time::Duration::from_secs(2)));
        let _ =
            c.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        let mut answer = String::new();
        let _ = c.read_to_string(&mut answer);
        answer.starts_with("HTTP/1.1 200")
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !healthy(port) {
        if std::time::Instant::now() > deadline || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "onramp never answered /healthz:\n{}{}",
                stdout.join().unwrap(),
                stderr.join().unwrap()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // SIGTERM: a graceful shutdown, exit status 0.
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("onramp did not stop within 15 s of SIGTERM");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let out = FirstStart {
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    };
    assert!(status.success(), "{status}: {}{}", out.stdout, out.stderr);
    out
}

/// The bootstrap administrator's pass never goes into the log stream: with
/// stdout not a terminal it is written to `bootstrap.pass_file`, readable by
/// its owner only and created fresh (a symbolic link planted there is not
/// followed), and the log names only the file.
#[tokio::test]
async fn first_start_pass_goes_to_an_owner_only_file_not_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let pass_file = dir.path().join("secrets/bootstrap-pass.txt");
    std::fs::create_dir(dir.path().join("secrets")).unwrap();
    let planted = dir.path().join("world-readable.txt");
    std::fs::write(&planted, "").unwrap();
    std::os::unix::fs::symlink(&planted, &pass_file).unwrap();
    let out = first_start(
        dir.path(),
        &[
            ("ONRAMP_LOG__LEVEL", "info"),
            ("ONRAMP_BOOTSTRAP__PASS_FILE", pass_file.to_str().unwrap()),
        ],
    );
    let passcode = pass_in_file(&pass_file);
    assert_eq!(
        std::fs::read_to_string(&planted).unwrap(),
        "",
        "link not followed"
    );
    assert!(
        !out.stdout.contains(&passcode) && !out.stderr.contains(&passcode),
        "the pass leaked into the output:\n{}{}",
        out.stdout,
        out.stderr
    );
    assert!(!out.stdout.contains("pass:"), "{}", out.stdout);
    assert!(
        out.stdout.contains(pass_file.to_str().unwrap()),
        "the log names the file: {}",
        out.stdout
    );
    // The file holds the pass that was issued (the server has stopped, so
    // its store can be opened here).
    let mut settings = onramp::config::Settings::default();
    settings.store.url = format!("embedded:{}", dir.path().join("db.redb").display());
    let store = onramp::startup::open_store(&settings).await.unwrap();
    let upn = onramp::domain::user::Upn::parse("admin@localhost").unwrap();
    let admin = store.find_user_by_upn(&upn.key()).await.unwrap().unwrap();
    let tap = store.get_tap(&admin.id).await.unwrap().unwrap();
    assert!(onramp::crypto::hasher::verify(
        passcode.as_bytes(),
        &tap.hash
    ));
}

/// `log.format = "json"`: stdout is one JSON object per line, every line
/// (no banner, no pass), and every audit event (target `audit`) carries the
/// event itself as JSON. Then SIGTERM stops the server cleanly.
#[test]
fn json_logs_carry_the_audit_events() {
    let dir = tempfile::tempdir().unwrap();
    let pass_file = dir.path().join("pass.txt");
    let out = first_start(
        dir.path(),
        &[
            ("ONRAMP_LOG__FORMAT", "json"),
            ("ONRAMP_LOG__LEVEL", "info"),
            ("ONRAMP_BOOTSTRAP__PASS_FILE", pass_file.to_str().unwrap()),
        ],
    );
    let lines: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("a stdout line is not JSON ({e}): {line:?}"))
        })
        .collect();
    // Bootstrap on the first start records user.created and tap.created.
    let seen: Vec<String> = lines
        .iter()
        .filter(|v| v["target"] == "audit")
        .map(|v| {
            // The event itself, nested (not a string of JSON inside JSON).
            let event = &v["event"];
            assert!(event.is_object(), "{v}");
            assert_eq!(event["actor"]["kind"], "system", "{event}");
            assert!(
                v["timestamp"].as_str().is_some() && v["level"] == "INFO",
                "{v}"
            );
            event["event_type"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(seen, ["user.created", "tap.created"]);
    assert!(
        lines
            .iter()
            .any(|v| v["path"] == pass_file.to_str().unwrap()),
        "a log line names the pass file: {}",
        out.stdout
    );
    let passcode = pass_in_file(&pass_file);
    assert!(
        !out.stdout.contains(&passcode) && !out.stderr.contains(&passcode),
        "{}{}",
        out.stdout,
        out.stderr
    );
}
