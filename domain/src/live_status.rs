//! Live status: what the cluster says of an object Stargate applied, beside what was
//! approved: a Deployment's available replicas, an Ingress's load-balancer address, a
//! cert-manager Certificate's expiry and readiness. Read from the object's `status` only.

use serde_json::Value;

/// What one live object says, if it is of a kind the catalog shows live status for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveStatus {
    /// A service's Deployment, in its team's namespace.
    Replicas {
        namespace: String,
        name: String,
        /// `status.replicas`: pods the Deployment has.
        replicas: u32,
        /// `status.availableReplicas`: pods ready long enough to serve.
        available: u32,
    },
    /// A host's Ingress: the first address its load balancer reports, for each host it
    /// routes.
    LoadBalancer {
        hosts: Vec<String>,
        address: Option<String>,
    },
    /// A team's Certificate.
    Certificate {
        namespace: String,
        name: String,
        /// `status.notAfter`, RFC 3339.
        not_after: Option<String>,
        /// The `Ready` condition: `Some(true)` issued and valid, `Some(false)` not (yet).
        ready: Option<bool>,
    },
}

/// `text` as the catalog stores instants, `YYYY-MM-DDTHH:MM:SSZ` (so they sort as
/// instants), if it is an RFC 3339 time in UTC as the API server writes them.
fn instant(text: &str) -> Option<String> {
    let seconds = text.strip_suffix('Z')?.split('.').next()?;
    let shape = "dddd-dd-ddTdd:dd:dd";
    let fits = seconds.len() == shape.len()
        && seconds
            .chars()
            .zip(shape.chars())
            .all(|(c, s)| if s == 'd' { c.is_ascii_digit() } else { c == s });
    fits.then(|| format!("{seconds}Z"))
}

/// The live status in `object`, if its kind has one the catalog shows.
pub fn observe(object: &Value) -> Option<LiveStatus> {
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let count = |v: &Value| v.as_u64().and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
    let metadata = &object["metadata"];
    let namespace = text(&metadata["namespace"]).unwrap_or_default();
    let name = text(&metadata["name"])?;
    let status = &object["status"];
    match object["kind"].as_str()? {
        "Deployment" => Some(LiveStatus::Replicas {
            namespace,
            name,
            replicas: count(&status["replicas"]),
            available: count(&status["availableReplicas"]),
        }),
        "Ingress" => {
            let hosts = object["spec"]["rules"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|rule| text(&rule["host"]))
                .collect();
            let first = &status["loadBalancer"]["ingress"][0];
            let address = text(&first["hostname"]).or_else(|| text(&first["ip"]));
            Some(LiveStatus::LoadBalancer { hosts, address })
        }
        "Certificate" => {
            let ready = status["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| c["type"] == "Ready")
                .and_then(|c| match c["status"].as_str() {
                    Some("True") => Some(true),
                    Some("False") => Some(false),
                    _ => None,
                });
            Some(LiveStatus::Certificate {
                namespace,
                name,
                not_after: status["notAfter"].as_str().and_then(instant),
                ready,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_deployment_tells_its_replicas() {
        let live = json!({"kind": "Deployment",
            "metadata": {"name": "orders", "namespace": "payments"},
            "spec": {"replicas": 3}, "status": {"replicas": 3, "availableReplicas": 2}});
        assert_eq!(
            observe(&live),
            Some(LiveStatus::Replicas {
                namespace: "payments".into(),
                name: "orders".into(),
                replicas: 3,
                available: 2
            })
        );
        // A new Deployment has no status yet: nothing available.
        let new = json!({"kind": "Deployment", "metadata": {"name": "orders"}});
        assert!(matches!(
            observe(&new),
            Some(LiveStatus::Replicas {
                available: 0,
                replicas: 0,
                ..
            })
        ));
    }

    #[test]
    fn an_ingress_tells_its_load_balancer_hostname_or_ip() {
        let mut live = json!({"kind": "Ingress", "metadata": {"name": "orders-api"},
            "spec": {"rules": [{"host": "api.example.com"}]},
            "status": {"loadBalancer": {"ingress": [{"hostname": "k8s-x.elb.amazonaws.com"}]}}});
        assert_eq!(
            observe(&live),
            Some(LiveStatus::LoadBalancer {
                hosts: vec!["api.example.com".into()],
                address: Some("k8s-x.elb.amazonaws.com".into())
            })
        );
        live["status"]["loadBalancer"]["ingress"] = json!([{"ip": "203.0.113.7"}]);
        assert!(matches!(observe(&live),
            Some(LiveStatus::LoadBalancer { address: Some(a), .. }) if a == "203.0.113.7"));
        live["status"] = json!({"loadBalancer": {}});
        assert!(matches!(
            observe(&live),
            Some(LiveStatus::LoadBalancer { address: None, .. })
        ));
    }

    #[test]
    fn a_certificate_tells_its_expiry_and_readiness() {
        let live = json!({"kind": "Certificate",
            "metadata": {"name": "api-tls", "namespace": "payments"},
            "status": {"notAfter": "2027-03-01T00:00:00Z",
                       "conditions": [{"type": "Issuing", "status": "False"},
                                      {"type": "Ready", "status": "True"}]}});
        assert_eq!(
            observe(&live),
            Some(LiveStatus::Certificate {
                namespace: "payments".into(),
                name: "api-tls".into(),
                not_after: Some("2027-03-01T00:00:00Z".into()),
                ready: Some(true)
            })
        );
        let issuing = json!({"kind": "Certificate", "metadata": {"name": "api-tls"},
            "status": {"conditions": [{"type": "Ready", "status": "False"}]}});
        assert!(matches!(
            observe(&issuing),
            Some(LiveStatus::Certificate {
                ready: Some(false),
                not_after: None,
                ..
            })
        ));
    }

    #[test]
    fn an_expiry_is_stored_to_the_second_in_utc() {
        assert_eq!(
            instant("2027-03-01T10:20:30.123Z").as_deref(),
            Some("2027-03-01T10:20:30Z")
        );
        assert_eq!(instant("2027-03-01T10:20:30+02:00"), None);
        assert_eq!(instant("soon"), None);
    }

    #[test]
    fn other_kinds_have_no_live_status() {
        assert_eq!(
            observe(&json!({"kind": "Service", "metadata": {"name": "x"}})),
            None
        );
    }
}
