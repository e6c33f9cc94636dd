//! The `stargate` binary as an operator runs it.

use std::process::Command;

fn stargate() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stargate"));
    command.env_remove("RUST_LOG");
    for (key, _) in std::env::vars() {
        if key.starts_with("STARGATE_") {
            command.env_remove(key);
        }
    }
    command
}

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
