//! The new-request form's state: every input as typed, turned into the JSON body the API
//! takes, so the browser and the server validate exactly the same thing.

use domain::request::RequestKind;
use leptos::prelude::*;
use serde_json::{Map, Value, json};

/// Every input of the forms; each kind reads the ones it has.
#[derive(Clone, Copy)]
pub struct FormState {
    pub kind: RwSignal<RequestKind>,
    pub team: RwSignal<String>,
    pub cluster: RwSignal<String>,
    pub reason: RwSignal<String>,
    // service
    pub name: RwSignal<String>,
    pub image: RwSignal<String>,
    pub port: RwSignal<String>,
    pub replicas: RwSignal<String>,
    pub protocol: RwSignal<String>,
    pub cpu: RwSignal<String>,
    pub memory: RwSignal<String>,
    /// `KEY=value` per line.
    pub env: RwSignal<String>,
    // ingress
    pub host: RwSignal<String>,
    pub service: RwSignal<String>,
    pub path: RwSignal<String>,
    pub class: RwSignal<String>,
    pub tls: RwSignal<String>,
    pub acm_certificate_arn: RwSignal<String>,
    pub alb_scheme: RwSignal<String>,
    pub alb_target_type: RwSignal<String>,
    // certificate
    /// One name per line.
    pub dns_names: RwSignal<String>,
    pub issuer: RwSignal<String>,
    pub challenge: RwSignal<String>,
    // exposure (with service, port and protocol above)
    pub external_port: RwSignal<String>,
    pub via: RwSignal<String>,
    pub scheme: RwSignal<String>,
}

impl FormState {
    /// Sensible defaults: the fields most requests leave as they are come filled in.
    pub fn new(kind: RequestKind) -> Self {
        let text = |v: &str| RwSignal::new(v.to_owned());
        Self {
            kind: RwSignal::new(kind),
            team: text(""),
            cluster: text(""),
            reason: text(""),
            name: text(""),
            image: text(""),
            port: text("8080"),
            replicas: text("2"),
            protocol: text("http"),
            cpu: text("250m"),
            memory: text("256Mi"),
            env: text(""),
            host: text(""),
            service: text(""),
            path: text("/"),
            class: text("nginx"),
            tls: text("none"),
            acm_certificate_arn: text(""),
            alb_scheme: text("internet-facing"),
            alb_target_type: text("ip"),
            dns_names: text(""),
            issuer: text("letsencrypt-prod"),
            challenge: text("http01"),
            external_port: text(""),
            via: text("nginx"),
            scheme: text("internal"),
        }
    }

    /// The input posted as `name`, e.g. `spec.alb.scheme`; `None` for a name no form has.
    fn input(self, name: &str) -> Option<RwSignal<String>> {
        Some(match name {
            "team" => self.team,
            "cluster" => self.cluster,
            "reason" => self.reason,
            "spec.name" => self.name,
            "spec.image" => self.image,
            "spec.port" => self.port,
            "spec.replicas" => self.replicas,
            "spec.protocol" => self.protocol,
            "spec.cpu" => self.cpu,
            "spec.memory" => self.memory,
            "spec.env" => self.env,
            "spec.host" => self.host,
            "spec.service" => self.service,
            "spec.path" => self.path,
            "spec.class" => self.class,
            "spec.tls" => self.tls,
            "spec.acm_certificate_arn" => self.acm_certificate_arn,
            "spec.alb.scheme" => self.alb_scheme,
            "spec.alb.target_type" => self.alb_target_type,
            "spec.dns_names" => self.dns_names,
            "spec.issuer" => self.issuer,
            "spec.challenge" => self.challenge,
            "spec.external_port" => self.external_port,
            "spec.via" => self.via,
            "spec.scheme" => self.scheme,
            _ => return None,
        })
    }

    /// Puts back what a plain form post sent (the server's answer to a page without wasm).
    pub fn fill(self, posted: &[(String, String)]) {
        for (name, value) in posted {
            if let Some(input) = self.input(name) {
                input.set(value.clone());
            }
        }
    }

    /// The request body for the current inputs (tracks every input it reads).
    pub fn to_input(self) -> Value {
        request_input(self.kind.get(), |name| {
            self.input(name).map(|s| s.get()).unwrap_or_default()
        })
    }
}

/// The request body for a form of `kind` whose inputs, by name (`spec.host`), hold the
/// text `field` gives. The browser's live check and a plain form post both go through it,
/// so they validate exactly the same body.
pub fn request_input(kind: RequestKind, field: impl Fn(&str) -> String) -> Value {
    let mut spec = Map::new();
    let mut text = |key: &str| {
        let value = field(&format!("spec.{key}"));
        if !value.trim().is_empty() {
            spec.insert(key.to_owned(), Value::String(value.trim().to_owned()));
        }
    };
    match kind {
        RequestKind::Service => {
            for key in ["name", "image", "protocol", "cpu", "memory"] {
                text(key);
            }
            number(&mut spec, "port", &field("spec.port"));
            number(&mut spec, "replicas", &field("spec.replicas"));
            let env = env_map(&field("spec.env"));
            if !env.is_empty() {
                spec.insert("env".into(), Value::Object(env));
            }
        }
        RequestKind::Ingress => {
            for key in ["host", "service", "path", "class", "protocol", "tls"] {
                text(key);
            }
            if field("spec.tls") == "acm" {
                text("acm_certificate_arn");
            }
            number(&mut spec, "port", &field("spec.port"));
            if field("spec.class") == "alb" {
                spec.insert(
                    "alb".into(),
                    json!({
                        "scheme": field("spec.alb.scheme"),
                        "target_type": field("spec.alb.target_type"),
                    }),
                );
            }
        }
        RequestKind::Certificate => {
            for key in ["name", "issuer", "challenge"] {
                text(key);
            }
            let names: Vec<Value> = lines(&field("spec.dns_names"))
                .map(|l| Value::String(l.to_owned()))
                .collect();
            spec.insert("dns_names".into(), Value::Array(names));
        }
        RequestKind::Exposure => {
            for key in ["service", "protocol", "via"] {
                text(key);
            }
            if field("spec.via") == "nlb" {
                text("scheme");
            }
            number(&mut spec, "port", &field("spec.port"));
            number(&mut spec, "external_port", &field("spec.external_port"));
        }
    }
    json!({
        "kind": kind.as_str(),
        "team": field("team"),
        "cluster": field("cluster"),
        "reason": field("reason"),
        "spec": spec,
    })
}

fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(str::trim).filter(|l| !l.is_empty())
}

/// Whole numbers go as numbers; anything else as typed, so the rules can name it.
fn number(spec: &mut Map<String, Value>, key: &str, value: &str) {
    let value = value.trim();
    if value.is_empty() {
        return;
    }
    let parsed = value
        .parse::<i64>()
        .map_or_else(|_| Value::String(value.to_owned()), Value::from);
    spec.insert(key.to_owned(), parsed);
}

/// `KEY=value` lines; a line without `=` becomes a key with an empty value. A value
/// `secret:NAME/KEY` refers to a key of a Secret, `external:STORE/REMOTE-KEY[#PROPERTY]` to
/// a value in an external store: the request holds the reference, never the secret.
fn env_map(text: &str) -> Map<String, Value> {
    lines(text)
        .map(|line| {
            let (key, value) = line.split_once('=').unwrap_or((line, ""));
            (key.trim().to_owned(), env_value(value))
        })
        .collect()
}

fn env_value(value: &str) -> Value {
    if let Some((secret, key)) = value
        .strip_prefix("secret:")
        .and_then(|r| r.split_once('/'))
    {
        return json!({"secret": secret.trim(), "key": key.trim()});
    }
    if let Some((store, remote)) = value
        .strip_prefix("external:")
        .and_then(|r| r.split_once('/'))
    {
        let (key, property) = match remote.split_once('#') {
            Some((key, property)) => (key, Some(property.trim())),
            None => (remote, None),
        };
        let mut external = json!({"store": store.trim(), "key": key.trim()});
        if let Some(property) = property {
            external["property"] = json!(property);
        }
        return json!({ "external": external });
    }
    Value::String(value.to_owned())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_exposure_sends_a_scheme_only_for_an_nlb() {
        let form = |via: &str| {
            let via = via.to_owned();
            request_input(RequestKind::Exposure, move |name| {
                match name {
                    "spec.service" => "ledger",
                    "spec.port" => "8080",
                    "spec.protocol" => "tcp",
                    "spec.external_port" => "9000",
                    "spec.via" => via.as_str(),
                    "spec.scheme" => "internet-facing",
                    "team" => "payments",
                    _ => "",
                }
                .to_owned()
            })
        };
        assert_eq!(
            form("nginx")["spec"],
            json!({"service": "ledger", "port": 8080, "protocol": "tcp", "external_port": 9000, "via": "nginx"})
        );
        assert_eq!(form("nlb")["spec"]["scheme"], "internet-facing");
        assert!(
            domain::request::NewRequest::parse(&{
                let mut input = form("nlb");
                input["cluster"] = json!("demo");
                input
            })
            .is_ok()
        );
    }

    #[test]
    fn environment_lines_hold_values_or_secret_references() {
        let env = env_map(
            "LOG_LEVEL=info\nDB_PASSWORD=secret:payouts-db/password\n\
             STRIPE_KEY=external:vault/payments/stripe#secret_key\nEMPTY",
        );
        assert_eq!(
            Value::Object(env),
            json!({
                "LOG_LEVEL": "info",
                "DB_PASSWORD": {"secret": "payouts-db", "key": "password"},
                "STRIPE_KEY": {"external": {"store": "vault", "key": "payments/stripe", "property": "secret_key"}},
                "EMPTY": "",
            })
        );
    }
}
