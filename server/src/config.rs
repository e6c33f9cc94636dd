//! Settings: `stargate.toml` (optional) overlaid by `STARGATE_*` environment variables,
//! nested keys joined by a double underscore (`STARGATE_AUTH__MODE`).

use std::{net::SocketAddr, path::PathBuf};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize};

/// Top-level keys; environment variables outside them (e.g. tools sharing the prefix)
/// are not ours and are ignored rather than rejected.
const KEYS: &[&str] = &[
    "listen",
    "public_url",
    "data_dir",
    "database_url",
    "site_root",
    "log",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `tracing` filter, e.g. `info,sqlx=warn`; `RUST_LOG` wins when set.
    pub filter: String,
    /// `pretty` for people, `json` for log pipelines.
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
            log: LogSettings {
                filter: "info,sqlx=warn".into(),
                format: LogFormat::Pretty,
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(#[from] Box<figment::Error>);

impl Settings {
    /// Defaults, then the TOML file if it exists, then the environment.
    pub fn load(file: &std::path::Path) -> Result<Self, ConfigError> {
        Self::figment(file)
            .extract()
            .map_err(|e| ConfigError(Box::new(e)))
    }

    pub fn figment(file: &std::path::Path) -> Figment {
        Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::file(file))
            .merge(Env::prefixed("STARGATE_").split("__").filter(|key| {
                let top = key.as_str().split('.').next().unwrap_or_default();
                KEYS.iter().any(|k| k.eq_ignore_ascii_case(top))
            }))
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("stargate.db").display()))
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

    #[test]
    fn defaults_without_file_or_environment() {
        Jail::expect_with(|_| {
            let settings = Settings::load("missing.toml".as_ref()).unwrap();
            assert_eq!(settings, Settings::default());
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
    fn a_typo_in_the_file_names_the_key() {
        Jail::expect_with(|jail| {
            jail.create_file("stargate.toml", "lsten = \"127.0.0.1:4000\"\n")?;
            let error = Settings::load("stargate.toml".as_ref())
                .unwrap_err()
                .to_string();
            assert!(error.contains("lsten"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn a_bad_value_names_the_key() {
        Jail::expect_with(|jail| {
            jail.set_env("STARGATE_LISTEN", "not-an-address");
            let error = Settings::load("none.toml".as_ref())
                .unwrap_err()
                .to_string();
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
            let error = Settings::load("none.toml".as_ref())
                .unwrap_err()
                .to_string();
            assert!(error.to_lowercase().contains("fromat"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn unrelated_variables_with_our_prefix_are_ignored() {
        Jail::expect_with(|jail| {
            jail.set_env("STARGATE_VALIDATE_VENV", "/tmp/venv");
            assert!(Settings::load("none.toml".as_ref()).is_ok());
            Ok(())
        });
    }
}
