//! An ingress against the catalog: who holds the host, the allowed domains, the backend
//! service and port, gRPC, TLS, and the ALB instance-target trap.

use super::{CatalogView, allowed_domains_error, routed_service};
use crate::{
    FieldError, FieldErrors, TeamName,
    request::{AlbTargetType, IngressClass, IngressSpec, Protocol, Tls, render::ServiceType},
};

/// What checking an ingress adds to the change beyond the Ingress itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngressConsequences {
    /// The backend Service must become NodePort (ALB `instance` targets reach pods through
    /// node ports; a ClusterIP Service would leave the ALB with no route — in production).
    pub switch_service_to_node_port: bool,
    /// The certificate whose secret an nginx Ingress with cert-manager TLS serves.
    pub tls_certificate: Option<String>,
}

/// Checks an ingress request for `team` on `cluster` against the catalog.
pub fn check_ingress(
    team: &TeamName,
    cluster: &str,
    spec: &IngressSpec,
    catalog: &dyn CatalogView,
) -> Result<IngressConsequences, FieldErrors> {
    let mut errors = FieldErrors::default();
    if let Some((holder_team, holder_service)) = catalog.host_holder(spec.host.as_str()) {
        let who = if &holder_team == team {
            format!("service {holder_service} of your team")
        } else {
            format!("team {holder_team} (service {holder_service})")
        };
        errors.push(FieldError::new(
            "spec.host",
            format!("is already served by {who}; a host belongs to one ingress"),
        ));
    } else if let Some(held) = catalog.host_request(spec.host.as_str()) {
        errors.push(FieldError::new(
            "spec.host",
            format!(
                "is already requested by request #{} (team {}, service {}), which holds it until it is rejected, cancelled or fails; a host belongs to one ingress",
                held.request_id, held.team, held.service
            ),
        ));
    }
    if let Some(error) = allowed_domains_error("spec.host", &spec.host, team, catalog) {
        errors.push(error);
    }
    let mut consequences = IngressConsequences {
        switch_service_to_node_port: false,
        tls_certificate: None,
    };
    if let Some(facts) = routed_service(
        team,
        cluster,
        &spec.service,
        spec.port,
        "ingress",
        catalog,
        &mut errors,
    ) {
        if spec.protocol == Protocol::Grpc && facts.protocol != Protocol::Grpc {
            errors.push(FieldError::new(
                "spec.protocol",
                format!("service {} does not speak gRPC", spec.service),
            ));
        }
        let instance = spec
            .alb
            .is_some_and(|a| a.target_type == AlbTargetType::Instance);
        consequences.switch_service_to_node_port = spec.class == IngressClass::Alb
            && instance
            && facts.service_type == ServiceType::ClusterIp;
    }
    if spec.class == IngressClass::Nginx && spec.tls == Tls::CertManager {
        consequences.tls_certificate = catalog.certificate_for(team, &spec.host);
        if consequences.tls_certificate.is_none() {
            errors.push(FieldError::new(
                "spec.tls",
                format!(
                    "no certificate of team {team} covers {}; request one first (or use tls \"none\")",
                    spec.host.as_str()
                ),
            ));
        }
    }
    errors.into_result(consequences)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{
        ServiceName,
        request::{
            Transport,
            fields::Hostname,
            rules::{HostRequest, NginxExposure, PortRequest, ServiceFacts},
        },
    };

    struct Catalog;

    fn team(name: &str) -> TeamName {
        TeamName::parse("team", name).unwrap()
    }

    impl CatalogView for Catalog {
        fn host_holder(&self, host: &str) -> Option<(TeamName, ServiceName)> {
            (host == "taken.search.example.com").then(|| {
                (
                    team("search"),
                    ServiceName::parse("s", "search-api").unwrap(),
                )
            })
        }
        fn host_request(&self, host: &str) -> Option<HostRequest> {
            (host == "wanted.payments.example.com").then(|| HostRequest {
                host: host.to_owned(),
                request_id: 7,
                team: team("payments"),
                service: ServiceName::parse("s", "gateway").unwrap(),
            })
        }
        fn service(&self, t: &TeamName, name: &ServiceName) -> Option<ServiceFacts> {
            match (t.as_str(), name.as_str()) {
                ("payments", "checkout-api") => Some(ServiceFacts {
                    port: 8080,
                    protocol: Protocol::Http,
                    service_type: ServiceType::ClusterIp,
                    cluster: "demo".into(),
                }),
                ("payments", "gateway") => Some(ServiceFacts {
                    port: 9090,
                    protocol: Protocol::Grpc,
                    service_type: ServiceType::NodePort,
                    cluster: "demo".into(),
                }),
                _ => None,
            }
        }
        fn allowed_domains(&self, t: &TeamName) -> Vec<String> {
            vec![format!("{}.example.com", t.as_str())]
        }
        fn allowed_issuers(&self, _: &TeamName) -> Vec<String> {
            Vec::new()
        }
        fn certificate_for(&self, _: &TeamName, host: &Hostname) -> Option<String> {
            (host.as_str() == "secure.payments.example.com").then(|| "secure".to_owned())
        }
        fn nginx_exposures(&self, _: &str, _: Transport) -> Vec<NginxExposure> {
            Vec::new()
        }
        fn port_request(&self, _: &str, _: Transport, _: u16) -> Option<PortRequest> {
            None
        }
        fn hosts_of(&self, _: &TeamName, _: &ServiceName) -> Vec<String> {
            Vec::new()
        }
        fn has_certificate(&self, _: &TeamName, name: &str) -> bool {
            name == "secure"
        }
        fn nlb_exposures_of(
            &self,
            _: &TeamName,
            _: &ServiceName,
        ) -> Vec<crate::request::rules::NlbExposure> {
            Vec::new()
        }
    }

    fn ingress(spec: serde_json::Value) -> IngressSpec {
        IngressSpec::parse(&spec).unwrap()
    }

    fn paths(result: Result<IngressConsequences, FieldErrors>) -> Vec<String> {
        result.unwrap_err().0.into_iter().map(|e| e.path).collect()
    }

    #[test]
    fn a_host_held_elsewhere_names_the_holder() {
        let spec = ingress(
            json!({"host": "taken.search.example.com", "service": "checkout-api", "port": 8080, "class": "nginx"}),
        );
        let errors = check_ingress(&team("payments"), "demo", &spec, &Catalog).unwrap_err();
        assert!(
            errors.0[0]
                .message
                .contains("team search (service search-api)"),
            "{}",
            errors.0[0].message
        );
        assert!(
            errors.0[1].message.contains("payments.example.com"),
            "outside the allowed domain too"
        );
    }

    #[test]
    fn a_host_another_request_waits_for_names_that_request() {
        let spec = ingress(
            json!({"host": "wanted.payments.example.com", "service": "checkout-api", "port": 8080, "class": "nginx"}),
        );
        let errors = check_ingress(&team("payments"), "demo", &spec, &Catalog).unwrap_err();
        assert_eq!(errors.0.len(), 1);
        assert_eq!(errors.0[0].path, "spec.host");
        assert!(
            errors.0[0]
                .message
                .contains("request #7 (team payments, service gateway)"),
            "{}",
            errors.0[0].message
        );
    }

    #[test]
    fn the_backend_must_exist_in_the_team_on_that_port() {
        let unknown = ingress(
            json!({"host": "a.payments.example.com", "service": "nope", "port": 8080, "class": "nginx"}),
        );
        assert_eq!(
            paths(check_ingress(&team("payments"), "demo", &unknown, &Catalog)),
            ["spec.service"]
        );
        let other_team = ingress(
            json!({"host": "a.search.example.com", "service": "checkout-api", "port": 8080, "class": "nginx"}),
        );
        assert_eq!(
            paths(check_ingress(
                &team("search"),
                "demo",
                &other_team,
                &Catalog
            )),
            ["spec.service"]
        );
        let port = ingress(
            json!({"host": "a.payments.example.com", "service": "checkout-api", "port": 80, "class": "nginx"}),
        );
        assert_eq!(
            paths(check_ingress(&team("payments"), "demo", &port, &Catalog)),
            ["spec.port"]
        );
        let grpc = ingress(
            json!({"host": "a.payments.example.com", "service": "checkout-api", "port": 8080, "class": "nginx", "protocol": "grpc"}),
        );
        assert_eq!(
            paths(check_ingress(&team("payments"), "demo", &grpc, &Catalog)),
            ["spec.protocol"]
        );
    }

    #[test]
    fn alb_instance_targets_switch_a_cluster_ip_service_to_node_port() {
        let alb = |target: &str, service: &str, port: u16| {
            ingress(
                json!({"host": "a.payments.example.com", "service": service, "port": port, "class": "alb", "alb": {"target_type": target}}),
            )
        };
        let c = check_ingress(
            &team("payments"),
            "demo",
            &alb("instance", "checkout-api", 8080),
            &Catalog,
        )
        .unwrap();
        assert!(c.switch_service_to_node_port);
        let ip = check_ingress(
            &team("payments"),
            "demo",
            &alb("ip", "checkout-api", 8080),
            &Catalog,
        )
        .unwrap();
        assert!(
            !ip.switch_service_to_node_port,
            "ip targets work with ClusterIP"
        );
        let already = check_ingress(
            &team("payments"),
            "demo",
            &alb("instance", "gateway", 9090),
            &Catalog,
        )
        .unwrap();
        assert!(!already.switch_service_to_node_port, "already NodePort");
    }

    #[test]
    fn nginx_tls_needs_a_certificate_covering_the_host() {
        let tls = |host: &str| {
            ingress(
                json!({"host": host, "service": "checkout-api", "port": 8080, "class": "nginx", "tls": "cert_manager"}),
            )
        };
        let covered = check_ingress(
            &team("payments"),
            "demo",
            &tls("secure.payments.example.com"),
            &Catalog,
        )
        .unwrap();
        assert_eq!(covered.tls_certificate.as_deref(), Some("secure"));
        assert_eq!(
            paths(check_ingress(
                &team("payments"),
                "demo",
                &tls("plain.payments.example.com"),
                &Catalog
            )),
            ["spec.tls"]
        );
    }
}
