//! A TLS certificate from cert-manager.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Challenge;
use crate::{
    FieldError, FieldErrors, ServiceName,
    names::check_dns_label,
    request::{
        fields::Hostname,
        reader::{SpecReader, choice},
    },
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateSpec {
    pub name: ServiceName,
    pub dns_names: Vec<Hostname>,
    pub issuer: String,
    pub challenge: Challenge,
}

impl CertificateSpec {
    pub fn parse(spec: &Value) -> Result<Self, FieldErrors> {
        let mut r = SpecReader::new("spec", spec)?;
        let name = r.string("name").and_then(|v| {
            let path = r.path("name");
            r.check(ServiceName::parse(&path, v))
        });
        let mut dns_names = Vec::new();
        let listed = r.strings("dns_names");
        if listed.is_empty()
            && !r
                .errors
                .0
                .iter()
                .any(|e| e.path.starts_with("spec.dns_names"))
        {
            r.check::<()>(Err(FieldError::new(
                "spec.dns_names",
                "name at least one host",
            )));
        }
        for (path, value) in listed {
            if let Some(host) = r.check(Hostname::parse(&path, value, true)) {
                if dns_names.contains(&host) {
                    r.check::<()>(Err(FieldError::new(path, "is listed twice")));
                } else {
                    dns_names.push(host);
                }
            }
        }
        let issuer = r.string("issuer").and_then(|v| {
            let path = r.path("issuer");
            r.check(
                check_dns_label(v)
                    .map(|()| v.to_owned())
                    .map_err(|m| FieldError::new(path, m)),
            )
        });
        let challenge = match r.optional_string("challenge") {
            Some(v) => {
                let path = r.path("challenge");
                r.check(choice(
                    &path,
                    v,
                    &[("http01", Challenge::Http01), ("dns01", Challenge::Dns01)],
                ))
            }
            None => Some(Challenge::Http01),
        };
        // Let's Encrypt issues wildcards only through DNS-01.
        if challenge == Some(Challenge::Http01) && dns_names.iter().any(Hostname::is_wildcard) {
            r.check::<()>(Err(FieldError::new(
                "spec.challenge",
                "wildcard names need \"dns01\"",
            )));
        }
        let errors = r.finish();
        match (name, issuer, challenge) {
            (Some(name), Some(issuer), Some(challenge)) if errors.is_empty() => Ok(Self {
                name,
                dns_names,
                issuer,
                challenge,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::request::spec::tests::paths;

    #[test]
    fn wildcard_certificates_need_dns01() {
        let spec = json!({"name": "wild", "dns_names": ["*.search.example.com"], "issuer": "letsencrypt-prod"});
        assert_eq!(
            paths(CertificateSpec::parse(&spec).unwrap_err()),
            ["spec.challenge"]
        );
        let mut dns = spec.clone();
        dns["challenge"] = json!("dns01");
        assert!(CertificateSpec::parse(&dns).is_ok());
        let twice = json!({"name": "c", "dns_names": ["a.example.com", "a.example.com", 3], "issuer": "le"});
        assert_eq!(
            paths(CertificateSpec::parse(&twice).unwrap_err()),
            ["spec.dns_names[1]", "spec.dns_names[2]"]
        );
        let none = json!({"name": "c", "dns_names": [], "issuer": "le"});
        assert_eq!(
            paths(CertificateSpec::parse(&none).unwrap_err()),
            ["spec.dns_names"]
        );
    }
}
