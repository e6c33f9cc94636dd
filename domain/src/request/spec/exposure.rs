//! A service port exposed over TCP or UDP: an entry of ingress-nginx's `tcp-services` /
//! `udp-services` ConfigMap, or a LoadBalancer Service of its own (an AWS NLB).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    FieldError, FieldErrors, ServiceName,
    names::MAX_LABEL_LEN,
    request::{
        fields::parse_port,
        reader::{SpecReader, choice},
    },
};

/// The transport an exposure carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    Tcp,
    Udp,
}

impl Transport {
    pub const ALL: [Self; 2] = [Self::Tcp, Self::Udp];

    /// As requested and stored: `tcp`, `udp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
        }
    }

    /// As Kubernetes spells it in a Service port: `TCP`, `UDP`.
    pub fn kube(self) -> &'static str {
        match self {
            Self::Tcp => "TCP",
            Self::Udp => "UDP",
        }
    }

    pub fn parse(path: &str, value: &str) -> Result<Self, FieldError> {
        choice(path, value, &Self::ALL.map(|t| (t.as_str(), t)))
    }
}

/// What carries the traffic to the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExposureVia {
    /// ingress-nginx, through its shared `tcp-services` / `udp-services` ConfigMap.
    Nginx,
    /// An AWS Network Load Balancer of its own, made by the AWS Load Balancer Controller.
    Nlb,
}

impl ExposureVia {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Nginx => "nginx",
            Self::Nlb => "nlb",
        }
    }

    pub fn parse(path: &str, value: &str) -> Result<Self, FieldError> {
        choice(path, value, &[("nginx", Self::Nginx), ("nlb", Self::Nlb)])
    }
}

/// Who reaches an NLB: the VPC only, or the internet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NlbScheme {
    Internal,
    InternetFacing,
}

impl NlbScheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Internal => "internal",
            Self::InternetFacing => "internet-facing",
        }
    }

    pub fn parse(path: &str, value: &str) -> Result<Self, FieldError> {
        choice(
            path,
            value,
            &[
                ("internal", Self::Internal),
                ("internet-facing", Self::InternetFacing),
            ],
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExposureSpec {
    pub service: ServiceName,
    /// The service's own port (the catalog's).
    pub port: u16,
    pub protocol: Transport,
    /// Where clients connect.
    pub external_port: u16,
    pub via: ExposureVia,
    /// Present exactly when `via` is `nlb`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme: Option<NlbScheme>,
}

/// Ports the ingress-nginx controller listens on itself (HTTP, HTTPS, its default server,
/// admission webhook, profiler, status, stream and health/metrics ports): a `tcp-services`
/// entry on one of them would fight the controller for it.
pub const NGINX_OWN_PORTS: [u16; 8] = [80, 443, 8181, 8443, 10245, 10246, 10247, 10254];

impl ExposureSpec {
    /// The name of the NLB's Service: `<service>-<protocol>-<external port>`.
    pub fn nlb_service_name(&self) -> String {
        format!(
            "{}-{}-{}",
            self.service,
            self.protocol.as_str(),
            self.external_port
        )
    }

    pub fn parse(spec: &Value) -> Result<Self, FieldErrors> {
        let mut r = SpecReader::new("spec", spec)?;
        let service = r.string("service").and_then(|v| {
            let path = r.path("service");
            r.check(ServiceName::parse(&path, v))
        });
        let port = r.integer("port").and_then(|v| {
            let path = r.path("port");
            r.check(parse_port(&path, v))
        });
        let protocol = r.string("protocol").and_then(|v| {
            let path = r.path("protocol");
            r.check(Transport::parse(&path, v))
        });
        let external_port = r.integer("external_port").and_then(|v| {
            let path = r.path("external_port");
            r.check(parse_port(&path, v))
        });
        let via = r.string("via").and_then(|v| {
            let path = r.path("via");
            r.check(ExposureVia::parse(&path, v))
        });
        let scheme_value = r.optional_string("scheme");
        let scheme = match (via, scheme_value) {
            (Some(ExposureVia::Nlb), Some(v)) => {
                let path = r.path("scheme");
                r.check(NlbScheme::parse(&path, v))
            }
            (Some(ExposureVia::Nlb), None) => Some(NlbScheme::Internal),
            (Some(ExposureVia::Nginx), Some(_)) => {
                r.check::<()>(Err(FieldError::new(
                    "spec.scheme",
                    "applies only to via \"nlb\" (ingress-nginx's own load balancer decides who reaches it)",
                )));
                None
            }
            (_, _) => None,
        };
        // ingress-nginx finds a stream's endpoints through a Service port of the same
        // protocol, and Stargate renders every service's Service with TCP ports only: a
        // `udp-services` entry would load, and route nowhere.
        if via == Some(ExposureVia::Nginx) && protocol == Some(Transport::Udp) {
            r.check::<()>(Err(FieldError::new(
                "spec.protocol",
                "ingress-nginx passes UDP only to a Service port of protocol UDP, and a service's Service has TCP ports; expose UDP with via \"nlb\" (it sends to the pods directly)",
            )));
        }
        if let (Some(ExposureVia::Nginx), Some(Transport::Tcp), Some(external)) =
            (via, protocol, external_port)
            && NGINX_OWN_PORTS.contains(&external)
        {
            r.check::<()>(Err(FieldError::new(
                "spec.external_port",
                format!(
                    "ingress-nginx listens on TCP {external} itself (it keeps 80, 443, 8181, 8443, 10245–10247 and 10254); choose another port"
                ),
            )));
        }
        let errors = r.finish();
        match (service, port, protocol, external_port, via) {
            (Some(service), Some(port), Some(protocol), Some(external_port), Some(via))
                if errors.is_empty() =>
            {
                let spec = Self {
                    service,
                    port,
                    protocol,
                    external_port,
                    via,
                    scheme,
                };
                // The NLB's Service is named after the service: it must still be a label.
                let name = spec.nlb_service_name();
                if via == ExposureVia::Nlb && name.len() > MAX_LABEL_LEN {
                    return Err(FieldErrors(vec![FieldError::new(
                        "spec.service",
                        format!(
                            "is too long for an NLB: its Service {name} would have {} characters, at most {MAX_LABEL_LEN} fit",
                            name.len()
                        ),
                    )]));
                }
                Ok(spec)
            }
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::request::spec::tests::paths;

    #[test]
    fn an_nlb_exposure_is_internal_unless_asked() {
        let spec = ExposureSpec::parse(&json!({
            "service": "ledger", "port": 8080, "protocol": "udp", "external_port": 5353, "via": "nlb"
        }))
        .unwrap();
        assert_eq!(spec.scheme, Some(NlbScheme::Internal));
        assert_eq!(spec.nlb_service_name(), "ledger-udp-5353");
        let nginx = ExposureSpec::parse(&json!({
            "service": "ledger", "port": 8080, "protocol": "tcp", "external_port": 9000, "via": "nginx"
        }))
        .unwrap();
        assert_eq!(nginx.scheme, None);
    }

    #[test]
    fn the_stored_spec_reads_back_as_itself() {
        for spec in [
            json!({"service": "ledger", "port": 8080, "protocol": "tcp", "external_port": 9000, "via": "nginx"}),
            json!({"service": "ledger", "port": 8080, "protocol": "udp", "external_port": 53, "via": "nlb", "scheme": "internet-facing"}),
        ] {
            let parsed = ExposureSpec::parse(&spec).unwrap();
            let stored = serde_json::to_value(&parsed).unwrap();
            assert_eq!(stored, spec);
            assert_eq!(ExposureSpec::parse(&stored).unwrap(), parsed);
        }
    }

    #[test]
    fn every_bad_exposure_field_is_named() {
        let errors = ExposureSpec::parse(&json!({
            "service": "Ledger", "port": 0, "protocol": "sctp", "external_port": 70000,
            "via": "alb", "colour": "red"
        }))
        .unwrap_err();
        assert_eq!(
            paths(errors),
            [
                "spec.colour",
                "spec.external_port",
                "spec.port",
                "spec.protocol",
                "spec.service",
                "spec.via"
            ]
        );
        assert_eq!(
            paths(ExposureSpec::parse(&json!({})).unwrap_err()),
            [
                "spec.external_port",
                "spec.port",
                "spec.protocol",
                "spec.service",
                "spec.via"
            ]
        );
        let typed = ExposureSpec::parse(&json!({
            "service": "ledger", "port": "8080", "protocol": "tcp", "external_port": 9000.5, "via": "nginx"
        }))
        .unwrap_err();
        assert_eq!(paths(typed), ["spec.external_port", "spec.port"]);
    }

    #[test]
    fn a_scheme_belongs_to_an_nlb() {
        let base =
            json!({"service": "ledger", "port": 8080, "protocol": "tcp", "external_port": 9000});
        let mut nginx = base.clone();
        nginx["via"] = json!("nginx");
        nginx["scheme"] = json!("internal");
        let errors = ExposureSpec::parse(&nginx).unwrap_err();
        assert_eq!(errors.0[0].path, "spec.scheme");
        assert!(errors.0[0].message.contains("nlb"), "{errors}");
        let mut nlb = base;
        nlb["via"] = json!("nlb");
        nlb["scheme"] = json!("public");
        let errors = ExposureSpec::parse(&nlb).unwrap_err();
        assert_eq!(paths(errors.clone()), ["spec.scheme"]);
        assert!(
            errors.0[0].message.contains("internal, internet-facing"),
            "{errors}"
        );
    }

    #[test]
    fn ingress_nginx_keeps_its_own_tcp_ports() {
        let spec = |protocol: &str, port: u16, via: &str| json!({"service": "ledger", "port": 8080, "protocol": protocol, "external_port": port, "via": via});
        for port in [80, 443, 10254] {
            let errors = ExposureSpec::parse(&spec("tcp", port, "nginx")).unwrap_err();
            assert_eq!(paths(errors.clone()), ["spec.external_port"], "{port}");
            assert!(errors.0[0].message.contains("itself"), "{errors}");
        }
        assert!(ExposureSpec::parse(&spec("tcp", 9000, "nginx")).is_ok());
        assert!(
            ExposureSpec::parse(&spec("tcp", 443, "nlb")).is_ok(),
            "an NLB is a load balancer of its own"
        );
    }

    #[test]
    fn udp_goes_through_an_nlb_not_ingress_nginx() {
        let spec = |via: &str| json!({"service": "ledger", "port": 8080, "protocol": "udp", "external_port": 5353, "via": via});
        let errors = ExposureSpec::parse(&spec("nginx")).unwrap_err();
        assert_eq!(paths(errors.clone()), ["spec.protocol"]);
        assert!(errors.0[0].message.contains("\"nlb\""), "{errors}");
        assert!(ExposureSpec::parse(&spec("nlb")).is_ok());
    }

    #[test]
    fn an_nlb_service_name_must_stay_a_label() {
        let long = "a".repeat(60);
        let errors = ExposureSpec::parse(&json!({
            "service": long, "port": 8080, "protocol": "tcp", "external_port": 9000, "via": "nlb"
        }))
        .unwrap_err();
        assert_eq!(paths(errors.clone()), ["spec.service"]);
        assert!(errors.0[0].message.contains("-tcp-9000"), "{errors}");
        assert!(
            ExposureSpec::parse(&json!({
                "service": long, "port": 8080, "protocol": "tcp", "external_port": 9000, "via": "nginx"
            }))
            .is_ok(),
            "ingress-nginx names no object after it"
        );
    }
}
