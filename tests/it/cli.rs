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
    let out = onramp()
        .args(["recover", "--upn", "ADMIN@localhost"])
        .env("ONRAMP_STORE__URL", redis.url())
        .env("ONRAMP_STORE__PREFIX", "rec")
        .env("ONRAMP_LOG__LEVEL", "error")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let user = app.bootstrap.as_ref().unwrap().user.id.clone();
    let stored = app.store.get_tap(&user).await.unwrap().unwrap();
    assert_ne!(stored.id, first, "the pass was replaced");
    let passcode = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("pass:"))
        .unwrap()
        .trim()
        .to_owned();
    assert!(onramp::crypto::hasher::verify(
        passcode.as_bytes(),
        &stored.hash
    ));
    let out = onramp()
        .args(["recover", "--upn", "ghost@localhost"])
        .env("ONRAMP_STORE__URL", redis.url())
        .env("ONRAMP_STORE__PREFIX", "rec")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
}

/// `log.format = "json"`: one JSON object per line, and every audit event
/// (target `audit`) carries the event itself as JSON. Then SIGTERM stops
/// the server cleanly.
#[test]
fn json_logs_carry_the_audit_events() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = onramp()
        .arg("serve")
        .env("ONRAMP_SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .env("ONRAMP_SERVER__ISSUER", format!("http://localhost:{port}"))
        .env(
            "ONRAMP_STORE__URL",
            format!("embedded:{}", dir.path().join("db.redb").display()),
        )
        .env("ONRAMP_LOG__FORMAT", "json")
        .env("ONRAMP_LOG__LEVEL", "info")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Bootstrap on the first start records user.created and tap.created.
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while seen.len() < 2 && std::time::Instant::now() < deadline {
        let Ok(line) = rx.recv_timeout(std::time::Duration::from_millis(200)) else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue; // the printed pass is plain text for the operator
        };
        if v["target"] == "audit" {
            let event: serde_json::Value =
                serde_json::from_str(v["event"].as_str().unwrap()).unwrap();
            assert_eq!(event["actor"]["kind"], "system", "{event}");
            seen.push(event["event_type"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(seen, ["user.created", "tap.created"]);
    // Bootstrap runs before the HTTP server (which installs the signal
    // handlers): wait until it answers.
    let healthy = |port: u16| {
        use std::io::{Read, Write};
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
        assert!(
            std::time::Instant::now() < deadline,
            "onramp never answered /healthz"
        );
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
    assert!(status.success(), "{status}");
}
