//! A certificate request against the catalog: every name under a domain the team may use,
//! from an issuer it may use.

use super::{CatalogView, allowed_domains_error};
use crate::{FieldError, FieldErrors, TeamName, request::CertificateSpec};

pub fn check_certificate(
    team: &TeamName,
    spec: &CertificateSpec,
    catalog: &dyn CatalogView,
) -> Result<(), FieldErrors> {
    let mut errors: Vec<FieldError> = spec
        .dns_names
        .iter()
        .enumerate()
        .filter_map(|(i, name)| {
            allowed_domains_error(&format!("spec.dns_names[{i}]"), name, team, catalog)
        })
        .collect();
    let issuers = catalog.allowed_issuers(team);
    if !issuers.is_empty() && !issuers.contains(&spec.issuer) {
        errors.push(FieldError::new(
            "spec.issuer",
            format!(
                "team {team} may use the ClusterIssuers {} only",
                issuers.join(", ")
            ),
        ));
    }
    FieldErrors(errors).into_result(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::request::rules::CatalogSnapshot;

    #[test]
    fn a_team_uses_only_the_issuers_it_is_allowed() {
        let team = TeamName::parse("t", "search").unwrap();
        let catalog = CatalogSnapshot {
            allowed_domains: vec![(team.clone(), vec!["search.example.com".into()])],
            allowed_issuers: vec![(team.clone(), vec!["letsencrypt-prod".into()])],
            ..CatalogSnapshot::default()
        };
        let with = |issuer: &str| {
            CertificateSpec::parse(&json!({"name": "c", "dns_names": ["a.search.example.com"],
                "issuer": issuer}))
            .unwrap()
        };
        assert!(check_certificate(&team, &with("letsencrypt-prod"), &catalog).is_ok());
        let errors = check_certificate(&team, &with("selfsigned"), &catalog).unwrap_err();
        assert_eq!(errors.0[0].path, "spec.issuer");
        assert!(errors.0[0].message.contains("letsencrypt-prod"));
        // None configured: any issuer.
        let open = CatalogSnapshot {
            allowed_issuers: Vec::new(),
            ..catalog
        };
        assert!(check_certificate(&team, &with("selfsigned"), &open).is_ok());
    }

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
