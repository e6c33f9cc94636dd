//! A certificate request against the catalog: every name under a domain the team may use.

use super::{CatalogView, allowed_domains_error};
use crate::{FieldErrors, TeamName, request::CertificateSpec};

pub fn check_certificate(
    team: &TeamName,
    spec: &CertificateSpec,
    catalog: &dyn CatalogView,
) -> Result<(), FieldErrors> {
    let errors = spec
        .dns_names
        .iter()
        .enumerate()
        .filter_map(|(i, name)| {
            allowed_domains_error(&format!("spec.dns_names[{i}]"), name, team, catalog)
        })
        .collect();
    FieldErrors(errors).into_result(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::request::rules::CatalogSnapshot;

    #[test]
    fn every_name_sits_under_an_allowed_domain() {
        let team = TeamName::parse("t", "search").unwrap();
        let catalog = CatalogSnapshot {
            allowed_domains: vec![(team.clone(), vec!["search.example.com".into()])],
            ..CatalogSnapshot::default()
        };
        let spec = CertificateSpec::parse(&json!({
            "name": "edge",
            "dns_names": ["*.search.example.com", "search.example.com", "pay.example.com"],
            "issuer": "letsencrypt", "challenge": "dns01"
        }))
        .unwrap();
        let errors = check_certificate(&team, &spec, &catalog).unwrap_err();
        assert_eq!(errors.0.len(), 1);
        assert_eq!(errors.0[0].path, "spec.dns_names[2]");
        assert!(errors.0[0].message.contains("search.example.com"));
    }
}
