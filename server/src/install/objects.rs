//! The objects themselves, with the Kubernetes API's own types.

use std::collections::BTreeMap;

use k8s_openapi::{
    api::{
        apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment},
        core::v1::{
            Capabilities, ConfigMap, ConfigMapVolumeSource, Container, ContainerPort,
            EmptyDirVolumeSource, EnvVar, EnvVarSource, HTTPGetAction, Namespace,
            PersistentVolumeClaim, PersistentVolumeClaimSpec, PersistentVolumeClaimVolumeSource,
            PodSecurityContext, PodSpec, PodTemplateSpec, Probe, ResourceRequirements,
            SeccompProfile, SecretKeySelector, SecretVolumeSource, SecurityContext, Service,
            ServiceAccount, ServicePort, ServiceSpec, TopologySpreadConstraint, Volume,
            VolumeMount, VolumeResourceRequirements,
        },
        networking::v1::{
            HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
            IngressServiceBackend, IngressSpec, IngressTLS, ServiceBackendPort,
        },
        policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec},
    },
    apimachinery::pkg::{
        api::resource::Quantity,
        apis::meta::v1::{LabelSelector, ObjectMeta},
        util::intstr::IntOrString,
    },
};

use super::{DATABASE_URL_KEY, Database, SECRET_NAME, SECRETS};

const NAME: &str = "stargate";
const WORKER: &str = "stargate-worker";
const CONFIG_MAP: &str = "stargate-config";
const DATA_CLAIM: &str = "stargate-data";
/// The image's user (see deploy/image): files on the volumes belong to it.
const UID: i64 = 10001;
const PORT: i32 = 3000;
const CONFIG_DIR: &str = "/etc/stargate";
/// Files named by the configuration (kubeconfigs, an SSH key) from the optional Secret
/// `stargate-files`.
const FILES_DIR: &str = "/etc/stargate-files";
const DATA_DIR: &str = "/var/lib/stargate";
/// `http.drain_seconds` of the web pods; the grace period leaves room to finish after it.
const DRAIN_SECONDS: i64 = 10;

/// One installation's choices.
pub(super) struct Installation<'a> {
    pub namespace: &'a str,
    pub image: &'a str,
    pub database: Database,
    pub replicas: u16,
    pub workers: u16,
    pub storage_class: Option<&'a str>,
    pub host: &'a str,
    pub tls: bool,
    pub config_text: &'a str,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Component {
    Web,
    Worker,
}

impl Component {
    fn name(self) -> &'static str {
        match self {
            Self::Web => NAME,
            Self::Worker => WORKER,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::Worker => "worker",
        }
    }
}

impl Installation<'_> {
    pub fn objects(&self) -> Result<Vec<serde_json::Value>, serde_json::Error> {
        let ha = self.database == Database::Postgres;
        let mut objects = vec![
            serde_json::to_value(self.namespace_object())?,
            serde_json::to_value(self.service_account())?,
            serde_json::to_value(self.config_map())?,
            serde_json::to_value(self.data_claim())?,
            serde_json::to_value(self.service())?,
            serde_json::to_value(self.ingress())?,
            serde_json::to_value(self.deployment(Component::Web))?,
        ];
        if ha {
            objects.push(serde_json::to_value(self.deployment(Component::Worker))?);
            objects.push(serde_json::to_value(
                self.disruption_budget(Component::Web),
            )?);
            objects.push(serde_json::to_value(
                self.disruption_budget(Component::Worker),
            )?);
        }
        Ok(objects)
    }

    fn metadata(&self, name: &str, component: Option<Component>) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.into()),
            namespace: Some(self.namespace.into()),
            labels: Some(labels(component)),
            ..ObjectMeta::default()
        }
    }

    fn namespace_object(&self) -> Namespace {
        Namespace {
            metadata: ObjectMeta {
                name: Some(self.namespace.into()),
                labels: Some(labels(None)),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        }
    }

    fn service_account(&self) -> ServiceAccount {
        // Target clusters are reached with their own credentials (kubeconfig, EKS): the
        // pods need no token for the cluster they run on.
        ServiceAccount {
            metadata: self.metadata(NAME, None),
            automount_service_account_token: Some(false),
            ..ServiceAccount::default()
        }
    }

    fn config_map(&self) -> ConfigMap {
        ConfigMap {
            metadata: self.metadata(CONFIG_MAP, None),
            data: Some(BTreeMap::from([(
                "stargate.toml".into(),
                self.config_text.into(),
            )])),
            ..ConfigMap::default()
        }
    }

    /// SQLite's database, and the IaC repository the workers write and the web pods read:
    /// on PostgreSQL, shared by every pod (ReadWriteMany, e.g. EFS).
    fn data_claim(&self) -> PersistentVolumeClaim {
        let access = match self.database {
            Database::Sqlite => "ReadWriteOnce",
            Database::Postgres => "ReadWriteMany",
        };
        PersistentVolumeClaim {
            metadata: self.metadata(DATA_CLAIM, None),
            spec: Some(PersistentVolumeClaimSpec {
                access_modes: Some(vec![access.into()]),
                storage_class_name: self.storage_class.map(Into::into),
                resources: Some(VolumeResourceRequirements {
                    requests: Some(BTreeMap::from([("storage".into(), Quantity("5Gi".into()))])),
                    ..VolumeResourceRequirements::default()
                }),
                ..PersistentVolumeClaimSpec::default()
            }),
            ..PersistentVolumeClaim::default()
        }
    }

    fn service(&self) -> Service {
        Service {
            metadata: self.metadata(NAME, Some(Component::Web)),
            spec: Some(ServiceSpec {
                selector: Some(selector_labels(Component::Web)),
                ports: Some(vec![ServicePort {
                    name: Some("http".into()),
                    port: 80,
                    target_port: Some(IntOrString::String("http".into())),
                    ..ServicePort::default()
                }]),
                ..ServiceSpec::default()
            }),
            ..Service::default()
        }
    }

    fn ingress(&self) -> Ingress {
        let backend = IngressBackend {
            service: Some(IngressServiceBackend {
                name: NAME.into(),
                port: Some(ServiceBackendPort {
                    name: Some("http".into()),
                    ..ServiceBackendPort::default()
                }),
            }),
            ..IngressBackend::default()
        };
        Ingress {
            metadata: self.metadata(NAME, Some(Component::Web)),
            spec: Some(IngressSpec {
                rules: Some(vec![IngressRule {
                    host: Some(self.host.into()),
                    http: Some(HTTPIngressRuleValue {
                        paths: vec![HTTPIngressPath {
                            path: Some("/".into()),
                            path_type: "Prefix".into(),
                            backend,
                        }],
                    }),
                }]),
                tls: self.tls.then(|| {
                    vec![IngressTLS {
                        hosts: Some(vec![self.host.into()]),
                        secret_name: Some("stargate-tls".into()),
                    }]
                }),
                ..IngressSpec::default()
            }),
            ..Ingress::default()
        }
    }

    fn deployment(&self, component: Component) -> Deployment {
        let ha = self.database == Database::Postgres;
        let replicas = match (component, ha) {
            (Component::Web, false) => 1,
            (Component::Web, true) => self.replicas,
            (Component::Worker, _) => self.workers,
        };
        // SQLite: one writer on a ReadWriteOnce volume, so the old pod stops first.
        let strategy = if ha {
            DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: Some(IntOrString::Int(1)),
                    max_unavailable: Some(IntOrString::Int(0)),
                }),
            }
        } else {
            DeploymentStrategy {
                type_: Some("Recreate".into()),
                rolling_update: None,
            }
        };
        let main = match component {
            Component::Web => self.web_container(),
            Component::Worker => self.container(component, "stargate", "worker"),
        };
        // Migrations run before the web pods serve; a failed one shows as Init:Error.
        let init = (component == Component::Web)
            .then(|| vec![self.container(component, "migrate", "migrate")]);
        Deployment {
            metadata: self.metadata(component.name(), Some(component)),
            spec: Some(DeploymentSpec {
                replicas: Some(i32::from(replicas)),
                selector: LabelSelector {
                    match_labels: Some(selector_labels(component)),
                    ..LabelSelector::default()
                },
                strategy: Some(strategy),
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(labels(Some(component))),
                        ..ObjectMeta::default()
                    }),
                    spec: Some(PodSpec {
                        service_account_name: Some(NAME.into()),
                        automount_service_account_token: Some(false),
                        security_context: Some(PodSecurityContext {
                            run_as_non_root: Some(true),
                            run_as_user: Some(UID),
                            run_as_group: Some(UID),
                            fs_group: Some(UID),
                            seccomp_profile: Some(SeccompProfile {
                                type_: "RuntimeDefault".into(),
                                ..SeccompProfile::default()
                            }),
                            ..PodSecurityContext::default()
                        }),
                        // The drain after SIGTERM fits well inside it.
                        termination_grace_period_seconds: Some(DRAIN_SECONDS + 20),
                        topology_spread_constraints: ha.then(|| {
                            vec![TopologySpreadConstraint {
                                max_skew: 1,
                                topology_key: "kubernetes.io/hostname".into(),
                                when_unsatisfiable: "ScheduleAnyway".into(),
                                label_selector: Some(LabelSelector {
                                    match_labels: Some(selector_labels(component)),
                                    ..LabelSelector::default()
                                }),
                                ..TopologySpreadConstraint::default()
                            }]
                        }),
                        init_containers: init,
                        containers: vec![main],
                        volumes: Some(volumes()),
                        ..PodSpec::default()
                    }),
                },
                ..DeploymentSpec::default()
            }),
            ..Deployment::default()
        }
    }

    fn web_container(&self) -> Container {
        let probe = |path: &str, period| Probe {
            http_get: Some(HTTPGetAction {
                path: Some(path.into()),
                port: IntOrString::String("http".into()),
                ..HTTPGetAction::default()
            }),
            period_seconds: Some(period),
            ..Probe::default()
        };
        let mut container = self.container(Component::Web, "stargate", "serve");
        container.ports = Some(vec![ContainerPort {
            name: Some("http".into()),
            container_port: PORT,
            ..ContainerPort::default()
        }]);
        container.readiness_probe = Some(probe("/readyz", 5));
        container.liveness_probe = Some(probe("/healthz", 10));
        container
    }

    /// A container running `stargate <command>` with the configuration, the secrets and
    /// the volumes.
    fn container(&self, component: Component, name: &str, command: &str) -> Container {
        let ha = self.database == Database::Postgres;
        let mut env = vec![
            value("STARGATE_CONFIG", &format!("{CONFIG_DIR}/stargate.toml")),
            value("STARGATE_DATA_DIR", DATA_DIR),
        ];
        if command == "serve" {
            env.push(value("STARGATE_LISTEN", &format!("0.0.0.0:{PORT}")));
            if ha {
                // Endpoints drop a terminating pod asynchronously while the others take
                // over: keep serving meanwhile. (One SQLite pod has nobody to take over.)
                env.push(value(
                    "STARGATE_HTTP__DRAIN_SECONDS",
                    &DRAIN_SECONDS.to_string(),
                ));
            }
        }
        if ha {
            env.push(secret("STARGATE_DATABASE_URL", DATABASE_URL_KEY, true));
            if command == "serve" {
                env.push(value("STARGATE_WORKER__EMBEDDED", "false"));
            }
        }
        env.extend(
            SECRETS
                .iter()
                .map(|(key, variable, required)| secret(variable, key, *required)),
        );
        // Requests from measured peak RSS (release build, bench/worker.sh and
        // bench/catalog.sh): serve 28 MB idle-to-busy and up to 40 MB under catalog load on
        // PostgreSQL; with SQLite and the embedded worker 39 MB, up to 100 MB with 10,000
        // services (the database's mapped pages); a worker 23 MB. Limits catch leaks.
        let (cpu, memory, limit) = match (component, self.database) {
            (Component::Web, Database::Postgres) => ("100m", "64Mi", "512Mi"),
            (Component::Web, Database::Sqlite) => ("100m", "128Mi", "512Mi"),
            (Component::Worker, _) => ("50m", "48Mi", "256Mi"),
        };
        Container {
            name: name.into(),
            image: Some(self.image.into()),
            args: Some(vec![command.into()]),
            env: Some(env),
            resources: Some(ResourceRequirements {
                requests: Some(BTreeMap::from([
                    ("cpu".into(), Quantity(cpu.into())),
                    ("memory".into(), Quantity(memory.into())),
                ])),
                limits: Some(BTreeMap::from([("memory".into(), Quantity(limit.into()))])),
                ..ResourceRequirements::default()
            }),
            security_context: Some(SecurityContext {
                allow_privilege_escalation: Some(false),
                read_only_root_filesystem: Some(true),
                capabilities: Some(Capabilities {
                    drop: Some(vec!["ALL".into()]),
                    ..Capabilities::default()
                }),
                ..SecurityContext::default()
            }),
            volume_mounts: Some(vec![
                mount("config", CONFIG_DIR, true),
                mount("files", FILES_DIR, true),
                mount("data", DATA_DIR, false),
                mount("tmp", "/tmp", false),
            ]),
            ..Container::default()
        }
    }

    fn disruption_budget(&self, component: Component) -> PodDisruptionBudget {
        PodDisruptionBudget {
            metadata: self.metadata(component.name(), Some(component)),
            spec: Some(PodDisruptionBudgetSpec {
                min_available: Some(IntOrString::Int(1)),
                selector: Some(LabelSelector {
                    match_labels: Some(selector_labels(component)),
                    ..LabelSelector::default()
                }),
                ..PodDisruptionBudgetSpec::default()
            }),
            ..PodDisruptionBudget::default()
        }
    }
}

fn labels(component: Option<Component>) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::from([
        ("app.kubernetes.io/name".into(), NAME.into()),
        (
            "app.kubernetes.io/version".into(),
            env!("CARGO_PKG_VERSION").into(),
        ),
    ]);
    if let Some(component) = component {
        labels.insert(
            "app.kubernetes.io/component".into(),
            component.label().into(),
        );
    }
    labels
}

/// Stable across upgrades (a selector cannot change): no version.
fn selector_labels(component: Component) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".into(), NAME.into()),
        (
            "app.kubernetes.io/component".into(),
            component.label().into(),
        ),
    ])
}

fn value(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: Some(value.into()),
        ..EnvVar::default()
    }
}

fn secret(name: &str, key: &str, required: bool) -> EnvVar {
    EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: SECRET_NAME.into(),
                key: key.into(),
                optional: (!required).then_some(true),
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    }
}

fn mount(name: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        read_only: read_only.then_some(true),
        ..VolumeMount::default()
    }
}

fn volumes() -> Vec<Volume> {
    vec![
        Volume {
            name: "config".into(),
            config_map: Some(ConfigMapVolumeSource {
                name: CONFIG_MAP.into(),
                ..ConfigMapVolumeSource::default()
            }),
            ..Volume::default()
        },
        Volume {
            name: "files".into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some("stargate-files".into()),
                optional: Some(true),
                ..SecretVolumeSource::default()
            }),
            ..Volume::default()
        },
        Volume {
            name: "data".into(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: DATA_CLAIM.into(),
                ..PersistentVolumeClaimVolumeSource::default()
            }),
            ..Volume::default()
        },
        Volume {
            name: "tmp".into(),
            empty_dir: Some(EmptyDirVolumeSource::default()),
            ..Volume::default()
        },
    ]
}
