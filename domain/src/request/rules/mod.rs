//! Rules across objects, checked against a read-only view of the catalog: who holds a
//! host or an external port, which domains a team may use, what service an ingress or an
//! exposure points at, which clusters exist.

mod adopt;
mod certificate;
mod decommission;
mod exposure;
mod ingress;
mod restore;
mod service;

use serde::{Deserialize, Serialize};

pub use adopt::{Adoption, check_adopt};
pub use certificate::check_certificate;
pub use decommission::{ObjectKey, check_decommission, nginx_entries_without};
pub use exposure::check_exposure;
pub use ingress::{IngressConsequences, check_ingress};
pub use restore::{DriftedObject, check_restore};
pub use service::check_service;

use super::{Protocol, ServiceSpec, Transport, fields::Hostname, render::ServiceType};
use crate::{FieldError, FieldErrors, ServiceName, TeamName};

/// What the rules need to know of a service that exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceFacts {
    pub port: u16,
    pub protocol: Protocol,
    pub service_type: ServiceType,
    pub cluster: String,
}

/// The service an ingress or an exposure sends traffic to: the team's own, on the request's
/// cluster (`what` names the request in the message), listening on `port`. Its facts when
/// the team has it; each mismatch is pushed to `errors`.
fn routed_service(
    team: &TeamName,
    cluster: &str,
    service: &ServiceName,
    port: u16,
    what: &str,
    catalog: &dyn CatalogView,
    errors: &mut FieldErrors,
) -> Option<ServiceFacts> {
    let Some(facts) = catalog.service(team, service) else {
        errors.push(FieldError::new(
            "spec.service",
            format!("team {team} has no service {service}; request the service first"),
        ));
        return None;
    };
    if facts.cluster != cluster {
        errors.push(FieldError::new(
            "cluster",
            format!(
                "service {service} runs on cluster {}; its {what} must go there too",
                facts.cluster
            ),
        ));
    }
    if facts.port != port {
        errors.push(FieldError::new(
            "spec.port",
            format!(
                "service {service} listens on port {}, not {port}",
                facts.port
            ),
        ));
    }
    Some(facts)
}

/// The catalog as the rules see it (implemented by a snapshot the store fills for one
/// request).
pub trait CatalogView {
    /// The team and service holding `host`, if any.
    fn host_holder(&self, host: &str) -> Option<(TeamName, ServiceName)>;
    /// Another request waiting for `host` (under review, queued or applying): it holds the
    /// host until it is rejected, cancelled or fails.
    fn host_request(&self, host: &str) -> Option<HostRequest>;
    fn service(&self, team: &TeamName, name: &ServiceName) -> Option<ServiceFacts>;
    /// DNS domains the team's hosts must sit under.
    fn allowed_domains(&self, team: &TeamName) -> Vec<String>;
    /// cert-manager ClusterIssuers the team may use; empty when any may be used.
    fn allowed_issuers(&self, team: &TeamName) -> Vec<String>;
    /// The name of a certificate of the team that covers `host`, if any: an nginx Ingress
    /// serves the secret that Certificate writes.
    fn certificate_for(&self, team: &TeamName, host: &Hostname) -> Option<String>;
    /// The entries of ingress-nginx's ConfigMap for `protocol` on `cluster` (every team's:
    /// the ConfigMap is shared, and applying it without one would drop that one).
    fn nginx_exposures(&self, cluster: &str, protocol: Transport) -> Vec<NginxExposure>;
    /// Another request waiting for `external_port` of ingress-nginx on `cluster`: it holds
    /// the port until it is rejected, cancelled or fails.
    fn port_request(
        &self,
        cluster: &str,
        protocol: Transport,
        external_port: u16,
    ) -> Option<PortRequest>;
    /// The hosts that route to a service of the team.
    fn hosts_of(&self, team: &TeamName, service: &ServiceName) -> Vec<String>;
    /// Whether the team holds a certificate of that name.
    fn has_certificate(&self, team: &TeamName, name: &str) -> bool;
    /// The NLB exposures of a service of the team: a decommission deletes their Services.
    fn nlb_exposures_of(&self, team: &TeamName, service: &ServiceName) -> Vec<NlbExposure>;
    /// The objects of a service of the team as the last drift check found them, each with
    /// the object as last applied (a restore applies them again).
    fn drifted_objects(&self, _team: &TeamName, _service: &ServiceName) -> Vec<DriftedObject> {
        Vec::new()
    }
    /// The spec of a service of the team as last approved (an adopt derives the next one
    /// from it).
    fn approved_service(&self, _team: &TeamName, _service: &ServiceName) -> Option<ServiceSpec> {
        None
    }
    /// The objects an import read from its namespace, those Stargate applied left out.
    fn namespace_objects(&self) -> &[serde_json::Value] {
        &[]
    }
}

/// A request that holds a host it has not been applied for yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostRequest {
    pub host: String,
    pub request_id: i64,
    pub team: TeamName,
    pub service: ServiceName,
}

/// An entry of ingress-nginx's `tcp-services` or `udp-services` ConfigMap in the catalog:
/// `external_port` → `namespace/service:port`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NginxExposure {
    pub cluster: String,
    pub protocol: Transport,
    pub external_port: u16,
    pub team: TeamName,
    pub namespace: String,
    pub service: ServiceName,
    pub port: u16,
}

/// A port of a service exposed through an NLB: its own LoadBalancer Service,
/// `<service>-<protocol>-<external port>` in the team's namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NlbExposure {
    pub team: TeamName,
    pub service: ServiceName,
    pub protocol: Transport,
    pub external_port: u16,
}

impl NlbExposure {
    /// The name of its LoadBalancer Service (as `ExposureSpec::nlb_service_name`).
    pub fn service_name(&self) -> String {
        format!(
            "{}-{}-{}",
            self.service,
            self.protocol.as_str(),
            self.external_port
        )
    }
}

/// A request that holds an external port of ingress-nginx it has not been applied for yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRequest {
    pub cluster: String,
    pub protocol: Transport,
    pub external_port: u16,
    pub request_id: i64,
    pub team: TeamName,
    pub service: ServiceName,
}

/// The part of the catalog one request's rules read, as plain data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogSnapshot {
    /// `(host, team, service)` of hosts already served.
    pub hosts: Vec<(String, TeamName, ServiceName)>,
    /// Hosts that other waiting requests hold.
    pub host_requests: Vec<HostRequest>,
    pub services: Vec<(TeamName, ServiceName, ServiceFacts)>,
    pub allowed_domains: Vec<(TeamName, Vec<String>)>,
    /// ClusterIssuers each team may use (none listed: any).
    pub allowed_issuers: Vec<(TeamName, Vec<String>)>,
    /// `(team, certificate name, dns names)` of certificates.
    pub certificates: Vec<(TeamName, String, Vec<Hostname>)>,
    /// Entries of ingress-nginx's TCP/UDP ConfigMaps.
    pub nginx_exposures: Vec<NginxExposure>,
    /// External ports of ingress-nginx that other waiting requests hold.
    pub port_requests: Vec<PortRequest>,
    /// NLB exposures of the services a decommission names.
    #[serde(default)]
    pub nlb_exposures: Vec<NlbExposure>,
    /// The drift of the objects of the service a restore names.
    #[serde(default)]
    pub drifted_objects: Vec<DriftedObject>,
    /// The approved spec of the service an adopt names.
    #[serde(default)]
    pub approved_services: Vec<(TeamName, ServiceSpec)>,
    /// What an import read from its namespace on the cluster.
    #[serde(default)]
    pub namespace_objects: Vec<serde_json::Value>,
}

impl CatalogView for CatalogSnapshot {
    fn host_holder(&self, host: &str) -> Option<(TeamName, ServiceName)> {
        self.hosts
            .iter()
            .find(|(h, _, _)| h == host)
            .map(|(_, team, service)| (team.clone(), service.clone()))
    }

    fn host_request(&self, host: &str) -> Option<HostRequest> {
        self.host_requests.iter().find(|r| r.host == host).cloned()
    }

    fn service(&self, team: &TeamName, name: &ServiceName) -> Option<ServiceFacts> {
        self.services
            .iter()
            .find(|(t, n, _)| t == team && n == name)
            .map(|(_, _, facts)| facts.clone())
    }

    fn allowed_domains(&self, team: &TeamName) -> Vec<String> {
        self.allowed_domains
            .iter()
            .find(|(t, _)| t == team)
            .map(|(_, domains)| domains.clone())
            .unwrap_or_default()
    }

    fn allowed_issuers(&self, team: &TeamName) -> Vec<String> {
        self.allowed_issuers
            .iter()
            .find(|(t, _)| t == team)
            .map(|(_, issuers)| issuers.clone())
            .unwrap_or_default()
    }

    fn certificate_for(&self, team: &TeamName, host: &Hostname) -> Option<String> {
        self.certificates
            .iter()
            .find(|(t, _, names)| t == team && names.iter().any(|n| n.covers(host)))
            .map(|(_, name, _)| name.clone())
    }

    fn nginx_exposures(&self, cluster: &str, protocol: Transport) -> Vec<NginxExposure> {
        self.nginx_exposures
            .iter()
            .filter(|e| e.cluster == cluster && e.protocol == protocol)
            .cloned()
            .collect()
    }

    fn port_request(
        &self,
        cluster: &str,
        protocol: Transport,
        external_port: u16,
    ) -> Option<PortRequest> {
        self.port_requests
            .iter()
            .find(|r| {
                r.cluster == cluster && r.protocol == protocol && r.external_port == external_port
            })
            .cloned()
    }

    fn hosts_of(&self, team: &TeamName, service: &ServiceName) -> Vec<String> {
        self.hosts
            .iter()
            .filter(|(_, t, s)| t == team && s == service)
            .map(|(host, _, _)| host.clone())
            .collect()
    }

    fn has_certificate(&self, team: &TeamName, name: &str) -> bool {
        self.certificates
            .iter()
            .any(|(t, n, _)| t == team && n == name)
    }

    fn nlb_exposures_of(&self, team: &TeamName, service: &ServiceName) -> Vec<NlbExposure> {
        self.nlb_exposures
            .iter()
            .filter(|e| e.team == *team && e.service == *service)
            .cloned()
            .collect()
    }

    fn drifted_objects(&self, team: &TeamName, service: &ServiceName) -> Vec<DriftedObject> {
        self.drifted_objects
            .iter()
            .filter(|o| o.team == *team && o.service == *service)
            .cloned()
            .collect()
    }

    fn approved_service(&self, team: &TeamName, service: &ServiceName) -> Option<ServiceSpec> {
        self.approved_services
            .iter()
            .find(|(t, s)| t == team && s.name == *service)
            .map(|(_, spec)| spec.clone())
    }

    fn namespace_objects(&self) -> &[serde_json::Value] {
        &self.namespace_objects
    }
}

/// The error for a host outside every domain `team` may use, if it is.
fn allowed_domains_error(
    path: &str,
    host: &Hostname,
    team: &TeamName,
    catalog: &dyn CatalogView,
) -> Option<FieldError> {
    let domains = catalog.allowed_domains(team);
    if domains.iter().any(|d| host.is_under(d)) {
        return None;
    }
    let allowed = if domains.is_empty() {
        "none are configured".to_owned()
    } else {
        domains.join(", ")
    };
    Some(FieldError::new(
        path,
        format!("must sit under a domain team {team} may use ({allowed})"),
    ))
}
