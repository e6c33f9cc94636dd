//! From a valid request to the change it makes: the cross-object rules, the objects to
//! apply, and notes that explain what the request did not literally ask for.

use serde::{Deserialize, Serialize};

use super::{
    ExposureSpec, ExposureVia, ServiceSpec,
    plan::{LiveObjects, Plan, plan, plan_notes, restore_plan},
    render::{
        NGINX_NAMESPACE, Object, RenderContext, RenderError, ServiceType, certificate_secret_name,
        nginx_config_map_name, render_backend_service, render_certificate, render_ingress,
        render_namespace, render_nginx_config_map, render_nginx_exposure, render_nlb_exposure,
        render_service, to_yaml,
    },
    rules::{
        CatalogView, DriftedObject, ObjectKey, check_adopt, check_certificate, check_decommission,
        check_exposure, check_ingress, check_restore, check_service, nginx_entries_without,
    },
    submission::{NewRequest, RequestSpec},
};
use crate::FieldErrors;

/// The objects a request renders (or deletes), with notes for the reviewer.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedChange {
    pub objects: Vec<Object>,
    /// Objects to delete, in order (a decommission).
    pub deletions: Vec<ObjectKey>,
    /// Objects applied again exactly as last applied (a restore), with their drift.
    pub restored: Vec<DriftedObject>,
    /// The service's new spec an adopt renders (the live values).
    pub adopted: Option<ServiceSpec>,
    /// What an import found and what each object becomes.
    pub imported: Option<crate::import::ImportMap>,
    /// What an import read from its namespace: what its objects are compared with, and
    /// hashed into the plan.
    pub read: Vec<serde_json::Value>,
    pub notes: Vec<String>,
}

impl RenderedChange {
    pub(crate) fn applying(objects: Vec<Object>, notes: Vec<String>) -> Self {
        Self {
            objects,
            deletions: Vec::new(),
            restored: Vec::new(),
            adopted: None,
            imported: None,
            read: Vec::new(),
            notes,
        }
    }

    /// Every object the change touches, as `(kind, namespace, name)`: what its plan
    /// compares with the objects as last applied.
    pub fn keys(&self) -> Vec<ObjectKey> {
        self.objects
            .iter()
            .map(Object::key)
            .chain(self.deletions.iter().cloned())
            .chain(self.restored.iter().map(DriftedObject::key))
            .collect()
    }
}

/// A change ready to be stored and reviewed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PreparedChange {
    /// Multi-document YAML of every object, in apply order.
    pub manifests: String,
    pub plan: Plan,
    pub notes: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error("invalid request: {0}")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Render(#[from] RenderError),
}

/// Checks `request` against the catalog and renders its objects.
pub fn render_change(
    request: &NewRequest,
    ctx: &RenderContext,
    catalog: &dyn CatalogView,
) -> Result<RenderedChange, FieldErrors> {
    let team = &request.team;
    match &request.spec {
        RequestSpec::Service(spec) => {
            let service_type = check_service(team, &request.cluster, spec, catalog)?;
            let mut notes = Vec::new();
            if service_type == ServiceType::NodePort {
                notes.push(format!(
                    "The Service {} stays NodePort: an ALB ingress with instance targets reaches it through node ports.",
                    spec.name
                ));
            }
            Ok(RenderedChange::applying(
                render_service(ctx, spec, service_type),
                notes,
            ))
        }
        RequestSpec::Ingress(spec) => {
            let consequences = check_ingress(team, &request.cluster, spec, catalog)?;
            let mut objects = vec![render_namespace(ctx)];
            let mut notes = Vec::new();
            if consequences.switch_service_to_node_port
                && let Some(facts) = catalog.service(team, &spec.service)
            {
                // The Service goes first: the ALB must find node ports when the Ingress lands.
                objects.push(render_backend_service(
                    ctx,
                    &spec.service,
                    facts.port,
                    facts.protocol,
                    ServiceType::NodePort,
                ));
                notes.push(format!(
                    "The Service {} changes from ClusterIP to NodePort: an ALB with target type \"instance\" sends traffic to node ports, and a ClusterIP Service has none. Choose target type \"ip\" to keep ClusterIP.",
                    spec.service
                ));
            }
            if let Some(certificate) = &consequences.tls_certificate {
                notes.push(format!(
                    "TLS for {} is served from the secret {} that the certificate {certificate} writes (it covers this host; cert-manager renews it there).",
                    spec.host.as_str(),
                    certificate_secret_name(certificate)
                ));
            }
            objects.push(render_ingress(
                ctx,
                spec,
                consequences.tls_certificate.as_deref(),
            ));
            Ok(RenderedChange::applying(objects, notes))
        }
        RequestSpec::Certificate(spec) => {
            check_certificate(team, spec, catalog)?;
            Ok(RenderedChange::applying(
                vec![render_namespace(ctx), render_certificate(ctx, spec)],
                Vec::new(),
            ))
        }
        RequestSpec::Decommission(spec) => {
            let deletions =
                check_decommission(team, &request.cluster, &ctx.namespace, spec, catalog)?;
            let mut notes = vec![format!(
                "Deleted with foreground propagation: the worker waits until each object and what it owns (a Deployment's pods) are gone. The namespace {} stays.",
                ctx.namespace
            )];
            if !spec.certificates.is_empty() {
                notes.push(
                    "cert-manager leaves a deleted Certificate's Secret in place; nothing Stargate applies reads it once the certificate is gone.".into(),
                );
            }
            // The shared ConfigMap goes first, without the service's entries: ingress-nginx
            // stops sending to it before its Service goes, and the external ports are free.
            let mut objects = Vec::new();
            for (protocol, kept) in nginx_entries_without(team, &request.cluster, spec, catalog) {
                let config_map = nginx_config_map_name(protocol);
                let stay = match kept.len() {
                    0 => "no entries are left".to_owned(),
                    1 => "the 1 other entry stays".to_owned(),
                    n => format!("the {n} other entries stay"),
                };
                notes.push(format!(
                    "{NGINX_NAMESPACE}/{config_map} is applied again without the decommissioned service's entries, before anything is deleted (ingress-nginx stops sending to it, and the external ports are free); {stay}."
                ));
                objects.push(render_nginx_config_map(ctx, protocol, &kept));
            }
            let nlbs = deletions
                .iter()
                .filter(|(kind, _, name)| {
                    kind == "Service" && !spec.services.iter().any(|s| s.as_str() == name)
                })
                .count();
            if nlbs > 0 {
                notes.push(format!(
                    "The service's NLB {} deleted with {}: the AWS Load Balancer Controller removes the load balancer.",
                    if nlbs == 1 { "exposure's Service is" } else { "exposures' Services are" },
                    if nlbs == 1 { "it" } else { "them" },
                ));
            }
            Ok(RenderedChange {
                objects,
                deletions,
                restored: Vec::new(),
                adopted: None,
                imported: None,
                read: Vec::new(),
                notes,
            })
        }
        RequestSpec::Restore(spec) => {
            let restored = check_restore(team, &request.cluster, spec, catalog)?;
            let notes = vec![
                "Each object is applied again exactly as last approved (server-side apply, forced, field manager stargate): Stargate takes the drifted fields back from whoever changed them, and a missing object is created again.".to_owned(),
            ];
            Ok(RenderedChange {
                objects: Vec::new(),
                deletions: Vec::new(),
                restored,
                adopted: None,
                imported: None,
                read: Vec::new(),
                notes,
            })
        }
        RequestSpec::Adopt(spec) => {
            let adoption = check_adopt(team, &request.cluster, spec, ctx, catalog)?;
            let notes = vec![format!(
                "The live values become the approved spec of service {}: its objects are applied rendered from that spec (server-side apply, forced, field manager stargate), so Stargate owns the drifted fields again with the values they have now, and later changes of the service start from them.",
                spec.service
            )];
            Ok(RenderedChange {
                objects: render_service(ctx, &adoption.spec, adoption.service_type),
                deletions: Vec::new(),
                restored: Vec::new(),
                adopted: Some(adoption.spec),
                imported: None,
                read: Vec::new(),
                notes,
            })
        }
        RequestSpec::Import(spec) => {
            crate::import::import_change(ctx, spec, catalog.namespace_objects())
        }
        RequestSpec::Exposure(spec) => {
            let entries = check_exposure(team, &request.cluster, spec, catalog)?;
            Ok(exposure_change(ctx, spec, &entries))
        }
    }
}

/// The team's Namespace and the exposure's object, with what a reviewer should know
/// beyond the YAML.
fn exposure_change(
    ctx: &RenderContext,
    spec: &ExposureSpec,
    entries: &[super::rules::NginxExposure],
) -> RenderedChange {
    let protocol = spec.protocol.kube();
    let port = spec.external_port;
    let (object, notes) = match spec.via {
        ExposureVia::Nginx => {
            let config_map = nginx_config_map_name(spec.protocol);
            let mut notes = vec![format!(
                "ingress-nginx listens on {protocol} {port} once it reads {NGINX_NAMESPACE}/{config_map} (its controller runs with --{config_map}-configmap={NGINX_NAMESPACE}/{config_map}); its own LoadBalancer Service must expose {protocol} {port} too, or clients cannot reach it."
            )];
            if !entries.is_empty() {
                notes.push(format!(
                    "The ConfigMap is shared: it carries every entry already exposed on this cluster ({} more), since applying it without one would remove it. The plan shows only what changes.",
                    entries.len()
                ));
            }
            (render_nginx_exposure(ctx, spec, entries), notes)
        }
        ExposureVia::Nlb => {
            let scheme = spec.scheme.map_or("internal", |s| s.as_str());
            let note = format!(
                "The AWS Load Balancer Controller makes an {scheme} NLB for the Service {}: {protocol} {port} goes straight to the pods' port {} (target type ip).",
                spec.nlb_service_name(),
                spec.port
            );
            (render_nlb_exposure(ctx, spec), vec![note])
        }
    };
    RenderedChange::applying(vec![render_namespace(ctx), object], notes)
}

/// The objects as last applied, else as an import read them from the cluster.
struct WithRead<'a> {
    applied: &'a dyn LiveObjects,
    read: &'a [serde_json::Value],
}

impl LiveObjects for WithRead<'_> {
    fn live(&self, kind: &str, namespace: Option<&str>, name: &str) -> Option<serde_json::Value> {
        self.applied.live(kind, namespace, name).or_else(|| {
            self.read
                .iter()
                .find(|o| {
                    o["kind"] == kind
                        && o["metadata"]["name"] == name
                        && o["metadata"]["namespace"].as_str() == namespace
                })
                .cloned()
        })
    }
}

/// The rendered change as YAML and a plan against the objects as last applied. A
/// restore's manifests are its objects as last applied, and its plan the drift they undo.
/// A
/// decommission's manifests are the objects it applies (ingress-nginx's ConfigMap without
/// its entries), then the objects it deletes as last applied: what the reviewer sees go,
/// and what the worker deletes. The i-th document is the plan's i-th object.
pub fn prepare(
    rendered: RenderedChange,
    live: &dyn LiveObjects,
) -> Result<PreparedChange, RenderError> {
    if !rendered.restored.is_empty() {
        let plan = restore_plan(&rendered.restored);
        let mut manifests = String::new();
        for object in &rendered.restored {
            let yaml = serde_norway::to_string(&object.applied).map_err(RenderError::from_yaml)?;
            manifests.push_str(&format!("---\n{yaml}"));
        }
        let mut notes = rendered.notes;
        notes.extend(plan_notes(&plan));
        return Ok(PreparedChange {
            manifests,
            plan,
            notes,
        });
    }
    let with_read = WithRead {
        applied: live,
        read: &rendered.read,
    };
    let mut plan = plan(&rendered.objects, &rendered.deletions, &with_read)?;
    plan.adopted = rendered.adopted;
    if !rendered.read.is_empty() {
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        hasher.update(&plan.hash);
        hasher.update(crate::import::read_digest(&rendered.read));
        plan.hash = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
    }
    plan.imported = rendered.imported;
    let mut manifests = to_yaml(&rendered.objects)?;
    for (kind, namespace, name) in &rendered.deletions {
        let namespace = (!namespace.is_empty()).then_some(namespace.as_str());
        if let Some(object) = live.live(kind, namespace, name) {
            let yaml = serde_norway::to_string(&object).map_err(RenderError::from_yaml)?;
            manifests.push_str(&format!("---\n{yaml}"));
        }
    }
    let mut notes = rendered.notes;
    notes.extend(plan_notes(&plan));
    Ok(PreparedChange {
        manifests,
        plan,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::{
        ServiceName, TeamName,
        request::{
            Protocol,
            plan::Change,
            rules::{CatalogSnapshot, ServiceFacts},
        },
    };

    fn catalog(service_type: ServiceType) -> CatalogSnapshot {
        let team = TeamName::parse("t", "payments").unwrap();
        CatalogSnapshot {
            services: vec![(
                team.clone(),
                ServiceName::parse("n", "checkout").unwrap(),
                ServiceFacts {
                    port: 8080,
                    protocol: Protocol::Http,
                    service_type,
                    cluster: "demo".into(),
                },
            )],
            allowed_domains: vec![(team, vec!["payments.example.com".into()])],
            ..CatalogSnapshot::default()
        }
    }

    fn request(kind: &str, spec: Value) -> NewRequest {
        NewRequest::parse(
            &json!({"kind": kind, "team": "payments", "cluster": "demo", "spec": spec}),
        )
        .unwrap()
    }

    fn ctx() -> RenderContext {
        RenderContext {
            team: TeamName::parse("t", "payments").unwrap(),
            namespace: "payments".into(),
            request_id: "12".into(),
        }
    }

    struct Nothing;
    impl LiveObjects for Nothing {
        fn live(&self, _: &str, _: Option<&str>, _: &str) -> Option<Value> {
            None
        }
    }

    fn alb(target_type: &str) -> NewRequest {
        request(
            "ingress",
            json!({"host": "pay.payments.example.com", "service": "checkout", "port": 8080,
                   "class": "alb", "alb": {"target_type": target_type}}),
        )
    }

    #[test]
    fn alb_instance_targets_bring_the_service_along_as_node_port_and_say_why() {
        let rendered =
            render_change(&alb("instance"), &ctx(), &catalog(ServiceType::ClusterIp)).unwrap();
        let kinds: Vec<&str> = rendered.objects.iter().map(Object::kind).collect();
        assert_eq!(kinds, ["Namespace", "Service", "Ingress"]);
        assert!(
            rendered.notes[0].contains("NodePort"),
            "{:?}",
            rendered.notes
        );
        let prepared = prepare(rendered, &Nothing).unwrap();
        assert!(prepared.manifests.contains("type: NodePort"));
        assert!(
            prepared
                .plan
                .objects
                .iter()
                .all(|o| o.change == Change::Create)
        );

        let ip = render_change(&alb("ip"), &ctx(), &catalog(ServiceType::ClusterIp)).unwrap();
        let kinds: Vec<&str> = ip.objects.iter().map(Object::kind).collect();
        assert_eq!(
            kinds,
            ["Namespace", "Ingress"],
            "ip targets leave the Service alone"
        );
        assert!(ip.notes.is_empty());
    }

    #[test]
    fn rule_errors_come_back_with_their_paths() {
        let wrong = request(
            "ingress",
            json!({"host": "pay.search.example.com", "service": "nope", "port": 8080, "class": "nginx"}),
        );
        let errors = render_change(&wrong, &ctx(), &catalog(ServiceType::ClusterIp)).unwrap_err();
        let paths: Vec<&str> = errors.0.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["spec.host", "spec.service"]);
    }

    #[test]
    fn an_nginx_exposure_plans_only_the_added_entry_of_the_shared_config_map() {
        let exposure = |external_port: u16| {
            request(
                "exposure",
                json!({"service": "checkout", "port": 8080, "protocol": "tcp",
                       "external_port": external_port, "via": "nginx"}),
            )
        };
        // TCP 9000 applied earlier: the catalog holds its entry, the cluster its ConfigMap.
        let first =
            render_change(&exposure(9000), &ctx(), &catalog(ServiceType::ClusterIp)).unwrap();
        let applied = first.objects[1].to_value().unwrap();
        let mut catalog = catalog(ServiceType::ClusterIp);
        catalog
            .nginx_exposures
            .push(crate::request::rules::NginxExposure {
                cluster: "demo".into(),
                protocol: crate::request::Transport::Tcp,
                external_port: 9000,
                team: TeamName::parse("t", "payments").unwrap(),
                namespace: "payments".into(),
                service: ServiceName::parse("s", "checkout").unwrap(),
                port: 8080,
            });
        struct ConfigMapApplied(Value);
        impl LiveObjects for ConfigMapApplied {
            fn live(&self, kind: &str, _: Option<&str>, _: &str) -> Option<Value> {
                (kind == "ConfigMap").then(|| self.0.clone())
            }
        }
        let second = render_change(&exposure(9001), &ctx(), &catalog).unwrap();
        assert!(
            second.notes.iter().any(|n| n.contains("shared")),
            "{:?}",
            second.notes
        );
        let prepared = prepare(second, &ConfigMapApplied(applied)).unwrap();
        assert!(
            prepared
                .manifests
                .contains("'9000': payments/checkout:8080"),
            "{}",
            prepared.manifests
        );
        let Change::Update { fields } = &prepared.plan.objects[1].change else {
            panic!("{:?}", prepared.plan.objects[1]);
        };
        let paths: Vec<&str> = fields.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["data.9001"]);
        assert_eq!(fields[0].after, Some(json!("payments/checkout:8080")));
    }

    #[test]
    fn a_decommission_closes_the_services_nginx_entries_first_and_deletes_its_nlb() {
        use crate::request::{
            Transport,
            rules::{NginxExposure, NlbExposure},
        };
        let payments = TeamName::parse("t", "payments").unwrap();
        let entry = |team: &TeamName, service: &str, external_port: u16| NginxExposure {
            cluster: "demo".into(),
            protocol: Transport::Tcp,
            external_port,
            team: team.clone(),
            namespace: team.to_string(),
            service: ServiceName::parse("s", service).unwrap(),
            port: 8080,
        };
        let mut catalog = catalog(ServiceType::ClusterIp);
        catalog.nginx_exposures = vec![
            entry(&payments, "checkout", 9000),
            entry(&payments, "ledger", 9001),
        ];
        catalog.nlb_exposures = vec![NlbExposure {
            team: payments.clone(),
            service: ServiceName::parse("s", "checkout").unwrap(),
            protocol: Transport::Udp,
            external_port: 5353,
        }];
        let decommission = request("decommission", json!({"services": ["checkout"]}));
        let rendered = render_change(&decommission, &ctx(), &catalog).unwrap();
        assert_eq!(
            rendered.objects.len(),
            1,
            "only the TCP ConfigMap has its entry"
        );
        let config_map = rendered.objects[0].to_value().unwrap();
        assert_eq!(config_map["metadata"]["name"], "tcp-services");
        assert_eq!(config_map["data"], json!({"9001": "payments/ledger:8080"}));
        let deleted: Vec<&str> = rendered
            .deletions
            .iter()
            .map(|(_, _, name)| name.as_str())
            .collect();
        assert_eq!(
            deleted,
            ["checkout-udp-5353", "checkout", "checkout", "checkout-env"]
        );
        assert!(
            rendered
                .notes
                .iter()
                .any(|n| n.contains("tcp-services") && n.contains("the 1 other entry stays")),
            "{:?}",
            rendered.notes
        );
        assert!(rendered.notes.iter().any(|n| n.contains("NLB")));

        // The manifests follow the plan: the ConfigMap to apply, then what is deleted.
        struct Everything;
        impl LiveObjects for Everything {
            fn live(&self, kind: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
                Some(json!({"apiVersion": "v1", "kind": kind,
                            "metadata": {"name": name, "namespace": namespace}}))
            }
        }
        let prepared = prepare(rendered, &Everything).unwrap();
        let changes: Vec<(&str, bool)> = prepared
            .plan
            .objects
            .iter()
            .map(|o| (o.name.as_str(), o.change == Change::Delete))
            .collect();
        assert_eq!(
            changes,
            [
                ("tcp-services", false),
                ("checkout-udp-5353", true),
                ("checkout", true),
                ("checkout", true),
                ("checkout-env", true),
            ]
        );
        assert_eq!(prepared.manifests.matches("kind:").count(), 5);
    }

    #[test]
    fn an_nlb_exposure_renders_its_own_service() {
        let nlb = request(
            "exposure",
            json!({"service": "checkout", "port": 8080, "protocol": "tcp",
                   "external_port": 5432, "via": "nlb", "scheme": "internet-facing"}),
        );
        let rendered = render_change(&nlb, &ctx(), &catalog(ServiceType::ClusterIp)).unwrap();
        let kinds: Vec<&str> = rendered.objects.iter().map(Object::kind).collect();
        assert_eq!(kinds, ["Namespace", "Service"]);
        assert_eq!(
            rendered.objects[1].metadata().name.as_deref(),
            Some("checkout-tcp-5432")
        );
        assert!(
            rendered.notes[0].contains("internet-facing NLB"),
            "{:?}",
            rendered.notes
        );
    }

    #[test]
    fn a_restore_applies_the_approved_objects_and_plans_the_drift_it_undoes() {
        use crate::drift::{DriftedField, ObjectDrift};
        use crate::request::{plan::FieldChange, rules::DriftedObject};
        let team = TeamName::parse("t", "payments").unwrap();
        let object = |kind: &str, drift: ObjectDrift, applied: Value| DriftedObject {
            team: team.clone(),
            service: ServiceName::parse("s", "checkout").unwrap(),
            kind: kind.into(),
            namespace: "payments".into(),
            name: "checkout".into(),
            drift,
            applied,
        };
        let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "checkout", "namespace": "payments",
                         "labels": {"stargate.dev/request": "7"}},
            "spec": {"replicas": 2}});
        let service = json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "checkout", "namespace": "payments"}});
        let replicas = ObjectDrift::Drifted {
            fields: vec![DriftedField {
                path: "spec.replicas".into(),
                approved: json!(2),
                live: Some(json!(5)),
                changed_by: Some("kubectl".into()),
                since: None,
            }],
        };
        let mut catalog = catalog(ServiceType::ClusterIp);
        catalog.drifted_objects = vec![
            object("Deployment", replicas.clone(), deployment.clone()),
            object("Service", ObjectDrift::Missing, service),
            object("ExternalSecret", ObjectDrift::InSync, json!({})),
        ];
        let restore = request("restore", json!({"service": "checkout"}));
        assert_eq!(restore.spec.title(), "restore checkout");
        let rendered = render_change(&restore, &ctx(), &catalog).unwrap();
        assert_eq!(rendered.keys().len(), 2);
        let prepared = prepare(rendered, &Nothing).unwrap();
        let changes: Vec<(&str, &Change)> = prepared
            .plan
            .objects
            .iter()
            .map(|o| (o.kind.as_str(), &o.change))
            .collect();
        assert_eq!(
            changes,
            [
                (
                    "Deployment",
                    &Change::Update {
                        fields: vec![FieldChange {
                            path: "spec.replicas".into(),
                            before: Some(json!(5)),
                            after: Some(json!(2)),
                        }]
                    }
                ),
                ("Service", &Change::Create),
            ]
        );
        // The manifests are the objects exactly as last applied, request label and all.
        let documents: Vec<Value> = prepared
            .manifests
            .split("---\n")
            .filter(|d| !d.is_empty())
            .map(|d| serde_norway::from_str(d).unwrap())
            .collect();
        assert_eq!(documents[0], deployment);
        assert_eq!(documents.len(), 2);
        assert!(prepared.notes[0].contains("field manager stargate"));

        // Other drift, another plan: approvals of the old one no longer hold.
        let mut more = catalog.clone();
        more.drifted_objects[0].drift = ObjectDrift::Missing;
        let again = prepare(render_change(&restore, &ctx(), &more).unwrap(), &Nothing).unwrap();
        assert_ne!(again.plan.hash, prepared.plan.hash);
        let same = prepare(render_change(&restore, &ctx(), &catalog).unwrap(), &Nothing).unwrap();
        assert_eq!(same.plan.hash, prepared.plan.hash);
    }

    #[test]
    fn a_node_port_service_keeps_its_type_when_changed() {
        let update = request(
            "service",
            json!({"name": "checkout", "image": "ghcr.io/acme/checkout:2", "port": 8080}),
        );
        let rendered = render_change(&update, &ctx(), &catalog(ServiceType::NodePort)).unwrap();
        let yaml = to_yaml(&rendered.objects).unwrap();
        assert!(yaml.contains("type: NodePort"));
        assert_eq!(rendered.notes.len(), 1);
    }
}
