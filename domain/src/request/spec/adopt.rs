//! Adopting: the live values of a drifted service become the approved ones, recorded as a
//! change through the same review. What the live values are is the catalog's to say (the
//! last drift check); the spec names the service.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{FieldErrors, ServiceName, request::reader::SpecReader};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdoptSpec {
    pub service: ServiceName,
}

impl AdoptSpec {
    pub fn parse(spec: &Value) -> Result<Self, FieldErrors> {
        let mut r = SpecReader::new("spec", spec)?;
        let service = r.string("service").and_then(|s| {
            let path = r.path("service");
            r.check(ServiceName::parse(&path, s))
        });
        let errors = r.finish();
        match service {
            Some(service) if errors.is_empty() => Ok(Self { service }),
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
    fn names_a_service() {
        let spec = AdoptSpec::parse(&json!({"service": "ledger"})).unwrap();
        assert_eq!(spec.service.as_str(), "ledger");
        assert_eq!(
            paths(AdoptSpec::parse(&json!({"service": "Ledger!", "objects": []})).unwrap_err()),
            ["spec.objects", "spec.service"]
        );
        assert_eq!(
            paths(AdoptSpec::parse(&json!({})).unwrap_err()),
            ["spec.service"]
        );
    }
}
