//! What the catalog shows: teams and their services.

use serde::{Deserialize, Serialize};

use crate::{FieldError, ServiceName, TeamName, drift::DriftState};

/// Where a service stands, as the catalog knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ServiceStatus {
    /// Requested or being applied; not running yet.
    Pending,
    /// Applied and ready.
    Live,
    /// Running, but not all replicas are ready or live state drifted.
    Degraded,
    /// The last change failed to apply.
    Failed,
    /// Taken off its cluster by a decommission: kept in history, listed only when asked
    /// for by this status.
    Decommissioned,
}

impl ServiceStatus {
    pub const ALL: [ServiceStatus; 5] = [
        Self::Pending,
        Self::Live,
        Self::Degraded,
        Self::Failed,
        Self::Decommissioned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Live => "live",
            Self::Degraded => "degraded",
            Self::Failed => "failed",
            Self::Decommissioned => "decommissioned",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Live => "Live",
            Self::Degraded => "Degraded",
            Self::Failed => "Failed",
            Self::Decommissioned => "Decommissioned",
        }
    }

    pub fn parse(path: &str, value: &str) -> Result<Self, FieldError> {
        let options = Self::ALL.map(|s| (s.as_str(), s));
        crate::field_error::choice(path, value, &options)
    }
}

impl std::fmt::Display for ServiceStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Team {
    pub name: TeamName,
    pub display_name: String,
    pub description: String,
    pub namespace: String,
}

/// A cluster services run on (from configuration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Cluster {
    pub name: String,
    /// `dry-run`, `kubeconfig` or `eks`.
    pub kind: String,
    pub description: String,
    pub services: u64,
}

/// An ingress host as applied: who holds it and how it is served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Host {
    pub host: String,
    pub team: TeamName,
    pub service: ServiceName,
    /// `nginx` or `alb`.
    pub class: String,
    /// `none`, `cert_manager` or `acm`.
    pub tls: String,
    /// Its Ingress's drift as last checked: `None` in sync or never checked.
    #[serde(default)]
    pub drift: Option<DriftState>,
    /// The address of its load balancer, as its Ingress's status says (a hostname or an
    /// IP); unknown until the cluster reports one.
    #[serde(default)]
    pub lb_address: Option<String>,
}

/// A service's pods as its Deployment's status reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LiveReplicas {
    /// `status.replicas`.
    pub replicas: u32,
    /// `status.availableReplicas`.
    pub available: u32,
}

/// A port of a service exposed over TCP or UDP, as applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Exposure {
    /// `tcp` or `udp`.
    pub protocol: String,
    /// Where clients connect.
    pub external_port: u16,
    /// The service's port it reaches.
    pub port: u16,
    /// `nginx` (an entry of ingress-nginx's ConfigMap) or `nlb` (a LoadBalancer Service of
    /// its own).
    pub via: String,
    /// `internal` or `internet-facing`, for an NLB.
    pub scheme: Option<String>,
}

/// A TLS certificate as applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Certificate {
    pub team: TeamName,
    pub name: String,
    pub dns_names: Vec<String>,
    pub issuer: String,
    /// RFC 3339, UTC; unknown until issued.
    pub expires_at: Option<String>,
    /// `pending`, `ready` or `failed`.
    pub status: String,
    /// Expires within 30 days of when the list was made.
    pub expiring_soon: bool,
    /// Its Certificate object's drift as last checked: `None` in sync or never checked.
    #[serde(default)]
    pub drift: Option<DriftState>,
    /// The team's service with a host it covers (first by name), whose page shows its drift.
    #[serde(default)]
    pub service: Option<ServiceName>,
    /// RFC 3339, UTC: when its expiry and status last came from its Certificate in the
    /// cluster; `None`: as recorded when it was applied.
    #[serde(default)]
    pub live_at: Option<String>,
}

/// A team with the people the portal knows in it (from their last sign-in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TeamDetail {
    pub team: Team,
    pub leads: Vec<String>,
    pub members: Vec<String>,
    pub services: u64,
}

/// A row of the catalog list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceSummary {
    pub team: TeamName,
    pub name: ServiceName,
    pub description: String,
    pub cluster: String,
    pub status: ServiceStatus,
    /// RFC 3339, UTC.
    pub updated_at: String,
    /// The worst drift of its Deployment and Service as last checked (missing, drifted,
    /// unknown): `None` in sync or never checked.
    #[serde(default)]
    pub drift: Option<DriftState>,
}

/// Everything the service page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceDetail {
    pub team: TeamName,
    pub team_display_name: String,
    pub name: ServiceName,
    pub description: String,
    pub cluster: String,
    pub namespace: String,
    pub status: ServiceStatus,
    pub image: String,
    /// The count Stargate sets (0 and meaningless when an autoscaler sets them).
    pub replicas: u32,
    /// Who sets the replicas, as last applied: an applied Deployment without
    /// `spec.replicas` leaves them to a HorizontalPodAutoscaler.
    #[serde(default)]
    pub scaling: crate::request::Scaling,
    /// Pods its Deployment has and how many are available, as the cluster last said;
    /// `None` until it has.
    #[serde(default)]
    pub live_replicas: Option<LiveReplicas>,
    pub port: u16,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// RFC 3339, UTC.
    pub updated_at: String,
    /// RFC 3339, UTC: when a decommission took the service off its cluster (it is no
    /// longer listed; requesting it again brings it back).
    #[serde(default)]
    pub decommissioned_at: Option<String>,
    pub hosts: Vec<Host>,
    pub certificates: Vec<Certificate>,
    /// Its ports exposed over TCP or UDP, by protocol and external port.
    pub exposures: Vec<Exposure>,
    /// Emails of the owning team's leads the portal knows.
    pub leads: Vec<String>,
    /// The Deployment and Service as Stargate last applied them (multi-document YAML);
    /// `None` until a request for the service was applied.
    pub applied_manifests: Option<String>,
    /// The latest requests about the service (its own and its ingresses'), newest first.
    pub history: Vec<crate::request::RequestSummary>,
}

/// One page of a longer list, with the total so clients can paginate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

impl<T> Page<T> {
    /// Number of pages; an empty list still has one (empty) page.
    pub fn page_count(&self) -> u32 {
        let per_page = u64::from(self.per_page.max(1));
        u32::try_from(self.total.div_ceil(per_page).max(1)).unwrap_or(u32::MAX)
    }

    pub fn has_previous(&self) -> bool {
        self.page > 1
    }

    pub fn has_next(&self) -> bool {
        self.page < self.page_count()
    }

    /// 1-based position of the first and last item shown, for "21–40 of 312".
    pub fn shown_range(&self) -> Option<(u64, u64)> {
        if self.items.is_empty() {
            return None;
        }
        let first = u64::from(self.page - 1) * u64::from(self.per_page) + 1;
        Some((first, first + self.items.len() as u64 - 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(total: u64, page: u32, per_page: u32, shown: usize) -> Page<u8> {
        Page {
            items: vec![0; shown],
            total,
            page,
            per_page,
        }
    }

    #[test]
    fn page_count_rounds_up_and_never_drops_to_zero() {
        assert_eq!(page(0, 1, 20, 0).page_count(), 1);
        assert_eq!(page(20, 1, 20, 20).page_count(), 1);
        assert_eq!(page(21, 1, 20, 20).page_count(), 2);
        assert_eq!(page(10_000, 1, 20, 20).page_count(), 500);
    }

    #[test]
    fn previous_and_next() {
        assert!(!page(45, 1, 20, 20).has_previous());
        assert!(page(45, 1, 20, 20).has_next());
        assert!(page(45, 3, 20, 5).has_previous());
        assert!(!page(45, 3, 20, 5).has_next());
    }

    #[test]
    fn shown_range_of_middle_and_last_page() {
        assert_eq!(page(45, 2, 20, 20).shown_range(), Some((21, 40)));
        assert_eq!(page(45, 3, 20, 5).shown_range(), Some((41, 45)));
        assert_eq!(page(45, 9, 20, 0).shown_range(), None);
    }

    #[test]
    fn status_round_trips_and_names_the_field() {
        for s in ServiceStatus::ALL {
            assert_eq!(ServiceStatus::parse("status", s.as_str()), Ok(s));
        }
        let err = ServiceStatus::parse("status", "running").unwrap_err();
        assert_eq!(err.path, "status");
        assert!(err.message.contains("running"));
    }
}
