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
    /// `fixed` or `hpa`: with `hpa` the replicas input is not sent.
    pub scaling: RwSignal<String>,
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
    // decommission, one name per line
    pub services: RwSignal<String>,
    pub hosts: RwSignal<String>,
    pub certificates: RwSignal<String>,
    // import
    pub namespace: RwSignal<String>,
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
            scaling: text("fixed"),
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
            services: text(""),
            hosts: text(""),
            certificates: text(""),
            namespace: text(""),
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
            "spec.scaling" => self.scaling,
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
            "spec.services" => self.services,
            "spec.hosts" => self.hosts,
            "spec.certificates" => self.certificates,
            "spec.namespace" => self.namespace,
            _ => return None,
        })
    }

    /// Every input's name, as posted.
    pub const NAMES: &[&str] = &[
        "team",
        "cluster",
        "reason",
        "spec.name",
        "spec.image",
        "spec.port",
        "spec.replicas",
        "spec.scaling",
        "spec.protocol",
        "spec.cpu",
        "spec.memory",
        "spec.env",
        "spec.host",
        "spec.service",
        "spec.path",
        "spec.class",
        "spec.tls",
        "spec.acm_certificate_arn",
        "spec.alb.scheme",
        "spec.alb.target_type",
        "spec.dns_names",
        "spec.issuer",
        "spec.challenge",
        "spec.external_port",
        "spec.via",
        "spec.scheme",
        "spec.services",
        "spec.hosts",
        "spec.certificates",
        "spec.namespace",
    ];

    /// Puts back what a plain form post sent (the server's answer to a page without wasm),
    /// or what a link or an approved request fills in.
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
            let scaling = field("spec.scaling");
            if !matches!(scaling.trim(), "" | "fixed" | "hpa") {
                // Anything else goes as typed, so the rules name it.
                spec.insert("scaling".into(), Value::String(scaling));
            }
            number(&mut spec, "port", &field("spec.port"));
            // With an autoscaler the count typed (or left in a page without wasm) is
            // not the request's: the default `fixed` is not sent either.
            if field("spec.scaling").trim() == "hpa" {
                spec.insert("scaling".into(), Value::String("hpa".into()));
            } else {
                number(&mut spec, "replicas", &field("spec.replicas"));
            }
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
        RequestKind::Decommission => {
            for key in ["services", "hosts", "certificates"] {
                let names: Vec<Value> = lines(&field(&format!("spec.{key}")))
                    .map(|l| Value::String(l.to_owned()))
                    .collect();
                if !names.is_empty() {
                    spec.insert(key.into(), Value::Array(names));
                }
            }
        }
        RequestKind::Restore | RequestKind::Adopt => text("service"),
        RequestKind::Import => text("namespace"),
    }
    json!({
        "kind": kind.as_str(),
        "team": field("team"),
        "cluster": field("cluster"),
        "reason": field("reason"),
        "spec": spec,
    })
}

/// The inputs, by name, that hold a request body `input` (the inverse of
/// [`request_input`]): how "Change" opens the form filled with the approved state.
pub fn form_fields(input: &Value) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    for key in ["team", "cluster"] {
        if let Some(value) = input[key].as_str() {
            fields.push((key.to_owned(), value.to_owned()));
        }
    }
    let Some(spec) = input["spec"].as_object() else {
        return fields;
    };
    for (key, value) in spec {
        let name = format!("spec.{key}");
        match (key.as_str(), value) {
            ("env", Value::Object(env)) => {
                let lines: Vec<String> = env
                    .iter()
                    .map(|(k, v)| format!("{k}={}", env_text(v)))
                    .collect();
                fields.push((name, lines.join("\n")));
            }
            ("alb", Value::Object(alb)) => {
                for (setting, value) in alb {
                    if let Some(value) = value.as_str() {
                        fields.push((format!("spec.alb.{setting}"), value.to_owned()));
                    }
                }
            }
            (_, Value::Array(items)) => {
                let lines: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
                fields.push((name, lines.join("\n")));
            }
            (_, Value::String(text)) => fields.push((name, text.clone())),
            (_, Value::Number(number)) => fields.push((name, number.to_string())),
            _ => {}
        }
    }
    fields
}

/// An environment value as the form's `KEY=value` line writes it (see [`env_value`]).
fn env_text(value: &Value) -> String {
    if let (Some(secret), Some(key)) = (value["secret"].as_str(), value["key"].as_str()) {
        return format!("secret:{secret}/{key}");
    }
    let external = &value["external"];
    if let (Some(store), Some(key)) = (external["store"].as_str(), external["key"].as_str()) {
        return match external["property"].as_str() {
            Some(property) => format!("external:{store}/{key}#{property}"),
            None => format!("external:{store}/{key}"),
        };
    }
    value.as_str().unwrap_or_default().to_owned()
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
    fn an_approved_request_fills_the_form_that_would_submit_it_again() {
        let approved = json!({
            "kind": "service", "team": "payments", "cluster": "demo", "reason": "",
            "spec": {
                "name": "ledger", "image": "ghcr.io/acme/ledger:1.4.2", "port": 8080,
                "replicas": 2, "protocol": "grpc", "cpu": "250m", "memory": "256Mi",
                "env": {
                    "LOG_LEVEL": "info",
                    "DB_PASSWORD": {"secret": "ledger-db", "key": "password"},
                    "STRIPE_KEY": {"external": {"store": "vault", "key": "payments/stripe", "property": "secret_key"}},
                },
            },
        });
        let fields = form_fields(&approved);
        let field = |name: &str| {
            fields
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        assert_eq!(request_input(RequestKind::Service, field), approved);

        let ingress = json!({
            "kind": "ingress", "team": "payments", "cluster": "demo", "reason": "",
            "spec": {"host": "pay.payments.example.com", "service": "ledger", "port": 8080,
                     "path": "/", "class": "alb", "protocol": "http", "tls": "none",
                     "alb": {"scheme": "internal", "target_type": "ip"}},
        });
        let fields = form_fields(&ingress);
        let field = |name: &str| {
            fields
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        assert_eq!(request_input(RequestKind::Ingress, field), ingress);
    }

    #[test]
    fn with_an_autoscaler_the_form_sends_no_replicas() {
        let input = |scaling: &'static str| {
            request_input(RequestKind::Service, move |name| {
                match name {
                    "spec.name" => "ledger",
                    "spec.image" => "ghcr.io/acme/ledger:1",
                    "spec.port" => "8080",
                    "spec.replicas" => "3",
                    "spec.scaling" => scaling,
                    _ => "",
                }
                .to_owned()
            })
        };
        let hpa = input("hpa");
        assert_eq!(
            (hpa["spec"]["scaling"].as_str(), hpa["spec"].get("replicas")),
            (Some("hpa"), None)
        );
        let fixed = input("fixed");
        assert_eq!(
            (
                fixed["spec"].get("scaling"),
                fixed["spec"]["replicas"].as_i64()
            ),
            (None, Some(3))
        );
        let refilled = form_fields(&hpa);
        assert!(
            refilled.contains(&("spec.scaling".to_owned(), "hpa".to_owned())),
            "{refilled:?}"
        );
    }

    #[test]
    fn a_decommission_lists_one_name_per_line() {
        let input = request_input(RequestKind::Decommission, |name| match name {
            "team" => "payments".into(),
            "spec.services" => "ledger\n".into(),
            "spec.hosts" => " ledger.payments.example.com \n\n".into(),
            _ => String::new(),
        });
        assert_eq!(
            input["spec"],
            json!({"services": ["ledger"], "hosts": ["ledger.payments.example.com"]})
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
