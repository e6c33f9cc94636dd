//! `stargate install-manifests`: the Kubernetes objects that run Stargate itself, for a
//! given `stargate.toml`: the same objects `deploy/kubernetes/` builds with Kustomize, so
//! the first request a platform team reviews can be Stargate's own.
//!
//! The configuration file becomes a ConfigMap as it is; secrets never do. They come from
//! the Secret `stargate` (see [`SECRETS`]), and a file that holds one is refused.

mod objects;

use figment::{
    Figment,
    providers::{Format, Toml},
};
use secrecy::ExposeSecret;

use crate::config::{AuthMode, Settings};

/// The Secret the pods read their secrets from, and the environment variable each key
/// becomes: (key, variable, required).
pub const SECRET_NAME: &str = "stargate";
pub const SECRETS: &[(&str, &str, bool)] = &[
    (
        "oidc-client-secret",
        "STARGATE_AUTH__OIDC__CLIENT_SECRET",
        true,
    ),
    ("metrics-token", "STARGATE_METRICS__TOKEN", false),
    ("iac-https-token", "STARGATE_IAC__HTTPS_TOKEN", false),
];
/// The key holding the PostgreSQL URL (with its password).
pub const DATABASE_URL_KEY: &str = "database-url";

/// Which database the installation runs on; it decides the shape of the deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Database {
    /// One pod with the embedded worker and a ReadWriteOnce volume: SQLite has one writer.
    Sqlite,
    /// Several web pods and separate workers on a PostgreSQL database (URL in the Secret).
    Postgres,
}

/// What the command line chooses beyond the configuration file (`stargate
/// install-manifests`'s options; the defaults are `Default`'s).
#[derive(Debug, Clone, clap::Args)]
pub struct InstallOptions {
    /// The namespace Stargate runs in.
    #[arg(long, default_value = "stargate")]
    pub namespace: String,
    /// The image, e.g. `registry.example.com/platform/stargate:0.1.0`.
    #[arg(long, default_value_t = default_image())]
    pub image: String,
    /// `postgres`: web pods and workers apart, highly available; `sqlite`: one pod.
    /// Inferred from the file's `database_url` when left out.
    #[arg(long, value_enum)]
    pub database: Option<Database>,
    /// Web (`serve`) pods (PostgreSQL only).
    #[arg(long, default_value_t = 2)]
    pub replicas: u16,
    /// `stargate worker` pods (PostgreSQL only).
    #[arg(long, default_value_t = 2)]
    pub workers: u16,
    /// The data volume's StorageClass; the cluster's default when left out. On
    /// PostgreSQL the volume is ReadWriteMany, which EKS's default (EBS) cannot give.
    #[arg(long)]
    pub storage_class: Option<String>,
}

/// The command line's defaults, stated once (in the `#[arg]`s).
impl Default for InstallOptions {
    fn default() -> Self {
        #[derive(clap::Parser)]
        struct Command {
            #[command(flatten)]
            options: InstallOptions,
        }
        <Command as clap::Parser>::parse_from(["install-manifests"]).options
    }
}

/// The image `make image` tags: `stargate:<version>`.
pub fn default_image() -> String {
    format!("stargate:{}", env!("CARGO_PKG_VERSION"))
}

/// Why no manifests were printed; each names the setting or option to change.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("the configuration file does not parse: {0}")]
    Config(#[from] Box<figment::Error>),
    #[error(
        "{key} is a secret and would land in a ConfigMap: remove it from the file and put it \
         in the Secret `{SECRET_NAME}` under the key `{secret_key}`"
    )]
    SecretInConfig {
        key: &'static str,
        secret_key: &'static str,
    },
    #[error("{key}: {message}")]
    Invalid { key: &'static str, message: String },
}

/// The objects, in the order `kubectl apply` needs them (namespace first).
pub fn install_manifests(
    config_text: &str,
    options: &InstallOptions,
) -> Result<Vec<serde_json::Value>, InstallError> {
    let settings: Settings = Figment::new()
        .merge(Toml::string(config_text))
        .extract()
        .map_err(Box::new)?;
    check_no_secrets(&settings)?;
    let database = match (options.database, settings.database_url.as_deref()) {
        (Some(database), _) => database,
        (None, Some(url)) if url.starts_with("postgres") => Database::Postgres,
        (None, _) => Database::Sqlite,
    };
    if settings.auth.mode == AuthMode::Dev {
        return Err(invalid(
            "auth.mode",
            "\"dev\" lets anyone act as any user; a cluster installation signs in with \"oidc\"",
        ));
    }
    let host = ingress_host(&settings)?;
    // A namespace is a DNS label, like a team's name.
    if domain::TeamName::parse("--namespace", &options.namespace).is_err() {
        return Err(invalid(
            "--namespace",
            format!("{:?} is not a Kubernetes namespace name", options.namespace),
        ));
    }
    if let Some(class) = &options.storage_class
        && domain::TeamName::parse("--storage-class", class).is_err()
    {
        return Err(invalid(
            "--storage-class",
            format!("{class:?} is not a StorageClass name"),
        ));
    }
    if database == Database::Postgres && (options.replicas == 0 || options.workers == 0) {
        return Err(invalid("--replicas/--workers", "at least 1 each"));
    }
    let plan = objects::Installation {
        namespace: &options.namespace,
        image: &options.image,
        database,
        replicas: options.replicas,
        workers: options.workers,
        storage_class: options.storage_class.as_deref(),
        host: &host.0,
        tls: host.1,
        config_text,
    };
    plan.objects()
        .map_err(|e| invalid("manifests", format!("cannot serialise: {e}")))
}

/// The objects as one multi-document YAML stream.
pub fn to_yaml(objects: &[serde_json::Value]) -> Result<String, serde_norway::Error> {
    objects
        .iter()
        .map(|o| serde_norway::to_string(o).map(|yaml| format!("---\n{yaml}")))
        .collect()
}

fn check_no_secrets(settings: &Settings) -> Result<(), InstallError> {
    let secret = |key, secret_key| Err(InstallError::SecretInConfig { key, secret_key });
    if !settings.auth.oidc.client_secret.expose_secret().is_empty() {
        return secret("auth.oidc.client_secret", SECRETS[0].0);
    }
    if settings.metrics.token.is_some() {
        return secret("metrics.token", SECRETS[1].0);
    }
    if settings.iac.https_token.is_some() {
        return secret("iac.https_token", SECRETS[2].0);
    }
    if let Some(url) = &settings.database_url {
        let password = reqwest::Url::parse(url)
            .map(|u| u.password().is_some())
            .unwrap_or(true);
        if password || url.contains("password=") {
            return secret("database_url", DATABASE_URL_KEY);
        }
    }
    Ok(())
}

/// The Ingress's host, and whether it serves TLS, from `public_url`.
fn ingress_host(settings: &Settings) -> Result<(String, bool), InstallError> {
    let Some(public_url) = &settings.public_url else {
        return Err(invalid(
            "public_url",
            "is required: it is the Ingress's host and where the identity provider returns",
        ));
    };
    let url = reqwest::Url::parse(public_url)
        .map_err(|e| invalid("public_url", format!("{public_url:?}: {e}")))?;
    let Some(host) = url
        .host_str()
        .filter(|h| h.parse::<std::net::IpAddr>().is_err())
    else {
        return Err(invalid(
            "public_url",
            "must name a DNS host for the Ingress",
        ));
    };
    Ok((host.to_owned(), url.scheme() == "https"))
}

fn invalid(key: &'static str, message: impl Into<String>) -> InstallError {
    InstallError::Invalid {
        key,
        message: message.into(),
    }
}

#[cfg(test)]
mod tests;
