//! A decommission request against the catalog: only what the team holds can go, and a
//! service goes only with every host that routes to it (a host left behind would send its
//! traffic nowhere). The objects to delete come out in reverse dependency order.

use super::{CatalogView, NginxExposure};
use crate::{
    FieldError, FieldErrors, TeamName,
    request::{
        DecommissionSpec, Transport,
        object_names::{external_env_secret_name, ingress_name},
    },
};

/// `(kind, namespace, name)` of an object on the cluster.
pub type ObjectKey = (String, String, String);

/// Checks `spec` and names every object it deletes, in the order they go: the Ingresses
/// first (no traffic reaches a service being taken away), then the Certificates, then each
/// service's NLB Services (its exposures), Service, Deployment and ExternalSecret. The namespace stays: the team may have
/// other objects in it. Objects never applied (a service without external secrets has no
/// ExternalSecret) are left out when the plan finds nothing applied under their names.
pub fn check_decommission(
    team: &TeamName,
    cluster: &str,
    namespace: &str,
    spec: &DecommissionSpec,
    catalog: &dyn CatalogView,
) -> Result<Vec<ObjectKey>, FieldErrors> {
    let mut errors = FieldErrors::default();
    let key = |kind: &str, name: String| (kind.to_owned(), namespace.to_owned(), name);
    let mut ingresses = Vec::new();
    for (i, host) in spec.hosts.iter().enumerate() {
        match catalog.host_holder(host.as_str()) {
            Some((holder, service)) if holder == *team => {
                ingresses.push(key(
                    "Ingress",
                    ingress_name(service.as_str(), host.as_str()),
                ));
            }
            Some((holder, _)) => errors.push(FieldError::new(
                format!("spec.hosts[{i}]"),
                format!("{} belongs to team {holder}, not {team}", host.as_str()),
            )),
            None => errors.push(FieldError::new(
                format!("spec.hosts[{i}]"),
                format!("team {team} serves no host {}", host.as_str()),
            )),
        }
    }
    let mut certificates = Vec::new();
    for (i, name) in spec.certificates.iter().enumerate() {
        if catalog.has_certificate(team, name.as_str()) {
            certificates.push(key("Certificate", name.to_string()));
        } else {
            errors.push(FieldError::new(
                format!("spec.certificates[{i}]"),
                format!("team {team} has no certificate {name}"),
            ));
        }
    }
    let mut workloads = Vec::new();
    for (i, name) in spec.services.iter().enumerate() {
        let path = format!("spec.services[{i}]");
        let Some(facts) = catalog.service(team, name) else {
            errors.push(FieldError::new(
                path,
                format!("team {team} has no service {name}"),
            ));
            continue;
        };
        if facts.cluster != cluster {
            errors.push(FieldError::new(
                "cluster",
                format!("service {name} runs on cluster {}", facts.cluster),
            ));
        }
        let left: Vec<String> = catalog
            .hosts_of(team, name)
            .into_iter()
            .filter(|h| !spec.hosts.iter().any(|d| d.as_str() == h))
            .collect();
        if !left.is_empty() {
            errors.push(FieldError::new(
                path,
                format!(
                    "{} still {} to service {name}: decommission {} in the same request, or first",
                    left.join(", "),
                    if left.len() == 1 { "routes" } else { "route" },
                    if left.len() == 1 {
                        "that host"
                    } else {
                        "those hosts"
                    },
                ),
            ));
        }
        // An NLB sends traffic straight to the pods: it goes before what runs them.
        for exposure in catalog.nlb_exposures_of(team, name) {
            workloads.push(key("Service", exposure.service_name()));
        }
        workloads.push(key("Service", name.to_string()));
        workloads.push(key("Deployment", name.to_string()));
        workloads.push(key(
            "ExternalSecret",
            external_env_secret_name(name.as_str()),
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ingresses
        .into_iter()
        .chain(certificates)
        .chain(workloads)
        .collect())
}

/// For each protocol on which the services `spec` names have entries in ingress-nginx's
/// shared ConfigMap on `cluster`: the entries that stay (every other service's). The
/// ConfigMap is applied again with just those, so the decommissioned ports close and free.
pub fn nginx_entries_without(
    team: &TeamName,
    cluster: &str,
    spec: &DecommissionSpec,
    catalog: &dyn CatalogView,
) -> Vec<(Transport, Vec<NginxExposure>)> {
    let going = |e: &NginxExposure| e.team == *team && spec.services.contains(&e.service);
    [Transport::Tcp, Transport::Udp]
        .into_iter()
        .filter_map(|protocol| {
            let entries = catalog.nginx_exposures(cluster, protocol);
            entries.iter().any(going).then(|| {
                let kept = entries.into_iter().filter(|e| !going(e)).collect();
                (protocol, kept)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{
        ServiceName,
        request::{
            Protocol,
            fields::Hostname,
            render::ServiceType,
            rules::{CatalogSnapshot, ServiceFacts},
        },
    };

    fn team(name: &str) -> TeamName {
        TeamName::parse("t", name).unwrap()
    }

    fn service(name: &str) -> ServiceName {
        ServiceName::parse("s", name).unwrap()
    }

    /// Payments runs ledger behind one host, with a certificate; search holds another host.
    fn catalog() -> CatalogSnapshot {
        CatalogSnapshot {
            services: vec![(
                team("payments"),
                service("ledger"),
                ServiceFacts {
                    port: 8080,
                    protocol: Protocol::Http,
                    service_type: ServiceType::ClusterIp,
                    cluster: "demo".into(),
                },
            )],
            hosts: vec![
                (
                    "ledger.payments.example.com".into(),
                    team("payments"),
                    service("ledger"),
                ),
                (
                    "find.search.example.com".into(),
                    team("search"),
                    service("finder"),
                ),
            ],
            certificates: vec![(
                team("payments"),
                "ledger-tls".into(),
                vec![Hostname::parse("d", "ledger.payments.example.com", false).unwrap()],
            )],
            ..CatalogSnapshot::default()
        }
    }

    fn spec(value: serde_json::Value) -> DecommissionSpec {
        DecommissionSpec::parse(&value).unwrap()
    }

    fn check(value: serde_json::Value) -> Result<Vec<ObjectKey>, FieldErrors> {
        check_decommission(
            &team("payments"),
            "demo",
            "payments",
            &spec(value),
            &catalog(),
        )
    }

    #[test]
    fn a_service_goes_with_its_host_and_certificate_in_reverse_dependency_order() {
        let keys = check(json!({
            "services": ["ledger"], "hosts": ["ledger.payments.example.com"],
            "certificates": ["ledger-tls"],
        }))
        .unwrap();
        let kinds: Vec<(&str, &str)> = keys
            .iter()
            .map(|(kind, _, name)| (kind.as_str(), name.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("Ingress", "ledger-ledger"),
                ("Certificate", "ledger-tls"),
                ("Service", "ledger"),
                ("Deployment", "ledger"),
                ("ExternalSecret", "ledger-env"),
            ]
        );
        assert!(keys.iter().all(|(_, ns, _)| ns == "payments"));
    }

    #[test]
    fn a_service_a_host_still_routes_to_is_refused_naming_the_host() {
        let errors = check(json!({"services": ["ledger"]})).unwrap_err();
        assert_eq!(errors.0.len(), 1);
        assert_eq!(errors.0[0].path, "spec.services[0]");
        assert!(
            errors.0[0].message.contains("ledger.payments.example.com"),
            "{errors:?}"
        );
    }

    #[test]
    fn a_host_alone_may_go() {
        let keys = check(json!({"hosts": ["ledger.payments.example.com"]})).unwrap();
        assert_eq!(keys.len(), 1);
    }

    #[test]
    fn only_what_the_team_holds_can_go() {
        let errors = check(json!({
            "services": ["payroll"], "hosts": ["find.search.example.com", "nope.payments.example.com"],
            "certificates": ["other"],
        }))
        .unwrap_err();
        let found: Vec<(&str, &str)> = errors
            .0
            .iter()
            .map(|e| (e.path.as_str(), e.message.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "spec.hosts[0]",
                    "find.search.example.com belongs to team search, not payments"
                ),
                (
                    "spec.hosts[1]",
                    "team payments serves no host nope.payments.example.com"
                ),
                (
                    "spec.certificates[0]",
                    "team payments has no certificate other"
                ),
                ("spec.services[0]", "team payments has no service payroll"),
            ]
        );
    }

    #[test]
    fn a_service_on_another_cluster_is_refused_on_the_cluster() {
        let errors = check_decommission(
            &team("payments"),
            "prod",
            "payments",
            &spec(json!({"services": ["ledger"], "hosts": ["ledger.payments.example.com"]})),
            &catalog(),
        )
        .unwrap_err();
        assert_eq!(errors.0[0].path, "cluster");
    }
}
