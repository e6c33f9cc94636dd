//! The test identity provider: the npm `oidc-provider` package run by node on a random
//! loopback port (see testing/oidc-provider), and a browser-like walk through its pages.

use std::{path::PathBuf, process::Stdio};

use reqwest::{Client, StatusCode, redirect::Policy};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    net::TcpListener,
    process::{Child, Command},
};

use crate::helpers::{Db, Options, TestApp, spawn_with};

pub struct Provider {
    pub issuer: String,
    _process: Child,
}

impl Provider {
    /// `env` adds provider switches such as `ID_TOKEN_OVERRIDES` (see provider.mjs).
    pub async fn start(redirect_uri: &str, env: &[(&str, &str)]) -> Provider {
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testing/oidc-provider/provider.mjs");
        let mut process = Command::new("node")
            .arg(&script)
            .env("PORT", "0")
            .env("REDIRECT_URIS", redirect_uri)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect(
                "node runs testing/oidc-provider/provider.mjs (run `make test` once to install it)",
            );
        let stdout = process.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(std::time::Duration::from_secs(20), lines.next_line())
            .await
            .expect("provider starts within 20 s")
            .expect("read provider output")
            .expect("provider prints its issuer");
        // Keep draining its output: a closed pipe would kill it at its next log line.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let issuer = serde_json::from_str::<serde_json::Value>(&line).expect("JSON line")["issuer"]
            .as_str()
            .expect("issuer")
            .to_owned();
        Provider {
            issuer,
            _process: process,
        }
    }
}

/// The app in OIDC mode, with a provider whose client redirects back to it. `issuer`
/// overrides the issuer URL the app is configured with.
pub async fn spawn_oidc_app(db: Db, issuer: Option<fn(&str) -> String>) -> (TestApp, Provider) {
    spawn_oidc_app_with(db, issuer, &[]).await
}

/// As [`spawn_oidc_app`], with a provider started with the switches in `provider_env`.
pub async fn spawn_oidc_app_with(
    db: Db,
    issuer: Option<fn(&str) -> String>,
    provider_env: &[(&str, &str)],
) -> (TestApp, Provider) {
    spawn_oidc_app_with_options(db, issuer, provider_env, Options::default()).await
}

/// As [`spawn_oidc_app_with`], starting the app with `options` (its issuer set here).
pub async fn spawn_oidc_app_with_options(
    db: Db,
    issuer: Option<fn(&str) -> String>,
    provider_env: &[(&str, &str)],
    options: Options,
) -> (TestApp, Provider) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = format!("http://{}", listener.local_addr().expect("address"));
    let provider = Provider::start(&format!("{address}/auth/callback"), provider_env).await;
    let configured = issuer.map_or_else(|| provider.issuer.clone(), |f| f(&provider.issuer));
    let options = Options {
        oidc_issuer: Some(configured),
        ..options
    };
    (spawn_with(db, options, Some(listener)).await, provider)
}

/// A browser: keeps cookies, does not follow redirects by itself.
pub fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .expect("client")
}

fn resolve(base: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        return location.to_owned();
    }
    let origin: String = base.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
    format!("{origin}{location}")
}

/// Follows a sign-in from `start` through the provider's login and consent pages as
/// `login`, and returns the callback URL the provider sends the browser to (not yet
/// visited).
pub async fn sign_in_at_provider(browser: &Client, start: &str, login: &str, app: &str) -> String {
    let mut url = start.to_owned();
    for _ in 0..20 {
        let response = browser.get(&url).send().await.expect("request");
        if response.status().is_redirection() {
            let location = response.headers()["location"].to_str().expect("location");
            let next = resolve(&url, location);
            if next.starts_with(&format!("{app}/auth/callback")) {
                return next;
            }
            url = next;
            continue;
        }
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        let page = response.text().await.expect("page");
        let form: Vec<(&str, &str)> = if page.contains(r#"name="prompt" value="login""#) {
            vec![("prompt", "login"), ("login", login), ("password", "any")]
        } else if page.contains(r#"name="prompt" value="consent""#) {
            vec![("prompt", "consent")]
        } else {
            panic!("unexpected provider page at {url}: {page}");
        };
        let response = browser.post(&url).form(&form).send().await.expect("submit");
        assert!(response.status().is_redirection(), "{}", response.status());
        url = resolve(
            &url,
            response.headers()["location"].to_str().expect("location"),
        );
    }
    panic!("the provider never redirected back");
}
