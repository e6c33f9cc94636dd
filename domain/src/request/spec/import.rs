//! Importing: the objects a namespace already holds, never applied by Stargate, become
//! catalog entries of the request's team (the import shape of adoption). What the
//! namespace holds is the cluster's to say, read when the request is planned; the spec
//! names the namespace.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{FieldError, FieldErrors, names::check_dns_label, request::reader::SpecReader};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSpec {
    pub namespace: String,
}

impl ImportSpec {
    pub fn parse(spec: &Value) -> Result<Self, FieldErrors> {
        let mut r = SpecReader::new("spec", spec)?;
        let namespace = r.string("namespace").and_then(|n| {
            let path = r.path("namespace");
            r.check(
                check_dns_label(n)
                    .map(|()| n.to_owned())
                    .map_err(|why| FieldError::new(&path, why)),
            )
        });
        let errors = r.finish();
        match namespace {
            Some(namespace) if errors.is_empty() => Ok(Self { namespace }),
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
    fn names_a_namespace() {
        let spec = ImportSpec::parse(&json!({"namespace": "payments"})).unwrap();
        assert_eq!(spec.namespace, "payments");
        assert_eq!(
            paths(ImportSpec::parse(&json!({"namespace": "Pay ments"})).unwrap_err()),
            ["spec.namespace"]
        );
        assert_eq!(
            paths(ImportSpec::parse(&json!({})).unwrap_err()),
            ["spec.namespace"]
        );
    }
}
