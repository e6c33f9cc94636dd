//! An exposure's object: an entry of ingress-nginx's shared `tcp-services` /
//! `udp-services` ConfigMap, or a LoadBalancer Service the AWS Load Balancer Controller
//! turns into an NLB.

use std::collections::BTreeMap;

use k8s_openapi::{
    api::core::v1::{ConfigMap, Service, ServicePort, ServiceSpec as K8sServiceSpec},
    apimachinery::pkg::{apis::meta::v1::ObjectMeta, util::intstr::IntOrString},
};

use super::{Object, RenderContext, metadata, pod_selector};
use crate::request::{ExposureSpec, NlbScheme, Transport, rules::NginxExposure};

/// Where ingress-nginx runs and reads its TCP/UDP ConfigMaps.
pub const NGINX_NAMESPACE: &str = "ingress-nginx";

/// `tcp-services` or `udp-services`.
pub fn nginx_config_map_name(protocol: Transport) -> String {
    format!("{}-services", protocol.as_str())
}

/// What ingress-nginx reads from an entry: `namespace/service:port`.
fn nginx_target(namespace: &str, service: &str, port: u16) -> String {
    format!("{namespace}/{service}:{port}")
}

/// ingress-nginx's ConfigMap for the exposure's protocol: every entry the catalog holds
/// (`existing`) and the new one. Stargate applies it with one field manager, so an entry
/// left out here would be removed from the cluster.
pub fn render_nginx_exposure(
    ctx: &RenderContext,
    spec: &ExposureSpec,
    existing: &[NginxExposure],
) -> Object {
    let mut entries = existing.to_vec();
    entries.retain(|e| e.external_port != spec.external_port);
    entries.push(NginxExposure {
        cluster: String::new(),
        protocol: spec.protocol,
        external_port: spec.external_port,
        team: ctx.team.clone(),
        namespace: ctx.namespace.clone(),
        service: spec.service.clone(),
        port: spec.port,
    });
    render_nginx_config_map(ctx, spec.protocol, &entries)
}

/// ingress-nginx's ConfigMap for `protocol` holding exactly `entries`: an exposure adds
/// one to those the catalog holds, a decommission leaves its service's out.
pub fn render_nginx_config_map(
    ctx: &RenderContext,
    protocol: Transport,
    entries: &[NginxExposure],
) -> Object {
    let data: BTreeMap<String, String> = entries
        .iter()
        .map(|e| {
            (
                e.external_port.to_string(),
                nginx_target(&e.namespace, e.service.as_str(), e.port),
            )
        })
        .collect();
    Object::ConfigMap(Box::new(ConfigMap {
        metadata: ObjectMeta {
            name: Some(nginx_config_map_name(protocol)),
            namespace: Some(NGINX_NAMESPACE.to_owned()),
            // The ConfigMap belongs to the ingress-nginx install and to every team: no team
            // label, and no `managed-by` to take from its installer. Only which request
            // last wrote it (the plan ignores that label).
            labels: Some(BTreeMap::from([(
                "stargate.dev/request".to_owned(),
                ctx.request_id.clone(),
            )])),
            ..ObjectMeta::default()
        },
        data: Some(data),
        ..ConfigMap::default()
    }))
}

/// A LoadBalancer Service of its own, `<service>-<protocol>-<external port>`, in the team's
/// namespace: the AWS Load Balancer Controller makes an NLB that sends `external_port`
/// straight to the pods' `port` (target type `ip`).
pub fn render_nlb_exposure(ctx: &RenderContext, spec: &ExposureSpec) -> Object {
    let name = spec.nlb_service_name();
    let scheme = spec.scheme.unwrap_or(NlbScheme::Internal);
    let annotations = BTreeMap::from([
        (
            "service.beta.kubernetes.io/aws-load-balancer-type".to_owned(),
            "external".to_owned(),
        ),
        (
            "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type".to_owned(),
            "ip".to_owned(),
        ),
        (
            "service.beta.kubernetes.io/aws-load-balancer-scheme".to_owned(),
            scheme.as_str().to_owned(),
        ),
    ]);
    Object::Service(Box::new(Service {
        metadata: metadata(ctx, &name, annotations),
        spec: Some(K8sServiceSpec {
            type_: Some("LoadBalancer".to_owned()),
            selector: Some(pod_selector(spec.service.as_str())),
            ports: Some(vec![ServicePort {
                name: Some(spec.protocol.as_str().to_owned()),
                protocol: Some(spec.protocol.kube().to_owned()),
                port: i32::from(spec.external_port),
                target_port: Some(IntOrString::Int(i32::from(spec.port))),
                ..ServicePort::default()
            }]),
            ..K8sServiceSpec::default()
        }),
        ..Service::default()
    }))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::{ServiceName, TeamName, request::render::render_service};

    fn ctx() -> RenderContext {
        RenderContext {
            team: TeamName::parse("t", "payments").unwrap(),
            namespace: "payments-prod".into(),
            request_id: "12".into(),
        }
    }

    fn spec(value: Value) -> ExposureSpec {
        ExposureSpec::parse(&value).unwrap()
    }

    #[test]
    fn the_config_map_keeps_every_entry_and_adds_the_new_one() {
        let existing = NginxExposure {
            cluster: "demo".into(),
            protocol: Transport::Tcp,
            external_port: 10000,
            team: TeamName::parse("t", "search").unwrap(),
            namespace: "search".into(),
            service: ServiceName::parse("s", "indexer").unwrap(),
            port: 7000,
        };
        let exposure = spec(
            json!({"service": "ledger", "port": 8080, "protocol": "tcp", "external_port": 9000, "via": "nginx"}),
        );
        let object = render_nginx_exposure(&ctx(), &exposure, &[existing])
            .to_value()
            .unwrap();
        assert_eq!(object["kind"], "ConfigMap");
        assert_eq!(object["metadata"]["name"], "tcp-services");
        assert_eq!(object["metadata"]["namespace"], "ingress-nginx");
        assert_eq!(
            object["data"],
            json!({"9000": "payments-prod/ledger:8080", "10000": "search/indexer:7000"})
        );
        assert_eq!(
            object["metadata"]["labels"],
            json!({"stargate.dev/request": "12"}),
            "no team owns the shared ConfigMap"
        );
        assert_eq!(nginx_config_map_name(Transport::Udp), "udp-services");
    }

    #[test]
    fn the_nlb_service_selects_the_pods_the_services_own_service_selects() {
        let exposure = spec(
            json!({"service": "ledger", "port": 8080, "protocol": "udp", "external_port": 5353, "via": "nlb", "scheme": "internet-facing"}),
        );
        let object = render_nlb_exposure(&ctx(), &exposure).to_value().unwrap();
        assert_eq!(object["metadata"]["name"], "ledger-udp-5353");
        assert_eq!(object["metadata"]["namespace"], "payments-prod");
        let annotations = &object["metadata"]["annotations"];
        assert_eq!(
            annotations["service.beta.kubernetes.io/aws-load-balancer-type"],
            "external"
        );
        assert_eq!(
            annotations["service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"],
            "ip"
        );
        assert_eq!(
            annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"],
            "internet-facing"
        );
        assert_eq!(object["spec"]["type"], "LoadBalancer");
        assert_eq!(
            object["spec"]["ports"],
            json!([{"name": "udp", "protocol": "UDP", "port": 5353, "targetPort": 8080}])
        );
        let service = crate::request::ServiceSpec::parse(
            &json!({"name": "ledger", "image": "ghcr.io/acme/ledger:1", "port": 8080}),
        )
        .unwrap();
        let own = render_service(
            &ctx(),
            &service,
            crate::request::render::ServiceType::ClusterIp,
        );
        let own_service = own
            .iter()
            .find(|o| o.kind() == "Service")
            .unwrap()
            .to_value()
            .unwrap();
        assert_eq!(object["spec"]["selector"], own_service["spec"]["selector"]);
    }
}
