//! Decommissioning: what earlier requests put on a cluster (services, the hosts that route
//! to them, certificates) taken off it again, through the same review.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    FieldError, FieldErrors, ServiceName,
    request::{fields::Hostname, reader::SpecReader},
};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecommissionSpec {
    #[serde(default)]
    pub services: Vec<ServiceName>,
    #[serde(default)]
    pub hosts: Vec<Hostname>,
    #[serde(default)]
    pub certificates: Vec<ServiceName>,
}

impl DecommissionSpec {
    pub fn parse(spec: &Value) -> Result<Self, FieldErrors> {
        let mut r = SpecReader::new("spec", spec)?;
        let mut parsed = Self::default();
        for (path, value) in r.strings("services") {
            if let Some(name) = r.check(ServiceName::parse(&path, value)) {
                push_once(&mut r, &mut parsed.services, name, path);
            }
        }
        for (path, value) in r.strings("hosts") {
            if let Some(host) = r.check(Hostname::parse(&path, value, false)) {
                push_once(&mut r, &mut parsed.hosts, host, path);
            }
        }
        for (path, value) in r.strings("certificates") {
            if let Some(name) = r.check(ServiceName::parse(&path, value)) {
                push_once(&mut r, &mut parsed.certificates, name, path);
            }
        }
        let mut errors = r.finish();
        if errors.is_empty() && parsed.is_empty() {
            errors.push(FieldError::new(
                "spec",
                "name at least one service, host or certificate to decommission",
            ));
        }
        if errors.is_empty() {
            Ok(parsed)
        } else {
            Err(errors)
        }
    }

    pub fn is_empty(&self) -> bool {
        self.services.is_empty() && self.hosts.is_empty() && self.certificates.is_empty()
    }

    /// What goes, in a few words: `ledger, pay.example.com and ledger-tls`.
    pub fn summary(&self) -> String {
        let names: Vec<&str> = self
            .services
            .iter()
            .map(ServiceName::as_str)
            .chain(self.hosts.iter().map(Hostname::as_str))
            .chain(self.certificates.iter().map(ServiceName::as_str))
            .collect();
        match names.as_slice() {
            [] => String::new(),
            [one] => (*one).to_owned(),
            [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
        }
    }
}

fn push_once<T: PartialEq>(r: &mut SpecReader<'_>, list: &mut Vec<T>, item: T, path: String) {
    if list.contains(&item) {
        r.check::<()>(Err(FieldError::new(path, "is listed twice")));
    } else {
        list.push(item);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::request::spec::tests::paths;

    #[test]
    fn a_service_with_its_host_and_certificate() {
        let spec = DecommissionSpec::parse(&json!({
            "services": ["ledger"], "hosts": ["ledger.payments.example.com"],
            "certificates": ["ledger-tls"],
        }))
        .unwrap();
        assert_eq!(spec.services[0].as_str(), "ledger");
        assert_eq!(
            spec.summary(),
            "ledger, ledger.payments.example.com and ledger-tls"
        );
    }

    #[test]
    fn nothing_named_is_refused_on_the_spec() {
        let errors = DecommissionSpec::parse(&json!({"services": []})).unwrap_err();
        assert_eq!(paths(errors), ["spec"]);
    }

    #[test]
    fn bad_and_repeated_names_are_refused_where_they_are() {
        let errors = DecommissionSpec::parse(&json!({
            "services": ["ledger", "Ledger!", "ledger"], "hosts": ["*.example.com"],
            "certificate": ["typo"],
        }))
        .unwrap_err();
        assert_eq!(
            paths(errors),
            [
                "spec.certificate",
                "spec.hosts[0]",
                "spec.services[1]",
                "spec.services[2]"
            ]
        );
    }
}
