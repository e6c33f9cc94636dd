//! A request as submitted: its kind, the team and cluster it is for, why, and its spec.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    AdoptSpec, CertificateSpec, DecommissionSpec, ExposureSpec, ImportSpec, IngressSpec,
    RestoreSpec, ServiceSpec,
};
use crate::{FieldError, FieldErrors, TeamName, field_error::choice, names::check_dns_label};

/// Longest reason accepted, in characters.
pub const MAX_REASON_LEN: usize = 2000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RequestKind {
    Service,
    Ingress,
    Certificate,
    Exposure,
    /// Takes services, hosts and certificates off their cluster.
    Decommission,
    /// Applies a service's drifted or missing objects again as last approved.
    Restore,
    /// Makes a drifted service's live values the approved ones.
    Adopt,
    /// Takes a namespace's existing objects into the catalog (admins only).
    Import,
}

impl RequestKind {
    pub const ALL: [Self; 8] = [
        Self::Service,
        Self::Ingress,
        Self::Certificate,
        Self::Exposure,
        Self::Decommission,
        Self::Restore,
        Self::Adopt,
        Self::Import,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Service => "service",
            Self::Ingress => "ingress",
            Self::Certificate => "certificate",
            Self::Exposure => "exposure",
            Self::Decommission => "decommission",
            Self::Restore => "restore",
            Self::Adopt => "adopt",
            Self::Import => "import",
        }
    }

    pub fn parse(path: &str, value: &str) -> Result<Self, FieldError> {
        let options = Self::ALL.map(|k| (k.as_str(), k));
        choice(path, value, &options)
    }
}

impl std::fmt::Display for RequestKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A validated spec of one of the kinds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "spec", rename_all = "snake_case")]
pub enum RequestSpec {
    Service(ServiceSpec),
    Ingress(IngressSpec),
    Certificate(CertificateSpec),
    Exposure(ExposureSpec),
    Decommission(DecommissionSpec),
    Restore(RestoreSpec),
    Adopt(AdoptSpec),
    Import(ImportSpec),
}

impl RequestSpec {
    pub fn kind(&self) -> RequestKind {
        match self {
            Self::Service(_) => RequestKind::Service,
            Self::Ingress(_) => RequestKind::Ingress,
            Self::Certificate(_) => RequestKind::Certificate,
            Self::Exposure(_) => RequestKind::Exposure,
            Self::Decommission(_) => RequestKind::Decommission,
            Self::Restore(_) => RequestKind::Restore,
            Self::Adopt(_) => RequestKind::Adopt,
            Self::Import(_) => RequestKind::Import,
        }
    }

    /// What the request is about, in a few words: `service ledger`, `ingress api.example.com`,
    /// `exposure tcp 9000 → ledger`.
    pub fn title(&self) -> String {
        match self {
            Self::Service(s) => format!("service {}", s.name),
            Self::Ingress(s) => format!("ingress {}", s.host.as_str()),
            Self::Certificate(s) => format!("certificate {}", s.name),
            Self::Exposure(s) => format!(
                "exposure {} {} → {}",
                s.protocol.as_str(),
                s.external_port,
                s.service
            ),
            Self::Decommission(s) => format!("decommission {}", s.summary()),
            Self::Restore(s) => format!("restore {}", s.service),
            Self::Adopt(s) => format!("adopt {}", s.service),
            Self::Import(s) => format!("import namespace {}", s.namespace),
        }
    }

    /// Validates `spec` as a spec of `kind`.
    pub fn parse(kind: RequestKind, spec: &Value) -> Result<Self, FieldErrors> {
        Ok(match kind {
            RequestKind::Service => Self::Service(ServiceSpec::parse(spec)?),
            RequestKind::Ingress => Self::Ingress(IngressSpec::parse(spec)?),
            RequestKind::Certificate => Self::Certificate(CertificateSpec::parse(spec)?),
            RequestKind::Exposure => Self::Exposure(ExposureSpec::parse(spec)?),
            RequestKind::Decommission => Self::Decommission(DecommissionSpec::parse(spec)?),
            RequestKind::Restore => Self::Restore(RestoreSpec::parse(spec)?),
            RequestKind::Adopt => Self::Adopt(AdoptSpec::parse(spec)?),
            RequestKind::Import => Self::Import(ImportSpec::parse(spec)?),
        })
    }
}

/// A request as submitted, valid on its own (rules against the catalog come next).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRequest {
    pub team: TeamName,
    pub cluster: String,
    pub reason: String,
    pub spec: RequestSpec,
}

const FIELDS: [&str; 5] = ["kind", "team", "cluster", "spec", "reason"];

fn required_string<'a>(
    input: &'a serde_json::Map<String, Value>,
    key: &str,
    errors: &mut FieldErrors,
) -> Option<&'a str> {
    match input.get(key) {
        None | Some(Value::Null) => {
            errors.push(FieldError::new(key, "is required"));
            None
        }
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => {
            errors.push(FieldError::new(key, "must be a string"));
            None
        }
    }
}

impl NewRequest {
    /// Validates a submitted request and reports every problem, each with its path.
    pub fn parse(input: &Value) -> Result<Self, FieldErrors> {
        let Some(object) = input.as_object() else {
            return Err(FieldErrors(vec![FieldError::new(
                "body",
                "must be a JSON object with kind, team, cluster, spec and reason",
            )]));
        };
        let mut errors = FieldErrors::default();
        let mut unknown: Vec<&String> = object
            .keys()
            .filter(|k| !FIELDS.contains(&k.as_str()))
            .collect();
        unknown.sort();
        for key in unknown {
            errors.push(FieldError::new(
                key.as_str(),
                format!(
                    "is not a field of a request (expected {})",
                    FIELDS.join(", ")
                ),
            ));
        }
        let kind = required_string(object, "kind", &mut errors)
            .and_then(|k| errors.collect(RequestKind::parse("kind", k)));
        let team = required_string(object, "team", &mut errors)
            .and_then(|t| errors.collect(TeamName::parse("team", t)));
        let cluster = required_string(object, "cluster", &mut errors).and_then(|c| {
            errors.collect(
                check_dns_label(c)
                    .map(|()| c.to_owned())
                    .map_err(|m| FieldError::new("cluster", m)),
            )
        });
        let reason = match object.get("reason") {
            None | Some(Value::Null) => Some(String::new()),
            Some(Value::String(s)) if s.trim().chars().count() > MAX_REASON_LEN => {
                errors.push(FieldError::new(
                    "reason",
                    format!("must be at most {MAX_REASON_LEN} characters"),
                ));
                None
            }
            // Control characters have no place in prose, and PostgreSQL cannot store NUL in
            // text at all: refused here, they never reach the database as a 503.
            Some(Value::String(s))
                if s.chars()
                    .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) =>
            {
                errors.push(FieldError::new(
                    "reason",
                    "must not contain control characters (line breaks and tabs are fine)",
                ));
                None
            }
            Some(Value::String(s)) => Some(s.trim().to_owned()),
            Some(_) => {
                errors.push(FieldError::new("reason", "must be a string"));
                None
            }
        };
        let spec = match (kind, object.get("spec")) {
            (_, None | Some(Value::Null)) => {
                errors.push(FieldError::new("spec", "is required"));
                None
            }
            (Some(kind), Some(spec)) => match RequestSpec::parse(kind, spec) {
                Ok(spec) => Some(spec),
                Err(spec_errors) => {
                    errors.0.extend(spec_errors.0);
                    None
                }
            },
            // Without a kind the spec cannot be read; the kind's error says why.
            (None, Some(_)) => None,
        };
        match (team, cluster, reason, spec) {
            (Some(team), Some(cluster), Some(reason), Some(spec)) if errors.is_empty() => {
                Ok(Self {
                    team,
                    cluster,
                    reason,
                    spec,
                })
            }
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn paths(input: Value) -> Vec<String> {
        let mut paths: Vec<String> = NewRequest::parse(&input)
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.path)
            .collect();
        paths.sort();
        paths
    }

    #[test]
    fn parses_a_complete_request() {
        let request = NewRequest::parse(&json!({
            "kind": "service", "team": "payments", "cluster": "demo", "reason": " new API ",
            "spec": {"name": "ledger", "image": "ghcr.io/acme/ledger:1.0", "port": 8080}
        }))
        .unwrap();
        assert_eq!(request.spec.kind(), RequestKind::Service);
        assert_eq!(request.spec.title(), "service ledger");
        assert_eq!(request.reason, "new API");
        assert_eq!(request.team.as_str(), "payments");
    }

    #[test]
    fn an_exposure_is_titled_by_what_clients_reach() {
        let request = NewRequest::parse(&json!({
            "kind": "exposure", "team": "payments", "cluster": "demo",
            "spec": {"service": "ledger", "port": 8080, "protocol": "tcp", "external_port": 9000, "via": "nginx"}
        }))
        .unwrap();
        assert_eq!(request.spec.kind(), RequestKind::Exposure);
        assert_eq!(request.spec.title(), "exposure tcp 9000 → ledger");
        assert_eq!(
            paths(
                json!({"kind": "exposure", "team": "payments", "cluster": "demo",
                "spec": {"service": "ledger", "port": 8080, "protocol": "tcp", "external_port": 0, "via": "nginx"}})
            ),
            ["spec.external_port"]
        );
    }

    #[test]
    fn names_every_bad_field() {
        assert_eq!(
            paths(
                json!({"kind": "database", "team": "Pay ments", "cluster": 3, "spec": {}, "extra": 1})
            ),
            ["cluster", "extra", "kind", "team"]
        );
        assert_eq!(
            paths(
                json!({"kind": "ingress", "team": "payments", "cluster": "demo", "reason": "x".repeat(MAX_REASON_LEN + 1),
                "spec": {"host": "-bad-", "service": "api", "port": 0, "class": "nginx"}})
            ),
            ["reason", "spec.host", "spec.port"]
        );
        assert_eq!(paths(json!({})), ["cluster", "kind", "spec", "team"]);
        let base = json!({"kind": "service", "team": "payments", "cluster": "demo",
            "spec": {"name": "ledger", "image": "ghcr.io/acme/ledger:1.0", "port": 8080}});
        let mut nul = base.clone();
        nul["reason"] = json!("a\u{0}b");
        assert_eq!(paths(nul), ["reason"]);
        let mut lines = base;
        lines["reason"] = json!("first line\r\n\tsecond line");
        assert!(NewRequest::parse(&lines).is_ok());
        assert_eq!(paths(json!([1, 2])), ["body"]);
    }
}
