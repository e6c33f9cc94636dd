//! An adopt request against the catalog: the live values of a drifted service become the
//! approved ones. The service's spec is what every later change renders from, so adopting
//! derives a new spec from the live values (the approved objects with their drifted fields
//! as the last drift check found them) and renders it: what is applied then holds exactly
//! the live values on every field Stargate sets. A drifted field the spec cannot say (a
//! label, an annotation, a secret's reference), or a field the new spec would change
//! though it has not drifted, cannot be adopted: the request is refused, naming it.

use serde_json::Value;

use super::{CatalogView, DriftedObject};
use crate::{
    FieldError, FieldErrors, TeamName,
    drift::{ObjectDrift, REQUEST_LABEL},
    field_diff::{ListItems, Segment, located_changes},
    request::{
        AdoptSpec, EnvValue, ServiceSpec,
        fields::{ImageRef, parse_cpu, parse_env_value, parse_memory, parse_port, parse_replicas},
        render::{Object, RenderContext, ServiceType, render_service},
    },
};

/// What an adopt applies: the service's new spec, rendered with the Service's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adoption {
    pub spec: ServiceSpec,
    pub service_type: ServiceType,
}

/// Where errors about single objects and fields go: the adopt form shows them together.
const OBJECTS: &str = "spec.objects";

/// Checks `spec` against the catalog and derives the service's new spec from the live
/// values of its drifted objects. `ctx` renders the new spec to check it says every live
/// value and nothing else.
pub fn check_adopt(
    team: &TeamName,
    cluster: &str,
    spec: &AdoptSpec,
    ctx: &RenderContext,
    catalog: &dyn CatalogView,
) -> Result<Adoption, FieldErrors> {
    let invalid = |path: &str, message: String| FieldErrors(vec![FieldError::new(path, message)]);
    let service = &spec.service;
    let Some(facts) = catalog.service(team, service) else {
        return Err(invalid(
            "spec.service",
            format!("team {team} has no service {service}"),
        ));
    };
    if facts.cluster != cluster {
        return Err(invalid(
            "cluster",
            format!(
                "service {service} runs on cluster {}, not {cluster}",
                facts.cluster
            ),
        ));
    }
    let objects = catalog.drifted_objects(team, service);
    let drifted: Vec<&DriftedObject> = objects
        .iter()
        .filter(|o| o.drift.state().is_drift())
        .collect();
    if drifted.is_empty() {
        return Err(invalid(
            "spec.service",
            format!(
                "nothing has drifted: every object of service {service} held what was approved at the last drift check, so there are no live values to adopt"
            ),
        ));
    }
    let mut errors = FieldErrors::default();
    for object in drifted.iter().filter(|o| o.drift == ObjectDrift::Missing) {
        errors.push(FieldError::new(
            OBJECTS,
            format!(
                "{} {} is missing from the cluster: there is nothing live to adopt; restore it, or decommission the service",
                object.kind, object.name
            ),
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let Some(base) = catalog.approved_service(team, service) else {
        return Err(invalid(
            "spec.service",
            format!(
                "service {service} has no approved spec to adopt into (no applied request made it); restore it instead"
            ),
        ));
    };
    let derived = derive_spec(&base, &drifted)?;
    let rendered = render_service(ctx, &derived, facts.service_type);
    verify(&rendered, &objects)?;
    Ok(Adoption {
        spec: derived,
        service_type: facts.service_type,
    })
}

/// `base` with each drifted field a service's spec says set to its live value. Fields it
/// does not say are left for [`verify`] to name.
fn derive_spec(base: &ServiceSpec, drifted: &[&DriftedObject]) -> Result<ServiceSpec, FieldErrors> {
    let name = base.name.as_str();
    let container = format!("spec.template.spec.containers[name={name}].");
    let mut spec = base.clone();
    let mut errors = FieldErrors::default();
    for object in drifted.iter().filter(|o| o.name == name) {
        for field in object.drift.fields() {
            let Some(live) = &field.live else { continue };
            let refuse = |why: String| {
                FieldError::new(
                    OBJECTS,
                    format!(
                        "{} {}: the live {} ({live}) cannot be adopted: {why}; restore the approved state instead",
                        object.kind, object.name, field.path
                    ),
                )
            };
            let text = || live.as_str().unwrap_or_default();
            let number = || live.as_i64().unwrap_or(-1);
            let path = field.path.as_str();
            let result = match (object.kind.as_str(), path.strip_prefix(&container)) {
                ("Deployment", _) if path == "spec.replicas" => {
                    parse_replicas(path, number()).map(|r| spec.replicas = Some(r))
                }
                ("Deployment", Some("image")) => {
                    ImageRef::parse(path, text()).map(|i| spec.image = i)
                }
                ("Deployment", Some("resources.requests.cpu")) => {
                    parse_cpu(path, text()).map(|c| spec.cpu = c)
                }
                ("Deployment", Some("resources.requests.memory" | "resources.limits.memory")) => {
                    parse_memory(path, text()).map(|m| spec.memory = m)
                }
                ("Deployment", Some(rest))
                    if rest.starts_with("ports[") && rest.ends_with("].containerPort") =>
                {
                    parse_port(path, number()).map(|p| spec.port = p)
                }
                ("Deployment", Some(rest)) if rest.starts_with("env[name=") => {
                    let key = rest
                        .strip_prefix("env[name=")
                        .and_then(|r| r.strip_suffix("].value"));
                    match key.and_then(|k| spec.env.get_mut(k)) {
                        Some(EnvValue::Plain(value)) => {
                            parse_env_value(path, text()).map(|v| *value = v)
                        }
                        // A secret's reference, or not a value: verify names it.
                        _ => Ok(()),
                    }
                }
                ("Service", None)
                    if path.starts_with("spec.ports[") && path.ends_with("].port") =>
                {
                    parse_port(path, number()).map(|p| spec.port = p)
                }
                _ => Ok(()),
            };
            if let Err(error) = result {
                errors.push(refuse(error.message));
            }
        }
    }
    if errors.is_empty() {
        Ok(spec)
    } else {
        Err(errors)
    }
}

/// Whether applying `rendered` would leave every object of the service holding its live
/// values: each field it changes against the approved object is a drifted one, changed to
/// its live value, and each drifted field is one it changes so.
fn verify(rendered: &[Object], objects: &[DriftedObject]) -> Result<(), FieldErrors> {
    let mut errors = FieldErrors::default();
    let mut adopted: Vec<(&str, &str, String)> = Vec::new();
    for object in rendered {
        let (kind, namespace, name) = object.key();
        let Some(approved) = objects
            .iter()
            .find(|o| o.kind == kind && o.namespace == namespace && o.name == name)
        else {
            continue;
        };
        let Ok(value) = object.to_value() else {
            continue;
        };
        let changes = located_changes(&value, Some(&approved.applied), ListItems::ByName);
        for (segments, change) in changes {
            if identity(&segments) {
                continue;
            }
            let live = approved
                .drift
                .fields()
                .iter()
                .find(|f| f.path == change.path)
                .and_then(|f| f.live.as_ref());
            if live.is_some() && live == change.after.as_ref() {
                adopted.push((approved.kind.as_str(), approved.name.as_str(), change.path));
            } else {
                errors.push(FieldError::new(
                    OBJECTS,
                    format!(
                        "{kind} {name}: adopting would change {} too ({} → {}), which did not drift that way: Stargate sets it from the same spec field; restore the approved state instead",
                        change.path,
                        shown(change.before.as_ref()),
                        shown(change.after.as_ref())
                    ),
                ));
            }
        }
    }
    for object in objects.iter().filter(|o| o.drift.state().is_drift()) {
        for field in object.drift.fields() {
            let done = adopted
                .iter()
                .any(|(k, n, p)| *k == object.kind && *n == object.name && *p == field.path);
            if !done {
                let by = field
                    .changed_by
                    .as_deref()
                    .map(|m| format!(", changed by {m}"))
                    .unwrap_or_default();
                errors.push(FieldError::new(
                    OBJECTS,
                    format!(
                        "{} {}: {} (live {}{by}) cannot be adopted: a service's spec does not say it; restore the approved state instead",
                        object.kind,
                        object.name,
                        field.path,
                        shown(field.live.as_ref())
                    ),
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// The object's identity and the request label, which every request sets anew.
fn identity(path: &[Segment]) -> bool {
    match path {
        [Segment::Key(k)] => k == "apiVersion" || k == "kind",
        [Segment::Key(m), Segment::Key(l), Segment::Key(label)] => {
            m == "metadata" && l == "labels" && label == REQUEST_LABEL
        }
        _ => false,
    }
}

fn shown(value: Option<&Value>) -> String {
    value.map_or_else(|| "absent".to_owned(), Value::to_string)
}

#[cfg(test)]
#[path = "adopt_tests.rs"]
mod tests;
