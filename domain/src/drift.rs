//! Drift: whether an object in the cluster still holds what Stargate applied. Only the
//! fields Stargate set count: a field whose live value differs (whoever changed it), or
//! an object that is gone, is drift; what the API server or a controller adds beside them
//! (defaults, annotations, status) is not. The live object's `managedFields` tell who
//! changed a field, and since when.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::field_diff::{ListItems, Segment, located_changes};

/// The field manager Stargate applies with.
pub const FIELD_MANAGER: &str = "stargate";

/// The label naming the request that last wrote an object.
pub const REQUEST_LABEL: &str = "stargate.dev/request";

/// Whether the object `kind`/`name` (in the team's namespace) is one of a service's: its
/// Deployment and Service, its ExternalSecret, and the Ingress of each host in `hosts`.
pub fn of_service(kind: &str, name: &str, service: &str, hosts: &[String]) -> bool {
    match kind {
        "Deployment" | "Service" => name == service,
        "ExternalSecret" => name == crate::request::object_names::external_env_secret_name(service),
        "Ingress" => hosts
            .iter()
            .any(|h| crate::request::object_names::ingress_name(service, h) == name),
        _ => false,
    }
}

/// One field whose live value is not the approved one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DriftedField {
    /// `spec.replicas`, `spec.template.spec.containers[name=web].image`.
    pub path: String,
    /// The value as last applied.
    pub approved: Value,
    /// The value in the cluster; absent when someone removed the field.
    pub live: Option<Value>,
    /// The field manager that owns the field now, when the cluster says (`kubectl-edit`,
    /// `helm`, another applier that forced its apply).
    pub changed_by: Option<String>,
    /// When that manager last wrote the object (its `managedFields` time, RFC 3339).
    pub since: Option<String>,
}

/// What detection found for one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ObjectDrift {
    InSync,
    Drifted {
        fields: Vec<DriftedField>,
    },
    /// The object is gone from the cluster.
    Missing,
}

impl ObjectDrift {
    pub fn state(&self) -> DriftState {
        match self {
            Self::InSync => DriftState::InSync,
            Self::Drifted { .. } => DriftState::Drifted,
            Self::Missing => DriftState::Missing,
        }
    }

    pub fn fields(&self) -> &[DriftedField] {
        match self {
            Self::Drifted { fields } => fields,
            _ => &[],
        }
    }
}

/// An object's drift state as stored and shown; `unknown` when its cluster could not be
/// read at the last check (never `drifted` for that).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DriftState {
    InSync,
    Drifted,
    Missing,
    Unknown,
}

impl DriftState {
    pub const ALL: [Self; 4] = [Self::InSync, Self::Drifted, Self::Missing, Self::Unknown];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InSync => "in_sync",
            Self::Drifted => "drifted",
            Self::Missing => "missing",
            Self::Unknown => "unknown",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether the object no longer holds what was approved (drifted or missing).
    pub fn is_drift(self) -> bool {
        matches!(self, Self::Drifted | Self::Missing)
    }
}

/// One applied object's drift as the last check recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DriftRecord {
    pub kind: String,
    /// Empty for a cluster-wide object (a Namespace).
    pub namespace: String,
    pub name: String,
    pub state: DriftState,
    /// The fields that differ: while drifted, or the last known ones while unknown.
    pub fields: Vec<DriftedField>,
    /// When the object entered this state (RFC 3339, UTC).
    pub since: String,
    /// When a check last changed this record (RFC 3339, UTC).
    pub checked_at: String,
}

/// Compares the object as Stargate last applied it with the live one (None: deleted).
///
/// Compared are the fields present in `applied`, except its identity (`apiVersion`,
/// `kind`, which a list's items may leave out) and the request label. Lists of named maps
/// (containers, ports, env) pair their items by name. A live object that a newer Stargate
/// apply already wrote (its request label differs and is Stargate's) is in sync: the
/// apply is under way and is recorded next.
pub fn detect(applied: &Value, live: Option<&Value>) -> ObjectDrift {
    let Some(live) = live else {
        return ObjectDrift::Missing;
    };
    let managers = Managers::of(live);
    let request_label = [
        Segment::Key("metadata".into()),
        Segment::Key("labels".into()),
        Segment::Key(REQUEST_LABEL.into()),
    ];
    if request_label_of(live) != request_label_of(applied)
        && managers.stargate_owns(&request_label)
        && managers.owner(&request_label).is_none()
    {
        return ObjectDrift::InSync;
    }
    let fields: Vec<DriftedField> = located_changes(applied, Some(live), ListItems::ByName)
        .into_iter()
        .filter(|(path, _)| {
            !matches!(path.first(), Some(Segment::Key(k)) if k == "apiVersion" || k == "kind" || k == "status")
                && path[..] != request_label
        })
        .map(|(path, change)| {
            let owner = managers.owner(&path);
            DriftedField {
                path: change.path,
                approved: change.after.unwrap_or(Value::Null),
                live: change.before,
                changed_by: owner.map(|m| m.name.to_owned()),
                since: owner.and_then(|m| m.time.map(str::to_owned)),
            }
        })
        .collect();
    if fields.is_empty() {
        ObjectDrift::InSync
    } else {
        ObjectDrift::Drifted { fields }
    }
}

fn request_label_of(object: &Value) -> Option<&str> {
    object["metadata"]["labels"][REQUEST_LABEL].as_str()
}

/// One entry of `metadata.managedFields`.
#[derive(Debug, Clone, Copy)]
struct Manager<'a> {
    name: &'a str,
    time: Option<&'a str>,
    fields: &'a Value,
}

struct Managers<'a>(Vec<Manager<'a>>);

impl<'a> Managers<'a> {
    fn of(live: &'a Value) -> Self {
        let entries = live["metadata"]["managedFields"].as_array();
        Self(
            entries
                .into_iter()
                .flatten()
                .filter_map(|entry| {
                    Some(Manager {
                        name: entry["manager"].as_str()?,
                        time: entry["time"].as_str(),
                        fields: entry.get("fieldsV1")?,
                    })
                })
                .collect(),
        )
    }

    /// The manager other than Stargate owning the field at `path` (or a part of it, or the
    /// whole it is part of); of several, the one that wrote last.
    fn owner(&self, path: &[Segment]) -> Option<Manager<'a>> {
        self.0
            .iter()
            .filter(|m| m.name != FIELD_MANAGER && owns(m.fields, path))
            .max_by_key(|m| m.time)
            .copied()
    }

    fn stargate_owns(&self, path: &[Segment]) -> bool {
        self.0
            .iter()
            .any(|m| m.name == FIELD_MANAGER && owns(m.fields, path))
    }
}

/// Whether a FieldsV1 tree (`{"f:spec":{"f:replicas":{}}}`) covers `path`: it holds the
/// path, an atomic whole the path is inside (a leaf `{}` on the way), or fields under it.
fn owns(tree: &Value, path: &[Segment]) -> bool {
    let Some((first, rest)) = path.split_first() else {
        return true;
    };
    let Some(children) = tree.as_object() else {
        return false;
    };
    if children.is_empty() {
        return true;
    }
    let child = match first {
        Segment::Key(key) => children.get(&format!("f:{key}")),
        Segment::Name(name) => children.iter().find_map(|(k, v)| {
            let key: Value = serde_json::from_str(k.strip_prefix("k:")?).ok()?;
            (key["name"].as_str() == Some(name.as_str())).then_some(v)
        }),
        Segment::Index(i) => children.get(&format!("i:{i}")),
    };
    child.is_some_and(|child| owns(child, rest))
}

#[cfg(test)]
#[path = "drift_tests.rs"]
mod tests;
