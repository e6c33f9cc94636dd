//! "Applied" means ready: a Deployment rolled out, a Certificate `Ready`, an Ingress or a
//! LoadBalancer Service with a load-balancer address. Read from the object as the API
//! server returns it. A ConfigMap, a Namespace or any other Service is ready once applied.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// Not yet, and what it is waiting for.
    Waiting(String),
}

/// Whether `object` has a readiness to wait for at all.
pub fn needs_wait(object: &Value) -> bool {
    match object["kind"].as_str().unwrap_or_default() {
        "Deployment" | "Certificate" | "Ingress" => true,
        "Service" => is_load_balancer(object),
        _ => false,
    }
}

fn is_load_balancer(object: &Value) -> bool {
    object["spec"]["type"] == "LoadBalancer"
}

/// Whether the load balancer in front of an Ingress or a Service has an address.
fn has_address(status: &Value) -> bool {
    status["loadBalancer"]["ingress"]
        .as_array()
        .is_some_and(|a| {
            a.iter()
                .any(|i| i["hostname"].is_string() || i["ip"].is_string())
        })
}

pub fn check(live: &Value) -> Readiness {
    let status = &live["status"];
    match live["kind"].as_str().unwrap_or_default() {
        "Deployment" => {
            let wanted = live["spec"]["replicas"].as_i64().unwrap_or(1);
            let generation = live["metadata"]["generation"].as_i64().unwrap_or(0);
            let observed = status["observedGeneration"].as_i64().unwrap_or(-1);
            let updated = status["updatedReplicas"].as_i64().unwrap_or(0);
            let available = status["availableReplicas"].as_i64().unwrap_or(0);
            if observed < generation {
                Readiness::Waiting("the controller has not seen the new spec yet".into())
            } else if updated < wanted || available < wanted {
                Readiness::Waiting(format!(
                    "{updated} of {wanted} replicas updated, {available} available"
                ))
            } else {
                Readiness::Ready
            }
        }
        "Certificate" => {
            let ready = status["conditions"].as_array().and_then(|conditions| {
                conditions
                    .iter()
                    .find(|c| c["type"] == "Ready")
                    .map(|c| (c["status"] == "True", c["message"].as_str().unwrap_or("")))
            });
            match ready {
                Some((true, _)) => Readiness::Ready,
                Some((false, message)) => Readiness::Waiting(format!("not Ready: {message}")),
                None => Readiness::Waiting("cert-manager has not reported yet".into()),
            }
        }
        "Ingress" => {
            if has_address(status) {
                Readiness::Ready
            } else {
                Readiness::Waiting("no load-balancer address yet".into())
            }
        }
        // An NLB's Service: the AWS Load Balancer Controller writes the NLB's DNS name.
        "Service" if is_load_balancer(live) && !has_address(status) => Readiness::Waiting(
            "no load-balancer address yet (the AWS Load Balancer Controller writes it once the NLB exists)".into(),
        ),
        _ => Readiness::Ready,
    }
}

/// Whether the live object carries `desired`'s spec and labels: a GitOps controller has
/// applied the committed version (an older version may be ready too, which proves nothing).
/// Fields the API server fills in beyond what was committed do not count against it.
pub fn carries(live: &Value, desired: &Value) -> bool {
    ["spec", "data"]
        .iter()
        .all(|field| contains(&live[field], &desired[field]))
        && contains(&live["metadata"]["labels"], &desired["metadata"]["labels"])
}

fn contains(live: &Value, desired: &Value) -> bool {
    match (live, desired) {
        (_, Value::Null) => true,
        // An API server drops empty maps and lists.
        (Value::Null, Value::Object(d)) if d.is_empty() => true,
        (Value::Null, Value::Array(d)) if d.is_empty() => true,
        (Value::Object(live), Value::Object(desired)) => desired
            .iter()
            .all(|(key, value)| contains(live.get(key).unwrap_or(&Value::Null), value)),
        (Value::Array(live), Value::Array(desired)) => {
            live.len() == desired.len() && live.iter().zip(desired).all(|(l, d)| contains(l, d))
        }
        // The API server writes quantities its own way (`0.5` as `500m`, `1024Mi` as `1Gi`).
        (Value::String(live), Value::String(desired)) => {
            live == desired
                || quantity(live)
                    .zip(quantity(desired))
                    .is_some_and(|(l, d)| (l - d).abs() <= d.abs() * 1e-9)
        }
        (live, desired) => live == desired,
    }
}

/// A Kubernetes quantity's value (`500m` → 0.5, `1Gi` → 1073741824); `None` for other text.
fn quantity(text: &str) -> Option<f64> {
    const SUFFIXES: [(&str, f64); 13] = [
        ("Ki", 1024.0),
        ("Mi", 1_048_576.0),
        ("Gi", 1_073_741_824.0),
        ("Ti", 1_099_511_627_776.0),
        ("Pi", 1_125_899_906_842_624.0),
        ("Ei", 1_152_921_504_606_846_976.0),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    let (number, factor) = SUFFIXES
        .iter()
        .find_map(|(suffix, factor)| text.strip_suffix(suffix).map(|n| (n, *factor)))
        .unwrap_or((text, 1.0));
    let starts_numeric = number.starts_with(|c: char| c.is_ascii_digit() || c == '.');
    starts_numeric
        .then(|| number.parse::<f64>().ok())
        .flatten()
        .map(|n| n * factor)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_deployment_is_ready_once_rolled_out() {
        let mut d = json!({"kind": "Deployment", "metadata": {"generation": 2}, "spec": {"replicas": 3},
            "status": {"observedGeneration": 1, "updatedReplicas": 3, "availableReplicas": 3}});
        assert!(matches!(check(&d), Readiness::Waiting(_)), "old generation");
        d["status"]["observedGeneration"] = json!(2);
        d["status"]["availableReplicas"] = json!(2);
        assert_eq!(
            check(&d),
            Readiness::Waiting("3 of 3 replicas updated, 2 available".into())
        );
        d["status"]["availableReplicas"] = json!(3);
        assert_eq!(check(&d), Readiness::Ready);
    }

    #[test]
    fn certificates_and_ingresses_report_their_own_way() {
        let cert = |status: &str| json!({"kind": "Certificate", "status": {"conditions": [{"type": "Ready", "status": status, "message": "issuing"}]}});
        assert_eq!(check(&cert("True")), Readiness::Ready);
        assert!(matches!(check(&cert("False")), Readiness::Waiting(m) if m.contains("issuing")));
        let ingress = json!({"kind": "Ingress", "status": {"loadBalancer": {}}});
        assert!(matches!(check(&ingress), Readiness::Waiting(_)));
        let ready = json!({"kind": "Ingress", "status": {"loadBalancer": {"ingress": [{"hostname": "lb.example.com"}]}}});
        assert_eq!(check(&ready), Readiness::Ready);
        assert_eq!(check(&json!({"kind": "Service"})), Readiness::Ready);
    }

    #[test]
    fn an_nlb_service_waits_for_its_address_and_a_config_map_for_nothing() {
        let nlb = json!({"kind": "Service", "spec": {"type": "LoadBalancer"}, "status": {"loadBalancer": {}}});
        assert!(needs_wait(&nlb));
        assert!(matches!(check(&nlb), Readiness::Waiting(m) if m.contains("address")));
        let mut ready = nlb.clone();
        ready["status"]["loadBalancer"]["ingress"] = json!([{"hostname": "nlb.example.com"}]);
        assert_eq!(check(&ready), Readiness::Ready);
        let cluster_ip = json!({"kind": "Service", "spec": {"type": "ClusterIP"}});
        assert!(!needs_wait(&cluster_ip));
        let config_map = json!({"kind": "ConfigMap", "data": {"9000": "payments/ledger:8080"}});
        assert!(!needs_wait(&config_map));
        assert_eq!(check(&config_map), Readiness::Ready);
    }

    #[test]
    fn a_live_object_carries_the_committed_spec_whatever_the_server_added() {
        let desired = json!({
            "kind": "Deployment", "metadata": { "name": "a", "labels": { "app": "a" } },
            "spec": { "replicas": 2, "template": { "spec": { "containers": [{ "image": "x:2" }] } } }
        });
        let mut live = desired.clone();
        live["metadata"]["labels"]["added-by"] = json!("controller");
        live["spec"]["strategy"] = json!({ "type": "RollingUpdate" });
        live["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] =
            json!("IfNotPresent");
        assert!(carries(&live, &desired));
        live["spec"]["template"]["spec"]["containers"][0]["image"] = json!("x:1");
        assert!(
            !carries(&live, &desired),
            "an older image is not the committed version"
        );
        let mut canonical = desired.clone();
        canonical["spec"]["template"]["spec"]["containers"][0]["resources"] =
            json!({ "limits": { "cpu": "500m", "memory": "1Gi" } });
        let mut written = desired.clone();
        written["spec"]["template"]["spec"]["containers"][0]["resources"] =
            json!({ "limits": { "cpu": "0.5", "memory": "1024Mi" } });
        assert!(carries(&canonical, &written), "quantities compare by value");
        written["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] =
            json!("1");
        assert!(!carries(&canonical, &written));
        let mut fewer = desired.clone();
        fewer["spec"]["replicas"] = json!(1);
        assert!(!carries(&fewer, &desired));
    }
}
