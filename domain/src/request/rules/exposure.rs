//! An exposure against the catalog: the service and its port, its cluster, and who holds
//! the external port on ingress-nginx (one external port per cluster and protocol, one
//! owner — like a host).

use super::{CatalogView, NginxExposure, routed_service};
use crate::{
    FieldError, FieldErrors, ServiceName, TeamName,
    request::{ExposureSpec, ExposureVia},
};

/// Checks an exposure request for `team` on `cluster`. For ingress-nginx, the answer is the
/// entries its ConfigMap already holds: the rendered ConfigMap must carry them all, or
/// applying it would drop them.
pub fn check_exposure(
    team: &TeamName,
    cluster: &str,
    spec: &ExposureSpec,
    catalog: &dyn CatalogView,
) -> Result<Vec<NginxExposure>, FieldErrors> {
    let mut errors = FieldErrors::default();
    routed_service(
        team,
        cluster,
        &spec.service,
        spec.port,
        "exposure",
        catalog,
        &mut errors,
    );
    let entries = match spec.via {
        ExposureVia::Nginx => {
            let entries = catalog.nginx_exposures(cluster, spec.protocol);
            if let Some(error) = port_holder_error(spec, cluster, &entries, catalog) {
                errors.push(error);
            }
            entries
        }
        ExposureVia::Nlb => {
            // The NLB's Service lives in the team's namespace, beside the services' own.
            let name = spec.nlb_service_name();
            if let Ok(other) = ServiceName::parse("service", &name)
                && catalog.service(team, &other).is_some()
            {
                errors.push(FieldError::new(
                    "spec.external_port",
                    format!(
                        "the NLB's Service would be named {name}, which is the Service of your team's service {name}; choose another external port"
                    ),
                ));
            }
            Vec::new()
        }
    };
    errors.into_result(entries)
}

/// Who holds the external port on ingress-nginx, if anyone does: the catalog, or another
/// waiting request.
fn port_holder_error(
    spec: &ExposureSpec,
    cluster: &str,
    entries: &[NginxExposure],
    catalog: &dyn CatalogView,
) -> Option<FieldError> {
    let what = format!(
        "{} {} on ingress-nginx of cluster {cluster}",
        spec.protocol.kube(),
        spec.external_port
    );
    if let Some(held) = entries
        .iter()
        .find(|e| e.external_port == spec.external_port)
    {
        return Some(FieldError::new(
            "spec.external_port",
            format!(
                "{what} is already exposed for {}/{} (port {}); an external port has one owner",
                held.team, held.service, held.port
            ),
        ));
    }
    catalog
        .port_request(cluster, spec.protocol, spec.external_port)
        .map(|held| {
            FieldError::new(
                "spec.external_port",
                format!(
                    "{what} is already requested by request #{} ({}/{}), which holds it until it is rejected, cancelled or fails; an external port has one owner",
                    held.request_id, held.team, held.service
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::request::{
        Protocol, Transport,
        render::ServiceType,
        rules::{CatalogSnapshot, PortRequest, ServiceFacts},
    };

    fn team(name: &str) -> TeamName {
        TeamName::parse("team", name).unwrap()
    }

    fn service(name: &str) -> ServiceName {
        ServiceName::parse("service", name).unwrap()
    }

    /// payments runs ledger (8080) and search runs indexer (7000) on cluster demo; search's
    /// indexer has TCP 9000 on ingress-nginx, and request #7 of payments waits for TCP 9001.
    fn catalog() -> CatalogSnapshot {
        let facts = |port: u16| ServiceFacts {
            port,
            protocol: Protocol::Tcp,
            service_type: ServiceType::ClusterIp,
            cluster: "demo".into(),
        };
        CatalogSnapshot {
            services: vec![
                (team("payments"), service("ledger"), facts(8080)),
                (team("payments"), service("ledger-tcp-7000"), facts(7000)),
                (team("search"), service("indexer"), facts(7000)),
            ],
            nginx_exposures: vec![NginxExposure {
                cluster: "demo".into(),
                protocol: Transport::Tcp,
                external_port: 9000,
                team: team("search"),
                namespace: "search".into(),
                service: service("indexer"),
                port: 7000,
            }],
            port_requests: vec![PortRequest {
                cluster: "demo".into(),
                protocol: Transport::Tcp,
                external_port: 9001,
                request_id: 7,
                team: team("payments"),
                service: service("ledger"),
            }],
            ..CatalogSnapshot::default()
        }
    }

    fn exposure(spec: serde_json::Value) -> ExposureSpec {
        ExposureSpec::parse(&spec).unwrap()
    }

    fn nginx(port: u16, external_port: u16) -> ExposureSpec {
        exposure(
            json!({"service": "ledger", "port": port, "protocol": "tcp", "external_port": external_port, "via": "nginx"}),
        )
    }

    fn errors(spec: &ExposureSpec, cluster: &str) -> FieldErrors {
        check_exposure(&team("payments"), cluster, spec, &catalog()).unwrap_err()
    }

    #[test]
    fn a_free_port_keeps_every_other_entry_of_the_config_map() {
        let entries =
            check_exposure(&team("payments"), "demo", &nginx(8080, 9100), &catalog()).unwrap();
        let ports: Vec<u16> = entries.iter().map(|e| e.external_port).collect();
        assert_eq!(ports, [9000], "search's entry stays in the ConfigMap");
    }

    #[test]
    fn an_external_port_in_the_catalog_names_its_owner() {
        let errors = errors(&nginx(8080, 9000), "demo");
        assert_eq!(errors.0.len(), 1, "{errors}");
        assert_eq!(errors.0[0].path, "spec.external_port");
        assert!(
            errors.0[0].message.contains("search/indexer"),
            "{}",
            errors.0[0].message
        );
        // UDP 9000 is another port; so is TCP 9000 on another cluster's ingress-nginx.
        let udp = NginxExposure {
            protocol: Transport::Udp,
            ..catalog().nginx_exposures[0].clone()
        };
        let only_udp = CatalogSnapshot {
            nginx_exposures: vec![udp],
            ..catalog()
        };
        assert!(check_exposure(&team("payments"), "demo", &nginx(8080, 9000), &only_udp).is_ok());
    }

    #[test]
    fn an_external_port_another_request_waits_for_names_that_request() {
        let errors = errors(&nginx(8080, 9001), "demo");
        assert_eq!(errors.0.len(), 1, "{errors}");
        assert_eq!(errors.0[0].path, "spec.external_port");
        assert!(
            errors.0[0].message.contains("request #7 (payments/ledger)"),
            "{}",
            errors.0[0].message
        );
    }

    #[test]
    fn the_service_must_exist_in_the_team_on_that_port_and_cluster() {
        let unknown = exposure(
            json!({"service": "nope", "port": 8080, "protocol": "tcp", "external_port": 9100, "via": "nginx"}),
        );
        let unknown = errors(&unknown, "demo");
        assert_eq!(unknown.0[0].path, "spec.service");
        assert!(unknown.0[0].message.contains("request the service first"));
        let other_team =
            check_exposure(&team("search"), "demo", &nginx(8080, 9100), &catalog()).unwrap_err();
        assert_eq!(other_team.0[0].path, "spec.service", "ledger is payments'");
        let wrong_port = errors(&nginx(80, 9100), "demo");
        assert_eq!(wrong_port.0[0].path, "spec.port");
        assert!(
            wrong_port.0[0]
                .message
                .contains("listens on port 8080, not 80"),
            "{wrong_port}"
        );
        let elsewhere = errors(&nginx(8080, 9100), "eu-1");
        assert_eq!(elsewhere.0[0].path, "cluster");
        assert!(elsewhere.0[0].message.contains("demo"), "{elsewhere}");
    }

    #[test]
    fn an_nlb_holds_no_shared_port_but_must_not_take_a_service_name() {
        let nlb = |external_port: u16| {
            exposure(
                json!({"service": "ledger", "port": 8080, "protocol": "tcp", "external_port": external_port, "via": "nlb"}),
            )
        };
        let entries = check_exposure(&team("payments"), "demo", &nlb(9000), &catalog()).unwrap();
        assert!(entries.is_empty(), "an NLB is a load balancer of its own");
        let clash = errors(&nlb(7000), "demo");
        assert_eq!(clash.0[0].path, "spec.external_port");
        assert!(clash.0[0].message.contains("ledger-tcp-7000"), "{clash}");
    }
}
