//! Settings: `stargate.toml` (optional) overlaid by `STARGATE_*` environment variables,
//! nested keys joined by a double underscore (`STARGATE_AUTH__MODE`).

use std::{net::SocketAddr, path::PathBuf};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use secrecy::SecretString;
use serde::Deserialize;

pub use crate::http::client_addr::TrustedProxies;

/// Secret settings read from the environment as written (see `Settings::figment`).
const VERBATIM_VARIABLES: &[(&str, &str)] = &[
    (
        "STARGATE_AUTH__OIDC__CLIENT_SECRET",
        "auth.oidc.client_secret",
    ),
    ("STARGATE_METRICS__TOKEN", "metrics.token"),
    ("STARGATE_IAC__HTTPS_TOKEN", "iac.https_token"),
    ("STARGATE_DATABASE_URL", "database_url"),
];

/// Top-level keys; environment variables outside them (e.g. tools sharing the prefix)
/// are not ours and are ignored rather than rejected.
const KEYS: &[&str] = &[
    "listen",
    "public_url",
    "data_dir",
    "database_url",
    "site_root",
    "log",
    "http",
    "metrics",
    "storage",
    "auth",
    "teams",
    "clusters",
    "worker",
    "iac",
    "drift",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address the web server binds; port 0 picks a free one.
    pub listen: SocketAddr,
    /// The URL users reach the portal at; `http://<listen>` when unset.
    pub public_url: Option<String>,
    /// Where SQLite databases and other state live.
    pub data_dir: PathBuf,
    /// `sqlite://...` or `postgres://...`; `sqlite://<data_dir>/stargate.db` when unset.
    pub database_url: Option<String>,
    /// Folder holding the built site (`pkg/stargate.js`, `.wasm`, `.css`).
    pub site_root: PathBuf,
    pub log: LogSettings,
    pub http: HttpSettings,
    pub metrics: MetricsSettings,
    pub storage: StorageSettings,
    pub auth: AuthSettings,
    /// Teams and the SSO groups that make their members and leads.
    pub teams: Vec<TeamSettings>,
    /// Clusters requests can target.
    pub clusters: Vec<ClusterSettings>,
    pub worker: WorkerSettings,
    /// The git repository every applied change is committed to.
    pub iac: crate::iac::IacSettings,
    pub drift: DriftSettings,
}

/// Checking that clusters still hold what was approved.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DriftSettings {
    /// Seconds between checks of each cluster by the worker; 0 turns checking off.
    pub interval_seconds: u64,
    /// Whether the worker also watches each cluster, noticing drift (and live status) at
    /// once; the interval check stays the safety net.
    pub watch: bool,
}

impl Default for DriftSettings {
    fn default() -> Self {
        Self {
            interval_seconds: 300,
            watch: true,
        }
    }
}

/// The web server's limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    /// Live event streams one person may hold open at once (each tab on a request page
    /// holds one); past it the API answers 429.
    pub max_streams_per_user: u32,
    /// Proxies (CIDR ranges or addresses) whose `X-Forwarded-For` names the client; empty:
    /// the TCP peer is the client. Rate limits and the audit trail count that address.
    pub trusted_proxies: TrustedProxies,
    /// Seconds between SIGTERM and the end of serving: `/readyz` answers 503 at once while
    /// requests are still served, so a load balancer stops sending before the listener
    /// closes (Kubernetes removes a pod from its Service asynchronously). 0 stops at once.
    pub drain_seconds: u32,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            max_streams_per_user: 20,
            trusted_proxies: TrustedProxies::default(),
            drain_seconds: 0,
        }
    }
}

/// How the embedded database writes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageSettings {
    /// SQLite's `synchronous`: `normal` (the default with WAL: a power cut may lose the
    /// last commits, never corrupt the database) or `full` (every commit reaches the disk
    /// before it is acknowledged, at some cost per write).
    pub synchronous: Synchronous,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    #[default]
    Normal,
    Full,
}

/// Who may read `/metrics`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsSettings {
    /// When set, `/metrics` answers only `Authorization: Bearer <token>` (Prometheus'
    /// `bearer_token`); unset, anyone who reaches the port may read it.
    pub token: Option<SecretString>,
}

/// The worker that applies approved changes.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerSettings {
    /// `stargate serve` runs a worker too; turn off when `stargate worker` runs apart.
    pub embedded: bool,
    /// A claimed job is the worker's for this long; it renews at a third of it.
    pub lease_seconds: u64,
    /// Attempts before a job stays failed.
    pub max_attempts: u32,
    /// Backoff after a failed attempt: base × 2^(attempt-1), capped.
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
    /// Safety-net poll when no wake-up arrives.
    pub poll_seconds: u64,
    /// How long applied objects may take to become ready.
    pub readiness_timeout_seconds: u64,
    /// Each call to a cluster's API server.
    pub request_timeout_seconds: u64,
    /// Jobs one worker process applies at a time. A job mostly waits on the database, the
    /// API server and the IaC repository, so a few at once keep the machine busy.
    pub concurrency: usize,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            embedded: true,
            lease_seconds: 30,
            max_attempts: 5,
            backoff_base_ms: 1000,
            backoff_max_ms: 60_000,
            poll_seconds: 5,
            readiness_timeout_seconds: 300,
            request_timeout_seconds: 15,
            concurrency: 4,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSettings {
    pub name: String,
    /// `dry-run` (render and record only), `kubeconfig` or `eks`.
    pub kind: ClusterKind,
    #[serde(default)]
    pub description: String,
    /// kubeconfig context (`kubeconfig` clusters).
    #[serde(default)]
    pub context: Option<String>,
    /// AWS region and EKS cluster name (`eks` clusters).
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub eks_cluster: Option<String>,
    /// kubeconfig file (`kubeconfig` clusters); `$KUBECONFIG` or `~/.kube/config` when unset.
    #[serde(default)]
    pub kubeconfig: Option<PathBuf>,
    /// AWS API endpoint override (`eks` clusters; e.g. a local emulator).
    #[serde(default)]
    pub aws_endpoint_url: Option<String>,
    /// Kubernetes API server URL override (`eks` clusters whose endpoint is not reachable
    /// as published, e.g. behind a tunnel, or in tests).
    #[serde(default)]
    pub api_server: Option<String>,
    /// How approved changes reach it: applied by the worker (`direct`), or committed and
    /// pushed to the IaC remote for Argo CD or Flux to apply (`gitops`).
    #[serde(default)]
    pub delivery: Delivery,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Delivery {
    #[default]
    Direct,
    Gitops,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClusterKind {
    DryRun,
    Kubeconfig,
    Eks,
}

impl ClusterKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DryRun => "dry-run",
            Self::Kubeconfig => "kubeconfig",
            Self::Eks => "eks",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// `oidc` (company SSO) or `dev` (pick a demo user; loopback only).
    pub mode: AuthMode,
    pub oidc: OidcSettings,
    /// SSO groups whose members are portal admins.
    pub admin_groups: Vec<String>,
    /// A session ends after this long without use.
    pub session_idle_minutes: u32,
    /// ... and after this long in any case.
    pub session_max_hours: u32,
    /// The longest a personal access token may live (every token expires; 90 days unless
    /// asked otherwise), the same in the CLI, the page and the API.
    pub token_max_days: u32,
    /// Sessions and tokens act with groups no older than this (from the last sign-in
    /// through the identity provider); past it, the person signs in again.
    pub groups_max_age_hours: u32,
    /// Sign-ins in flight (between `/login` and the callback) the database holds at most;
    /// past it `/login` answers 503 until some finish or expire (10 minutes).
    pub max_login_flows: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    Oidc,
    Dev,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OidcSettings {
    pub issuer_url: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub scopes: Vec<String>,
    /// The ID-token claim holding the user's groups.
    pub groups_claim: String,
    /// Accept ID tokens without `email_verified` (some providers leave it out); an
    /// explicit `false` is refused whatever this says.
    pub trust_unverified_email: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamSettings {
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub description: String,
    /// Kubernetes namespace of the team's services; the team name when unset.
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub member_groups: Vec<String>,
    #[serde(default)]
    pub lead_groups: Vec<String>,
    /// DNS domains the team's ingress hosts must sit under.
    #[serde(default)]
    pub allowed_domains: Vec<String>,
    /// cert-manager ClusterIssuers the team's certificates may use; empty: any.
    #[serde(default)]
    pub allowed_issuers: Vec<String>,
    #[serde(default = "one")]
    pub required_approvals: u32,
}

fn one() -> u32 {
    1
}

impl TeamSettings {
    /// The team's Kubernetes namespace: as configured, or the team's name.
    pub fn namespace(&self) -> String {
        self.namespace.clone().unwrap_or_else(|| self.name.clone())
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            mode: AuthMode::Oidc,
            oidc: OidcSettings::default(),
            admin_groups: Vec::new(),
            session_idle_minutes: 12 * 60,
            session_max_hours: 7 * 24,
            token_max_days: 365,
            groups_max_age_hours: 24,
            max_login_flows: 10_000,
        }
    }
}

impl Default for OidcSettings {
    fn default() -> Self {
        Self {
            issuer_url: String::new(),
            client_id: String::new(),
            client_secret: SecretString::from(String::new()),
            scopes: vec![
                "openid".into(),
                "email".into(),
                "profile".into(),
                "groups".into(),
            ],
            groups_claim: "groups".into(),
            trust_unverified_email: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// `tracing` filter, e.g. `info,sqlx=warn`; `RUST_LOG` wins when set.
    pub filter: String,
    /// `pretty` for people, `json` for log pipelines.
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            public_url: None,
            data_dir: PathBuf::from("./data"),
            database_url: None,
            site_root: PathBuf::from("target/site"),
            log: LogSettings::default(),
            http: HttpSettings::default(),
            metrics: MetricsSettings::default(),
            storage: StorageSettings::default(),
            auth: AuthSettings::default(),
            teams: Vec::new(),
            clusters: Vec::new(),
            worker: WorkerSettings::default(),
            iac: crate::iac::IacSettings::default(),
            drift: DriftSettings::default(),
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            filter: "info,sqlx=warn".into(),
            format: LogFormat::Pretty,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration: {0}")]
    Invalid(#[from] Box<figment::Error>),
    #[error("invalid configuration: {key}: {message}")]
    Value { key: &'static str, message: String },
}

/// Whether `url` names this machine (127.0.0.0/8, ::1 or `localhost`).
fn loopback_url(url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(url) else {
        return false;
    };
    url.host_str().is_some_and(|host| {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    })
}

fn invalid(key: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Value {
        key,
        message: message.into(),
    }
}

impl Settings {
    /// Defaults, then the TOML file if it exists, then the environment.
    pub fn load(file: &std::path::Path) -> Result<Self, ConfigError> {
        let settings: Self = Self::figment(file)
            .extract()
            .map_err(|e| ConfigError::Invalid(Box::new(e)))?;
        // The subscriber would otherwise drop a bad directive without a word.
        tracing_subscriber::EnvFilter::try_new(&settings.log.filter)
            .map_err(|e| invalid("log.filter", e.to_string()))?;
        Ok(settings)
    }

    /// `STARGATE_*` variables that name no setting. Tools share the prefix, so they are
    /// ignored rather than refused; start-up logs each, so a misspelt setting is seen.
    pub fn unknown_variables() -> Vec<String> {
        std::env::vars_os()
            .filter_map(|(name, _)| name.into_string().ok())
            // The command line's own: the configuration file (`--config`).
            .filter(|name| name != "STARGATE_CONFIG")
            .filter(|name| {
                name.strip_prefix("STARGATE_").is_some_and(|rest| {
                    let top = rest.split("__").next().unwrap_or_default();
                    !KEYS.iter().any(|k| k.eq_ignore_ascii_case(top))
                })
            })
            .collect()
    }

    pub fn figment(file: &std::path::Path) -> Figment {
        let mut figment = Figment::new().merge(Toml::file(file)).merge(
            Env::prefixed("STARGATE_").split("__").filter(|key| {
                let top = key.as_str().split('.').next().unwrap_or_default();
                KEYS.iter().any(|k| k.eq_ignore_ascii_case(top))
            }),
        );
        // Figment reads `123456` or `true` in a variable as a number or a boolean, and a
        // secret that looks like one would not load (or, as `007`, lose its zeros): the
        // secrets are taken from the environment verbatim.
        for (variable, key) in VERBATIM_VARIABLES {
            if let Ok(value) = std::env::var(variable) {
                figment = figment.merge(Serialized::default(key, value));
            }
        }
        figment
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("stargate.db").display()))
    }

    /// Checks what serving needs beyond parsing: complete OIDC settings, or a loopback
    /// address for the development sign-in (which trusts whoever can reach it).
    pub fn validate_for_serve(&self) -> Result<(), ConfigError> {
        use secrecy::ExposeSecret;
        match self.auth.mode {
            AuthMode::Dev if !self.listen.ip().is_loopback() => Err(invalid(
                "auth.mode",
                format!(
                    "\"dev\" sign-in lets anyone act as any user, so it only runs on a loopback \
                     address; listen is {}",
                    self.listen
                ),
            )),
            AuthMode::Dev if !loopback_url(&self.public_url()) => Err(invalid(
                "auth.mode",
                format!(
                    "\"dev\" sign-in lets anyone act as any user, so it only runs where the \
                     public URL is loopback too; public_url is {}",
                    self.public_url()
                ),
            )),
            AuthMode::Dev => Ok(()),
            AuthMode::Oidc => {
                let oidc = &self.auth.oidc;
                if oidc.issuer_url.is_empty() {
                    return Err(invalid(
                        "auth.oidc.issuer_url",
                        "required with auth.mode = \"oidc\" (or set auth.mode = \"dev\" to try \
                         Stargate locally)",
                    ));
                }
                if !(oidc.issuer_url.starts_with("https://")
                    || oidc.issuer_url.starts_with("http://"))
                {
                    return Err(invalid("auth.oidc.issuer_url", "must be an http(s) URL"));
                }
                if oidc.client_id.is_empty() {
                    return Err(invalid(
                        "auth.oidc.client_id",
                        "required with auth.mode = \"oidc\"",
                    ));
                }
                if oidc.client_secret.expose_secret().is_empty() {
                    return Err(invalid(
                        "auth.oidc.client_secret",
                        "required with auth.mode = \"oidc\"",
                    ));
                }
                Ok(())
            }
        }?;
        self.validate_teams()?;
        let auth = &self.auth;
        for (key, value, max, span) in [
            (
                "auth.session_idle_minutes",
                auth.session_idle_minutes,
                7 * 24 * 60,
                " (a week)",
            ),
            (
                "auth.session_max_hours",
                auth.session_max_hours,
                366 * 24,
                " (a year)",
            ),
            (
                "auth.token_max_days",
                auth.token_max_days,
                3650,
                " (ten years)",
            ),
            (
                "auth.groups_max_age_hours",
                auth.groups_max_age_hours,
                366 * 24,
                " (a year)",
            ),
            ("auth.max_login_flows", auth.max_login_flows, 1_000_000, ""),
            (
                "http.max_streams_per_user",
                self.http.max_streams_per_user,
                1000,
                "",
            ),
        ] {
            if !(1..=max).contains(&value) {
                return Err(invalid(key, format!("must be from 1 to {max}{span}")));
            }
        }
        if self.http.drain_seconds > 300 {
            return Err(invalid(
                "http.drain_seconds",
                "must be from 0 to 300 (five minutes)",
            ));
        }
        self.validate_clusters()
    }

    /// The clusters and worker settings, as `stargate worker` needs them too.
    /// Team names and namespaces are DNS labels, and no two teams share a namespace (one
    /// team's requests would otherwise change the other's objects).
    pub fn validate_teams(&self) -> Result<(), ConfigError> {
        let mut namespaces = std::collections::HashMap::new();
        for team in &self.teams {
            domain::TeamName::parse("teams.name", &team.name)
                .map_err(|e| invalid("teams.name", e.to_string()))?;
            let namespace = team.namespace();
            domain::names::check_dns_label(&namespace)
                .map_err(|e| invalid("teams.namespace", e))?;
            if let Some(other) = namespaces.insert(namespace.clone(), team.name.clone()) {
                return Err(invalid(
                    "teams.namespace",
                    format!(
                        "teams {other} and {} both use namespace {namespace}; each team needs its own",
                        team.name
                    ),
                ));
            }
        }
        Ok(())
    }

    /// A `stargate worker` checks each request against its team's rules again before
    /// applying it, so it needs the teams `stargate serve` has (the same config file).
    pub fn validate_for_worker(&self) -> Result<(), ConfigError> {
        if self.teams.is_empty() {
            return Err(invalid(
                "teams",
                "a worker re-checks each request against its team's rules before applying it, \
                 so it needs the same [[teams]] as `stargate serve`; none are configured",
            ));
        }
        self.validate_clusters()
    }

    pub fn validate_clusters(&self) -> Result<(), ConfigError> {
        for cluster in &self.clusters {
            domain::names::check_dns_label(&cluster.name)
                .map_err(|e| invalid("clusters.name", e))?;
            match cluster.kind {
                ClusterKind::Kubeconfig if cluster.context.is_none() => {
                    return Err(invalid(
                        "clusters.context",
                        format!("required for kubeconfig cluster {}", cluster.name),
                    ));
                }
                ClusterKind::Eks if cluster.region.is_none() || cluster.eks_cluster.is_none() => {
                    return Err(invalid(
                        "clusters.region",
                        format!("eks cluster {} needs region and eks_cluster", cluster.name),
                    ));
                }
                _ => {}
            }
            if cluster.delivery == Delivery::Gitops {
                if cluster.kind == ClusterKind::DryRun {
                    return Err(invalid(
                        "clusters.delivery",
                        format!(
                            "dry-run cluster {} cannot be gitops: nothing would apply it",
                            cluster.name
                        ),
                    ));
                }
                if self.iac.remote.is_none() {
                    return Err(invalid(
                        "clusters.delivery",
                        format!(
                            "gitops cluster {} needs iac.remote: that is where Argo CD or Flux reads its changes",
                            cluster.name
                        ),
                    ));
                }
            }
        }
        if self.worker.lease_seconds < 3 {
            return Err(invalid(
                "worker.lease_seconds",
                "must be at least 3 (the lease is renewed at a third of it)",
            ));
        }
        if self.worker.max_attempts == 0 {
            return Err(invalid("worker.max_attempts", "must be at least 1"));
        }
        // Each job holds a database connection at times, and the pool has ten.
        if !(1..=8).contains(&self.worker.concurrency) {
            return Err(invalid("worker.concurrency", "must be from 1 to 8"));
        }
        if self
            .iac
            .remote
            .as_deref()
            .is_some_and(|r| r.starts_with('-') || r.trim().is_empty())
        {
            return Err(invalid("iac.remote", "must be a URL or a path"));
        }
        if !git2::Reference::is_valid_name(&format!("refs/heads/{}", self.iac.branch)) {
            return Err(invalid("iac.branch", "is not a valid git branch name"));
        }
        Ok(())
    }

    /// How to open the database.
    pub fn store_options(&self) -> crate::store::StoreOptions {
        crate::store::StoreOptions {
            synchronous_full: self.storage.synchronous == Synchronous::Full,
        }
    }

    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
    }
}

#[cfg(test)]
// figment's `Jail` closures return its (large) error type; that is its API, not ours.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;
    use secrecy::ExposeSecret;

    /// Why the settings from `file` and the environment do not load.
    fn load_error(file: &str) -> String {
        Settings::load(file.as_ref()).unwrap_err().to_string()
    }

    /// Why settings that load are refused for `stargate serve`.
    fn serve_error(file: &str) -> String {
        Settings::load(file.as_ref())
            .unwrap()
            .validate_for_serve()
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn defaults_without_file_or_environment() {
        Jail::expect_with(|_| {
            let settings = Settings::load("missing.toml".as_ref()).unwrap();
            assert_eq!(settings.listen, Settings::default().listen);
            assert_eq!(settings.auth.mode, AuthMode::Oidc);
            assert_eq!(settings.database_url(), "sqlite://./data/stargate.db");
            assert_eq!(settings.public_url(), "http://127.0.0.1:3000");
            Ok(())
        });
    }

    #[test]
    fn environment_overrides_file() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "stargate.toml",
                "listen = \"127.0.0.1:4000\"\n[log]\nformat = \"json\"\n",
            )?;
            jail.set_env("STARGATE_LISTEN", "127.0.0.1:5000");
            jail.set_env("STARGATE_LOG__FILTER", "debug");
            let settings = Settings::load("stargate.toml".as_ref()).unwrap();
            assert_eq!(settings.listen.port(), 5000);
            assert_eq!(settings.log.format, LogFormat::Json);
            assert_eq!(settings.log.filter, "debug");
            Ok(())
        });
    }

    #[test]
    fn secrets_that_look_like_numbers_or_booleans_load_as_written() {
        Jail::expect_with(|jail| {
            jail.set_env("STARGATE_METRICS__TOKEN", "007");
            jail.set_env("STARGATE_AUTH__OIDC__CLIENT_SECRET", "true");
            jail.set_env("STARGATE_IAC__HTTPS_TOKEN", "123456");
            let settings = Settings::load("stargate.toml".as_ref()).unwrap();
            let token = settings.metrics.token.as_ref().map(|t| t.expose_secret());
            assert_eq!(token, Some("007"));
            assert_eq!(settings.auth.oidc.client_secret.expose_secret(), "true");
            let https = settings.iac.https_token.as_ref().map(|t| t.expose_secret());
            assert_eq!(https, Some("123456"));
            Ok(())
        });
    }

    #[test]
    fn a_typo_in_the_file_names_the_key() {
        Jail::expect_with(|jail| {
            jail.create_file("stargate.toml", "lsten = \"127.0.0.1:4000\"\n")?;
            let error = load_error("stargate.toml");
            assert!(error.contains("lsten"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn a_bad_value_names_the_key() {
        Jail::expect_with(|jail| {
            jail.set_env("STARGATE_LISTEN", "not-an-address");
            let error = load_error("none.toml");
            assert!(
                error.contains("STARGATE_") && error.contains("LISTEN"),
                "{error}"
            );
            Ok(())
        });
    }

    #[test]
    fn a_typo_in_a_nested_environment_key_is_refused() {
        Jail::expect_with(|jail| {
            jail.set_env("STARGATE_LOG__FROMAT", "json");
            let error = load_error("none.toml");
            assert!(error.to_lowercase().contains("fromat"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn oidc_mode_needs_an_issuer_and_dev_mode_needs_loopback() {
        Jail::expect_with(|jail| {
            let error = serve_error("none.toml");
            assert!(error.contains("auth.oidc.issuer_url"), "{error}");

            jail.set_env("STARGATE_AUTH__MODE", "dev");
            jail.set_env("STARGATE_LISTEN", "0.0.0.0:3000");
            let error = serve_error("none.toml");
            assert!(
                error.contains("auth.mode") && error.contains("loopback"),
                "{error}"
            );

            jail.set_env("STARGATE_LISTEN", "127.0.0.1:3000");
            let settings = Settings::load("none.toml".as_ref()).unwrap();
            assert!(settings.validate_for_serve().is_ok());

            // Behind a proxy that publishes it: the public URL must be loopback too.
            jail.set_env("STARGATE_PUBLIC_URL", "https://portal.example.com");
            let error = serve_error("none.toml");
            assert!(
                error.contains("public_url is https://portal.example.com"),
                "{error}"
            );
            for local in [
                "http://localhost:3000",
                "http://[::1]:3000",
                "http://127.0.0.2",
            ] {
                jail.set_env("STARGATE_PUBLIC_URL", local);
                let settings = Settings::load("none.toml".as_ref()).unwrap();
                assert!(settings.validate_for_serve().is_ok(), "{local}");
            }
            Ok(())
        });
    }

    #[test]
    fn teams_need_namespaces_of_their_own() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "stargate.toml",
                r#"
                [[teams]]
                name = "payments"
                [[teams]]
                name = "billing"
                namespace = "payments"
                "#,
            )?;
            let error = Settings::load("stargate.toml".as_ref())
                .unwrap()
                .validate_teams()
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("teams.namespace") && error.contains("payments and billing"),
                "{error}"
            );
            Ok(())
        });
    }

    #[test]
    fn the_stream_cap_has_a_default_and_refuses_zero() {
        Jail::expect_with(|jail| {
            jail.set_env("STARGATE_AUTH__MODE", "dev");
            let settings = Settings::load("none.toml".as_ref()).unwrap();
            assert_eq!(settings.http.max_streams_per_user, 20);
            jail.set_env("STARGATE_HTTP__MAX_STREAMS_PER_USER", "0");
            let error = serve_error("none.toml");
            assert!(error.contains("http.max_streams_per_user"), "{error}");
            jail.set_env("STARGATE_HTTP__MAX_STREAMS_PER_USER", "many");
            let error = load_error("none.toml");
            assert!(
                error.to_lowercase().contains("max_streams_per_user"),
                "{error}"
            );
            Ok(())
        });
    }

    #[test]
    fn worker_concurrency_has_a_default_and_refuses_zero_and_too_many() {
        Jail::expect_with(|jail| {
            jail.set_env("STARGATE_AUTH__MODE", "dev");
            let settings = Settings::load("none.toml".as_ref()).unwrap();
            assert_eq!(settings.worker.concurrency, 4);
            for refused in ["0", "9"] {
                jail.set_env("STARGATE_WORKER__CONCURRENCY", refused);
                let error = serve_error("none.toml");
                assert!(error.contains("worker.concurrency"), "{refused}: {error}");
            }
            jail.set_env("STARGATE_WORKER__CONCURRENCY", "1");
            let settings = Settings::load("none.toml".as_ref()).unwrap();
            assert!(settings.validate_for_serve().is_ok());
            Ok(())
        });
    }

    #[test]
    fn trusted_proxies_default_to_none_and_come_from_file_or_environment() {
        Jail::expect_with(|jail| {
            let settings = Settings::load("none.toml".as_ref()).unwrap();
            assert!(settings.http.trusted_proxies.is_empty());

            jail.create_file(
                "stargate.toml",
                "[http]\ntrusted_proxies = [\"10.0.0.0/8\", \"192.0.2.7\"]\n",
            )?;
            let proxies = Settings::load("stargate.toml".as_ref())
                .unwrap()
                .http
                .trusted_proxies;
            assert!(proxies.contains("10.9.8.7".parse().unwrap()));
            assert!(proxies.contains("192.0.2.7".parse().unwrap()));
            assert!(!proxies.contains("192.0.2.8".parse().unwrap()));

            // In the environment: comma-separated, or a list.
            for value in ["172.16.0.0/12, fd00::/8", "[172.16.0.0/12, \"fd00::/8\"]"] {
                jail.set_env("STARGATE_HTTP__TRUSTED_PROXIES", value);
                let proxies = Settings::load("stargate.toml".as_ref())
                    .unwrap()
                    .http
                    .trusted_proxies;
                assert!(proxies.contains("172.20.0.1".parse().unwrap()), "{value}");
                assert!(proxies.contains("fd00::1".parse().unwrap()), "{value}");
                assert!(!proxies.contains("10.9.8.7".parse().unwrap()), "{value}");
            }
            Ok(())
        });
    }

    #[test]
    fn a_bad_trusted_proxy_range_names_the_key() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "stargate.toml",
                "[http]\ntrusted_proxies = [\"proxy.internal\"]\n",
            )?;
            let error = load_error("stargate.toml");
            assert!(
                error.contains("trusted_proxies") && error.contains("proxy.internal"),
                "{error}"
            );
            jail.set_env("STARGATE_HTTP__TRUSTED_PROXIES", "10.0.0.0/8,10.0.0.0/33");
            let error = load_error("none.toml");
            assert!(
                error.to_lowercase().contains("trusted_proxies") && error.contains("10.0.0.0/33"),
                "{error}"
            );
            Ok(())
        });
    }

    #[test]
    fn the_login_flow_bound_has_a_default_and_refuses_zero() {
        Jail::expect_with(|jail| {
            jail.set_env("STARGATE_AUTH__MODE", "dev");
            let settings = Settings::load("none.toml".as_ref()).unwrap();
            assert_eq!(settings.auth.max_login_flows, 10_000);
            jail.set_env("STARGATE_AUTH__MAX_LOGIN_FLOWS", "0");
            let error = serve_error("none.toml");
            assert!(error.contains("auth.max_login_flows"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn teams_come_from_the_file() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "stargate.toml",
                r#"
                [[teams]]
                name = "payments"
                member_groups = ["payments"]
                lead_groups = ["payments-leads"]
                allowed_domains = ["payments.example.com"]
                "#,
            )?;
            let settings = Settings::load("stargate.toml".as_ref()).unwrap();
            assert_eq!(settings.teams.len(), 1);
            assert_eq!(settings.teams[0].required_approvals, 1);
            assert_eq!(settings.teams[0].lead_groups, ["payments-leads"]);
            Ok(())
        });
    }

    #[test]
    fn the_client_secret_never_prints() {
        Jail::expect_with(|jail| {
            jail.set_env("STARGATE_AUTH__OIDC__CLIENT_SECRET", "hunter2-very-secret");
            let settings = Settings::load("none.toml".as_ref()).unwrap();
            assert!(!format!("{settings:?}").contains("hunter2"));
            Ok(())
        });
    }

    #[test]
    fn unrelated_variables_with_our_prefix_are_ignored() {
        Jail::expect_with(|jail| {
            jail.set_env("STARGATE_VALIDATE_VENV", "/tmp/venv");
            jail.set_env("STARGATE_LSITEN", "127.0.0.1:9999");
            jail.set_env("STARGATE_LOG__FORMAT", "json");
            assert!(Settings::load("none.toml".as_ref()).is_ok());
            // The test's own environment may hold more.
            let unknown = Settings::unknown_variables();
            for name in ["STARGATE_LSITEN", "STARGATE_VALIDATE_VENV"] {
                assert!(unknown.iter().any(|u| u == name), "{unknown:?}");
            }
            assert!(!unknown.iter().any(|u| u.starts_with("STARGATE_LOG")));
            Ok(())
        });
    }

    #[test]
    fn a_bad_log_filter_fails_naming_the_key() {
        Jail::expect_with(|jail| {
            jail.set_env("STARGATE_LOG__FILTER", "stargate=loudly");
            let error = load_error("none.toml");
            assert!(error.contains("log.filter"), "{error}");
            Ok(())
        });
    }
}
