//! A service request against the catalog: a request for a service that exists changes it,
//! on the cluster it runs on, and keeps the Service type its ingresses need.

use super::CatalogView;
use crate::{
    FieldError, FieldErrors, TeamName,
    request::{ServiceSpec, render::ServiceType},
};

/// The Service type to render: NodePort stays NodePort (an ALB with instance targets may
/// depend on it); new services start as ClusterIP.
pub fn check_service(
    team: &TeamName,
    cluster: &str,
    spec: &ServiceSpec,
    catalog: &dyn CatalogView,
) -> Result<ServiceType, FieldErrors> {
    match catalog.service(team, &spec.name) {
        None => Ok(ServiceType::ClusterIp),
        Some(facts) if facts.cluster != cluster => Err(FieldErrors(vec![FieldError::new(
            "cluster",
            format!(
                "service {} already runs on cluster {}; moving it between clusters is not supported",
                spec.name, facts.cluster
            ),
        )])),
        Some(facts) => Ok(facts.service_type),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{
        ServiceName,
        request::{
            Protocol,
            rules::{CatalogSnapshot, ServiceFacts},
        },
    };

    fn catalog() -> CatalogSnapshot {
        CatalogSnapshot {
            services: vec![(
                TeamName::parse("t", "payments").unwrap(),
                ServiceName::parse("n", "ledger").unwrap(),
                ServiceFacts {
                    port: 8080,
                    protocol: Protocol::Http,
                    service_type: ServiceType::NodePort,
                    cluster: "eu-1".into(),
                },
            )],
            ..CatalogSnapshot::default()
        }
    }

    fn spec(name: &str) -> ServiceSpec {
        ServiceSpec::parse(&json!({"name": name, "image": "ghcr.io/a/b:1", "port": 8080})).unwrap()
    }

    #[test]
    fn new_services_are_cluster_ip_and_existing_ones_keep_their_type() {
        let team = TeamName::parse("t", "payments").unwrap();
        assert_eq!(
            check_service(&team, "eu-1", &spec("fresh"), &catalog()),
            Ok(ServiceType::ClusterIp)
        );
        assert_eq!(
            check_service(&team, "eu-1", &spec("ledger"), &catalog()),
            Ok(ServiceType::NodePort)
        );
        let other_team = TeamName::parse("t", "search").unwrap();
        assert_eq!(
            check_service(&other_team, "us-1", &spec("ledger"), &catalog()),
            Ok(ServiceType::ClusterIp),
            "names are per team"
        );
    }

    #[test]
    fn an_existing_service_stays_on_its_cluster() {
        let team = TeamName::parse("t", "payments").unwrap();
        let errors = check_service(&team, "us-1", &spec("ledger"), &catalog()).unwrap_err();
        assert_eq!(errors.0[0].path, "cluster");
        assert!(errors.0[0].message.contains("eu-1"));
    }
}
