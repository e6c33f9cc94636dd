//! The new-request form's state: every input as typed, turned into the JSON body the API
//! takes, so the browser and the server validate exactly the same thing.

use domain::request::RequestKind;
use leptos::prelude::*;
use serde_json::{Map, Value, json};

/// Every input of the three forms; each kind reads the ones it has.
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
        }
    }

    /// The request body for the current inputs (tracks every input it reads).
    pub fn to_input(self) -> Value {
        let kind = self.kind.get();
        let mut spec = Map::new();
        let mut text = |key: &str, signal: RwSignal<String>| {
            let value = signal.get();
            if !value.trim().is_empty() {
                spec.insert(key.to_owned(), Value::String(value.trim().to_owned()));
            }
        };
        match kind {
            RequestKind::Service => {
                text("name", self.name);
                text("image", self.image);
                text("protocol", self.protocol);
                text("cpu", self.cpu);
                text("memory", self.memory);
                number(&mut spec, "port", &self.port.get());
                number(&mut spec, "replicas", &self.replicas.get());
                let env = env_map(&self.env.get());
                if !env.is_empty() {
                    spec.insert("env".into(), Value::Object(env));
                }
            }
            RequestKind::Ingress => {
                text("host", self.host);
                text("service", self.service);
                text("path", self.path);
                text("class", self.class);
                text("protocol", self.protocol);
                text("tls", self.tls);
                if self.tls.get() == "acm" {
                    text("acm_certificate_arn", self.acm_certificate_arn);
                }
                number(&mut spec, "port", &self.port.get());
                if self.class.get() == "alb" {
                    spec.insert(
                        "alb".into(),
                        json!({"scheme": self.alb_scheme.get(), "target_type": self.alb_target_type.get()}),
                    );
                }
            }
            RequestKind::Certificate => {
                text("name", self.name);
                text("issuer", self.issuer);
                text("challenge", self.challenge);
                let names: Vec<Value> = lines(&self.dns_names.get())
                    .map(|l| Value::String(l.to_owned()))
                    .collect();
                spec.insert("dns_names".into(), Value::Array(names));
            }
        }
        json!({
            "kind": kind.as_str(),
            "team": self.team.get(),
            "cluster": self.cluster.get(),
            "reason": self.reason.get(),
            "spec": spec,
        })
    }
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

/// `KEY=value` lines; a line without `=` becomes a key with an empty value.
fn env_map(text: &str) -> Map<String, Value> {
    lines(text)
        .map(|line| {
            let (key, value) = line.split_once('=').unwrap_or((line, ""));
            (key.trim().to_owned(), Value::String(value.to_owned()))
        })
        .collect()
}
