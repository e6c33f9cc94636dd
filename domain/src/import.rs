//! Importing what was never Stargate's: the objects a namespace already holds, mapped to
//! the catalog entries they would become — a Deployment and the Service of the same name
//! become a service, an Ingress routing one host to such a service a host, a cert-manager
//! Certificate a certificate. Each entry is the spec a request of its kind would carry, so
//! the same parsers decide what is valid; an object that maps to nothing says why, and is
//! left alone.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::{
    FieldError, FieldErrors,
    request::{
        CertificateSpec, ImportSpec, IngressSpec, ServiceSpec,
        change::RenderedChange,
        render::{
            Object, RenderContext, ServiceType, render_certificate, render_ingress,
            render_namespace, render_service,
        },
    },
};

/// What one live object becomes in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "entry", rename_all = "snake_case")]
pub enum Imported {
    /// From a Deployment and the Service of the same name.
    Service {
        spec: ServiceSpec,
    },
    Host {
        spec: IngressSpec,
    },
    Certificate {
        spec: CertificateSpec,
    },
}

/// An object that maps to no catalog entry, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unmapped {
    pub kind: String,
    pub name: String,
    pub why: String,
}

/// What importing a namespace's objects would put in the catalog.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportMap {
    /// `(kind, name, entry)`, in the order found (a service's Deployment names it).
    pub entries: Vec<(String, String, Imported)>,
    pub unmapped: Vec<Unmapped>,
}

fn name_of(object: &Value) -> &str {
    object["metadata"]["name"].as_str().unwrap_or_default()
}

fn kind_of(object: &Value) -> &str {
    object["kind"].as_str().unwrap_or_default()
}

/// Maps a namespace's Deployments, Services, Ingresses and Certificates (other kinds are
/// unmapped) to catalog entries.
pub fn map_namespace(objects: &[Value]) -> ImportMap {
    let mut map = ImportMap::default();
    let unmapped = |object: &Value, why: String| Unmapped {
        kind: kind_of(object).to_owned(),
        name: name_of(object).to_owned(),
        why,
    };
    let of_kind = |kind: &'static str| objects.iter().filter(move |o| kind_of(o) == kind);
    let mut services: Vec<(String, u16)> = Vec::new();
    for deployment in of_kind("Deployment") {
        let name = name_of(deployment);
        let Some(service) = of_kind("Service").find(|s| name_of(s) == name) else {
            map.unmapped.push(unmapped(
                deployment,
                format!("no Service named {name} sends traffic to it"),
            ));
            continue;
        };
        match service_spec(deployment, service) {
            Ok(spec) => {
                services.push((name.to_owned(), spec.port));
                map.entries.push((
                    "Deployment".into(),
                    name.to_owned(),
                    Imported::Service { spec },
                ));
            }
            Err(why) => map.unmapped.push(unmapped(deployment, why)),
        }
    }
    for service in of_kind("Service") {
        let name = name_of(service);
        if !of_kind("Deployment").any(|d| name_of(d) == name) {
            map.unmapped.push(unmapped(
                service,
                format!("no Deployment named {name}: a service is a Deployment and its Service"),
            ));
        }
    }
    for ingress in of_kind("Ingress") {
        match host_spec(ingress, &services) {
            Ok(spec) => map.entries.push((
                "Ingress".into(),
                name_of(ingress).to_owned(),
                Imported::Host { spec },
            )),
            Err(why) => map.unmapped.push(unmapped(ingress, why)),
        }
    }
    for certificate in of_kind("Certificate") {
        match certificate_spec(certificate) {
            Ok(spec) => map.entries.push((
                "Certificate".into(),
                name_of(certificate).to_owned(),
                Imported::Certificate { spec },
            )),
            Err(why) => map.unmapped.push(unmapped(certificate, why)),
        }
    }
    for other in objects.iter().filter(|o| {
        !matches!(
            kind_of(o),
            "Deployment" | "Service" | "Ingress" | "Certificate"
        )
    }) {
        map.unmapped.push(unmapped(
            other,
            "the catalog holds services, hosts and certificates only".into(),
        ));
    }
    map
}

/// A service's spec from its Deployment (one container) and Service.
fn service_spec(deployment: &Value, service: &Value) -> Result<ServiceSpec, String> {
    // Stargate's Deployment selects its pods by name, and a Deployment's selector cannot
    // change: one that selects otherwise cannot be taken over, only replaced.
    let name = name_of(deployment);
    let selector = &deployment["spec"]["selector"];
    if *selector != json!({"matchLabels": {"app.kubernetes.io/name": name}}) {
        return Err(format!(
            "its selector {selector} is not Stargate's (app.kubernetes.io/name: {name}), and a Deployment's selector cannot change; request the service anew instead"
        ));
    }
    let containers = deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let [container] = containers else {
        return Err(format!(
            "it runs {} containers; a service runs one",
            containers.len()
        ));
    };
    let port = container["ports"][0]["containerPort"]
        .as_i64()
        .or_else(|| service["spec"]["ports"][0]["targetPort"].as_i64())
        .ok_or("its container declares no port")?;
    let mut env = Map::new();
    for var in container["env"].as_array().into_iter().flatten() {
        let key = var["name"].as_str().unwrap_or_default().to_owned();
        let value = match (&var["value"], &var["valueFrom"]["secretKeyRef"]) {
            (Value::String(v), _) => json!(v),
            (_, Value::Object(secret)) => {
                json!({"secret": secret.get("name"), "key": secret.get("key")})
            }
            _ => {
                return Err(format!(
                    "its variable {key} comes from neither a value nor a Secret"
                ));
            }
        };
        env.insert(key, value);
    }
    let mut spec = json!({
        "name": name_of(deployment),
        "image": container["image"],
        "port": port,
        "replicas": deployment["spec"]["replicas"].as_i64().unwrap_or(1),
        "env": env,
    });
    let requests = &container["resources"]["requests"];
    for key in ["cpu", "memory"] {
        if let Some(amount) = requests[key].as_str() {
            spec[key] = json!(amount);
        }
    }
    if service["spec"]["ports"][0]["appProtocol"] == "grpc" {
        spec["protocol"] = json!("grpc");
    }
    ServiceSpec::parse(&spec).map_err(|e| format!("it is not a service Stargate can render: {e}"))
}

/// A host's spec from an Ingress with one rule and one path to an imported service.
fn host_spec(ingress: &Value, services: &[(String, u16)]) -> Result<IngressSpec, String> {
    let rules = ingress["spec"]["rules"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let [rule] = rules else {
        return Err(format!("it has {} rules; a host is one", rules.len()));
    };
    let paths = rule["http"]["paths"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let [path] = paths else {
        return Err(format!("it has {} paths; a host routes one", paths.len()));
    };
    let backend = &path["backend"]["service"];
    let target = backend["name"].as_str().unwrap_or_default();
    let Some((service, port)) = services.iter().find(|(name, _)| name == target) else {
        return Err(format!(
            "it routes to {target:?}, which is not a service being imported"
        ));
    };
    let class = match ingress["spec"]["ingressClassName"].as_str() {
        Some("alb") => "alb",
        _ => "nginx",
    };
    let tls = if ingress["spec"]["tls"]
        .as_array()
        .is_some_and(|t| !t.is_empty())
    {
        "cert_manager"
    } else {
        "none"
    };
    let mut spec = json!({
        "host": rule["host"], "service": service, "port": port, "class": class, "tls": tls,
        "path": path["path"].as_str().unwrap_or("/"),
    });
    if class == "alb" {
        let annotation = |key: &str| {
            ingress["metadata"]["annotations"][format!("alb.ingress.kubernetes.io/{key}")]
                .as_str()
                .map(str::to_owned)
        };
        spec["alb"] = json!({
            "scheme": annotation("scheme").unwrap_or_else(|| "internal".into()),
            "target_type": annotation("target-type").unwrap_or_else(|| "ip".into()),
        });
    }
    IngressSpec::parse(&spec).map_err(|e| format!("it is not a host Stargate can render: {e}"))
}

/// A certificate's spec from a cert-manager Certificate issued by a ClusterIssuer.
fn certificate_spec(certificate: &Value) -> Result<CertificateSpec, String> {
    let issuer = &certificate["spec"]["issuerRef"];
    if issuer["kind"].as_str().unwrap_or("Issuer") != "ClusterIssuer" {
        return Err("its issuer is not a ClusterIssuer".into());
    }
    let names = &certificate["spec"]["dnsNames"];
    // Let's Encrypt issues wildcards only through DNS-01.
    let wildcard = names
        .as_array()
        .into_iter()
        .flatten()
        .any(|n| n.as_str().is_some_and(|n| n.starts_with("*.")));
    let spec = json!({
        "name": name_of(certificate), "dns_names": names, "issuer": issuer["name"],
        "challenge": if wildcard { "dns01" } else { "http01" },
    });
    CertificateSpec::parse(&spec)
        .map_err(|e| format!("it is not a certificate Stargate can render: {e}"))
}

/// An import's change: the mapped entries rendered as their kinds render them, under the
/// live objects' names, so the apply (server-side, forced, as `stargate`) takes them over.
/// Only the team's own namespace is imported: later changes of its services render there.
pub fn import_change(
    ctx: &RenderContext,
    spec: &ImportSpec,
    read: &[Value],
) -> Result<RenderedChange, FieldErrors> {
    let refuse = |message: String| FieldErrors(vec![FieldError::new("spec.namespace", message)]);
    if spec.namespace != ctx.namespace {
        return Err(refuse(format!(
            "team {} lives in namespace {}: an import takes the team's own namespace",
            ctx.team, ctx.namespace
        )));
    }
    let map = map_namespace(read);
    if map.entries.is_empty() {
        let why: Vec<String> = map
            .unmapped
            .iter()
            .map(|u| format!("{} {}: {}", u.kind, u.name, u.why))
            .collect();
        return Err(refuse(if why.is_empty() {
            format!(
                "namespace {} holds no Deployment, Service, Ingress or Certificate Stargate did not apply",
                spec.namespace
            )
        } else {
            format!(
                "nothing in namespace {} maps to a service, host or certificate ({})",
                spec.namespace,
                why.join("; ")
            )
        }));
    }
    let mut objects = vec![render_namespace(ctx)];
    let mut notes = Vec::new();
    for (kind, name, entry) in &map.entries {
        match entry {
            Imported::Service { spec } => {
                objects.extend(
                    render_service(ctx, spec, ServiceType::ClusterIp)
                        .into_iter()
                        .filter(|o| !matches!(o, Object::Namespace(_))),
                );
                notes.push(format!(
                    "{kind} {name} and its Service become service {} of team {}.",
                    spec.name, ctx.team
                ));
            }
            Imported::Host { spec } => {
                let certificate = map.entries.iter().find_map(|(_, _, e)| match e {
                    Imported::Certificate { spec: c }
                        if c.dns_names.iter().any(|d| d.as_str() == spec.host.as_str()) =>
                    {
                        Some(c.name.as_str())
                    }
                    _ => None,
                });
                let mut ingress = render_ingress(ctx, spec, certificate);
                if let Object::Ingress(ingress) = &mut ingress {
                    ingress.metadata.name = Some(name.clone());
                }
                objects.push(ingress);
                notes.push(format!(
                    "{kind} {name} becomes host {} of service {}.",
                    spec.host.as_str(),
                    spec.service
                ));
            }
            Imported::Certificate { spec } => {
                objects.push(render_certificate(ctx, spec));
                notes.push(format!(
                    "{kind} {name} becomes certificate {} of team {}.",
                    spec.name, ctx.team
                ));
            }
        }
    }
    for u in &map.unmapped {
        notes.push(format!("{} {} is left alone: {}.", u.kind, u.name, u.why));
    }
    notes.push(
        "Each object is applied as rendered (server-side apply, forced, field manager stargate): Stargate owns the fields it sets from then on.".into(),
    );
    let mut change = RenderedChange::applying(objects, notes);
    change.read = read.to_vec();
    change.imported = Some(map);
    Ok(change)
}

/// SHA-256 over what was read: a change in the namespace during review changes the plan's
/// hash, so approvals given to the old one no longer hold.
pub fn read_digest(read: &[Value]) -> String {
    let mut hasher = Sha256::new();
    for object in read {
        hasher.update(object.to_string());
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
#[path = "import_tests.rs"]
mod tests;
