//! The request kinds and their validated specs. Rules that need no catalog live
//! here; rules against the catalog (host held by someone else, allowed domains, the
//! target service) come with the cross-object checks.

mod adopt;
mod certificate;
mod decommission;
mod env;
mod exposure;
mod import;
mod ingress;
mod restore;
mod service;

use serde::{Deserialize, Serialize};

pub use adopt::AdoptSpec;
pub use certificate::CertificateSpec;
pub use decommission::DecommissionSpec;
pub use env::{EnvValue, ExternalRef, looks_secret};
pub use exposure::{ExposureSpec, ExposureVia, NGINX_OWN_PORTS, NlbScheme, Transport};
pub use import::ImportSpec;
pub use ingress::{AlbSettings, IngressSpec};
pub use restore::{RestoreObject, RestoreSpec};
pub use service::{Scaling, ServiceSpec};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    Http,
    Grpc,
    Tcp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IngressClass {
    Nginx,
    Alb,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tls {
    None,
    CertManager,
    Acm,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlbScheme {
    InternetFacing,
    Internal,
}

/// How an ALB reaches pods: `ip` (pod IPs, any Service type) or `instance` (node ports,
/// so the Service must be NodePort — the trap from the field report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlbTargetType {
    Ip,
    Instance,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Challenge {
    Http01,
    Dns01,
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::FieldErrors;

    /// The paths at fault, sorted (type errors are found before value errors).
    pub fn paths(errors: FieldErrors) -> Vec<String> {
        let mut paths: Vec<String> = errors.0.into_iter().map(|e| e.path).collect();
        paths.sort();
        paths
    }
}
