//! A service's environment: plain values, which everyone can read (reviews happen in the
//! open), or references to secrets, whose values never pass through Stargate.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    FieldError,
    names::check_dns_label,
    request::fields::{parse_env_name, parse_env_value},
};

/// Where one environment variable's value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EnvValue {
    /// Written into the manifests as is: readable by everyone signed in.
    Plain(String),
    /// `{"secret": "db-credentials", "key": "password"}`: a key of a Secret that already
    /// exists in the team's namespace.
    Secret { secret: String, key: String },
    /// `{"external": {"store": "vault", "key": "payments/db", "property": "password"}}`: a
    /// value the service's ExternalSecret (rendered with the request) fetches from a
    /// ClusterSecretStore.
    External { external: ExternalRef },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalRef {
    pub store: String,
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
}

/// Longest remote key or property accepted.
const MAX_REMOTE_KEY: usize = 256;

/// Words in a variable's name that say its value is a secret.
const SECRET_WORDS: [&str; 5] = ["PASSWORD", "PASSWD", "TOKEN", "SECRET", "PRIVATE_KEY"];

/// Why a plain value looks like a secret, if it does: its name (`DB_PASSWORD`, `API_TOKEN`,
/// `CLIENT_SECRET`, `STRIPE_KEY`) or a URL carrying credentials (`postgres://u:p@db`).
pub fn looks_secret(name: &str, value: &str) -> Option<&'static str> {
    let upper = name.to_ascii_uppercase();
    if SECRET_WORDS.iter().any(|w| upper.contains(w)) || upper.ends_with("_KEY") {
        return Some("its name says it is a secret");
    }
    let credentials = value.split_once("://").is_some_and(|(_, rest)| {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        authority
            .rsplit_once('@')
            .is_some_and(|(userinfo, _)| userinfo.contains(':'))
    });
    credentials.then_some("it is a URL with credentials in it")
}

fn secret_name(path: &str, value: &str) -> Result<String, FieldError> {
    check_dns_label(value)
        .map(|()| value.to_owned())
        .map_err(|e| FieldError::new(path, e))
}

/// A Secret's key: letters, digits, `-`, `_` and `.`, as Kubernetes allows.
fn secret_key(path: &str, value: &str) -> Result<String, FieldError> {
    let valid = !value.is_empty()
        && value.len() <= 253
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(value.to_owned())
    } else {
        Err(FieldError::new(
            path,
            "must be a Secret key: letters, digits, '-', '_' or '.'",
        ))
    }
}

fn remote(path: &str, value: Option<&Value>) -> Result<String, FieldError> {
    match value.and_then(Value::as_str) {
        Some(v) if !v.trim().is_empty() && v.len() <= MAX_REMOTE_KEY && !v.contains('\0') => {
            Ok(v.to_owned())
        }
        _ => Err(FieldError::new(
            path,
            format!("is required: a non-empty string of at most {MAX_REMOTE_KEY} characters"),
        )),
    }
}

const HOW: &str = "use a secret reference instead: {\"secret\": NAME, \"key\": KEY} for a Secret \
                   of the team's namespace, or {\"external\": {\"store\": STORE, \"key\": KEY}} \
                   for an external secret";

/// One entry of `spec.env` (`path` is `spec.env.NAME`): its name and where its value comes
/// from. Plain values that look like secrets are refused: manifests and pages show them to
/// everyone signed in.
pub fn parse_env(path: &str, name: &str, value: &Value) -> Result<(String, EnvValue), FieldError> {
    let name = parse_env_name(path, name)?;
    let value = match value {
        Value::String(plain) => {
            let plain = parse_env_value(path, plain)?;
            if let Some(why) = looks_secret(&name, &plain) {
                return Err(FieldError::new(
                    path,
                    format!(
                        "looks like a secret ({why}), and plain values are readable by everyone; {HOW}"
                    ),
                ));
            }
            EnvValue::Plain(plain)
        }
        Value::Object(map) if map.contains_key("secret") => {
            if let Some(extra) = map.keys().find(|k| !matches!(k.as_str(), "secret" | "key")) {
                return Err(FieldError::new(
                    format!("{path}.{extra}"),
                    "is not a field of a secret reference (secret, key)",
                ));
            }
            let text = |key: &str| map.get(key).and_then(Value::as_str).unwrap_or_default();
            EnvValue::Secret {
                secret: secret_name(&format!("{path}.secret"), text("secret"))?,
                key: secret_key(&format!("{path}.key"), text("key"))?,
            }
        }
        Value::Object(map) if map.len() == 1 && map.contains_key("external") => {
            let Some(external) = map["external"].as_object() else {
                return Err(FieldError::new(
                    format!("{path}.external"),
                    "must be an object with store, key and optionally property",
                ));
            };
            if let Some(extra) = external
                .keys()
                .find(|k| !matches!(k.as_str(), "store" | "key" | "property"))
            {
                return Err(FieldError::new(
                    format!("{path}.external.{extra}"),
                    "is not a field of an external secret (store, key, property)",
                ));
            }
            let store = external
                .get("store")
                .and_then(Value::as_str)
                .unwrap_or_default();
            EnvValue::External {
                external: ExternalRef {
                    store: secret_name(&format!("{path}.external.store"), store)?,
                    key: remote(&format!("{path}.external.key"), external.get("key"))?,
                    property: match external.get("property") {
                        None => None,
                        value => Some(remote(&format!("{path}.external.property"), value)?),
                    },
                },
            }
        }
        _ => {
            return Err(FieldError::new(
                path,
                format!("must be a string, or a secret reference: {HOW}"),
            ));
        }
    };
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn plain_values_that_look_like_secrets_are_refused() {
        for (name, value) in [
            ("DB_PASSWORD", "hunter2"),
            ("GITHUB_TOKEN", "ghp_x"),
            ("client_secret", "x"),
            ("STRIPE_KEY", "sk_live"),
            ("TLS_PRIVATE_KEY", "-----BEGIN"),
            ("DATABASE_URL", "postgres://app:hunter2@db:5432/app"),
            ("AMQP", "amqps://user:pw@mq.example.com"),
        ] {
            let error = parse_env("spec.env.X", name, &json!(value)).unwrap_err();
            assert!(error.message.contains("looks like a secret"), "{name}");
            assert!(error.message.contains("secret reference"), "{name}");
        }
        for (name, value) in [
            ("LOG_LEVEL", "info"),
            ("KEYCLOAK_REALM", "company"),
            ("DATABASE_URL", "postgres://db:5432/app"),
            ("CALLBACK", "https://user@example.com/x"),
        ] {
            assert_eq!(
                parse_env("spec.env.X", name, &json!(value)),
                Ok((name.to_owned(), EnvValue::Plain(value.to_owned()))),
                "{name}"
            );
        }
    }

    #[test]
    fn references_name_a_secret_or_an_external_store() {
        assert_eq!(
            parse_env(
                "spec.env.DB_PASSWORD",
                "DB_PASSWORD",
                &json!({"secret": "db-credentials", "key": "password"})
            ),
            Ok((
                "DB_PASSWORD".to_owned(),
                EnvValue::Secret {
                    secret: "db-credentials".into(),
                    key: "password".into()
                }
            ))
        );
        let external =
            json!({"external": {"store": "vault", "key": "payments/db", "property": "password"}});
        let (_, value) = parse_env("spec.env.DB_PASSWORD", "DB_PASSWORD", &external).unwrap();
        assert_eq!(
            serde_json::to_value(&value).unwrap(),
            external,
            "round trip"
        );
        let refused = [
            (
                json!({"secret": "Db", "key": "password"}),
                "spec.env.X.secret",
            ),
            (
                json!({"secret": "db", "key": "pass word"}),
                "spec.env.X.key",
            ),
            (
                json!({"secret": "db", "key": "k", "value": "v"}),
                "spec.env.X.value",
            ),
            (
                json!({"external": {"store": "vault"}}),
                "spec.env.X.external.key",
            ),
            (
                json!({"external": {"store": "vault", "key": "k", "version": 2}}),
                "spec.env.X.external.version",
            ),
            (json!({"external": "vault/k"}), "spec.env.X.external"),
            (json!(42), "spec.env.X"),
        ];
        for (value, path) in refused {
            let error = parse_env("spec.env.X", "X", &value).unwrap_err();
            assert_eq!(error.path, path, "{value}");
        }
    }
}
