//! Rules across objects, checked against a read-only view of the catalog: who holds a
//! host, which domains a team may use, what service an ingress points at, which clusters
//! exist.

mod certificate;
mod ingress;
mod service;

use serde::{Deserialize, Serialize};

pub use certificate::check_certificate;
pub use ingress::{IngressConsequences, check_ingress};
pub use service::check_service;

use super::{Protocol, fields::Hostname, render::ServiceType};
use crate::{FieldError, ServiceName, TeamName};

/// What the rules need to know of a service that exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceFacts {
    pub port: u16,
    pub protocol: Protocol,
    pub service_type: ServiceType,
    pub cluster: String,
}

/// The catalog as the rules see it (implemented by a snapshot the store fills for one
/// request).
pub trait CatalogView {
    /// The team and service holding `host`, if any.
    fn host_holder(&self, host: &str) -> Option<(TeamName, ServiceName)>;
    fn service(&self, team: &TeamName, name: &ServiceName) -> Option<ServiceFacts>;
    /// DNS domains the team's hosts must sit under.
    fn allowed_domains(&self, team: &TeamName) -> Vec<String>;
    /// Whether a certificate of the team covers `host`.
    fn certificate_covers(&self, team: &TeamName, host: &Hostname) -> bool;
}

/// The part of the catalog one request's rules read, as plain data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogSnapshot {
    /// `(host, team, service)` of hosts already served.
    pub hosts: Vec<(String, TeamName, ServiceName)>,
    pub services: Vec<(TeamName, ServiceName, ServiceFacts)>,
    pub allowed_domains: Vec<(TeamName, Vec<String>)>,
    /// `(team, dns names)` of certificates.
    pub certificates: Vec<(TeamName, Vec<Hostname>)>,
}

impl CatalogView for CatalogSnapshot {
    fn host_holder(&self, host: &str) -> Option<(TeamName, ServiceName)> {
        self.hosts
            .iter()
            .find(|(h, _, _)| h == host)
            .map(|(_, team, service)| (team.clone(), service.clone()))
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

    fn certificate_covers(&self, team: &TeamName, host: &Hostname) -> bool {
        self.certificates
            .iter()
            .any(|(t, names)| t == team && names.iter().any(|n| n.covers(host)))
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
