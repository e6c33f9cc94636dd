//! The `stargate` binary as an operator runs it.

use std::process::Command;

use crate::helpers::stargate_command as stargate;

#[test]
fn a_typo_in_the_config_file_fails_start_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("stargate.toml");
    std::fs::write(
        &config,
        "listen = \"127.0.0.1:0\"\ndatbase_url = \"sqlite://x.db\"\n",
    )
    .unwrap();
    let output = stargate()
        .arg("--config")
        .arg(&config)
        .arg("migrate")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("datbase_url"), "{stderr}");
    assert!(!dir.path().join("x.db").exists());
}

#[test]
fn a_bad_value_in_the_environment_fails_start_naming_the_key() {
    let output = stargate()
        .env("STARGATE_LISTEN", "localhost")
        .arg("--config")
        .arg("/nonexistent/stargate.toml")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("LISTEN"), "{stderr}");
}

#[test]
fn migrate_creates_the_sqlite_database_in_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("nested/data");
    let output = stargate()
        .env("STARGATE_DATA_DIR", &data)
        .arg("--config")
        .arg(dir.path().join("none.toml"))
        .arg("migrate")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(data.join("stargate.db").exists());
}

#[test]
fn an_unsupported_database_url_is_refused() {
    let output = stargate()
        .env("STARGATE_DATABASE_URL", "mysql://localhost/stargate")
        .arg("--config")
        .arg("/nonexistent/stargate.toml")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("sqlite://"));
}

/// SIGTERM stops `serve` cleanly even while a browser follows a request's live progress:
/// graceful shutdown waits for open connections, so event streams must end on it.
#[tokio::test]
async fn sigterm_stops_serve_while_an_event_stream_is_open() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = crate::helpers::free_port();
    let env = |command: &mut Command| {
        command
            .env("STARGATE_DATA_DIR", dir.path())
            .env("STARGATE_LISTEN", format!("127.0.0.1:{port}"))
            .env("STARGATE_AUTH__MODE", "dev")
            .env("RUST_LOG", "warn");
    };
    let mut serve = stargate();
    env(&mut serve);
    let mut server = serve
        .args(["serve", "--demo"])
        .spawn()
        .expect("start serve");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    crate::helpers::wait_until_ready(&base, std::time::Duration::from_secs(60), || {
        Some(server.try_wait().expect("poll serve")?.to_string())
    })
    .await;

    let mut create = stargate();
    env(&mut create);
    let output = create
        .args([
            "token",
            "create",
            "--user",
            "dev@example.com",
            "--groups",
            "payments",
            "--scopes",
            "read,request",
        ])
        .output()
        .expect("token create");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let token = stdout
        .lines()
        .last()
        .expect("a token line")
        .trim()
        .to_owned();
    let body = serde_json::json!({
        "kind": "service", "team": "payments", "cluster": "demo", "reason": "shutdown test",
        "spec": {"name": "drain-check", "image": "ghcr.io/acme/drain:1.0.0", "port": 8080,
                 "replicas": 1}
    });
    let created = client
        .post(format!("{base}/api/v1/requests"))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .expect("submit");
    assert_eq!(created.status(), 201);
    let created: serde_json::Value = created.json().await.expect("json");
    let id = created["request"]["id"].as_i64().expect("id");
    let mut events = client
        .get(format!("{base}/api/v1/requests/{id}/events"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("event stream");
    assert_eq!(events.status(), 200);
    assert!(events.chunk().await.expect("first event").is_some());

    let pid = server.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status();
    assert!(killed.expect("kill").success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        if let Some(status) = server.try_wait().expect("wait") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = server.kill();
            panic!("serve still running 10 s after SIGTERM");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(status.success(), "serve exited with {status}");
    // The stream ended with the server instead of hanging.
    while let Ok(Some(_)) = events.chunk().await {}
}
