//! The infrastructure-as-code repository, as people read it: where an applied object lives
//! (`clusters/<cluster>/<namespace>/<kind>-<name>.yaml`, one object per file), how its file
//! reads, and what a commit says about the request behind it. Pure: the server's git code
//! and `stargate export` both write through these functions, so a tree exported from the
//! database and the repository's tree are byte for byte the same.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The top folder of the tree; under it one folder per cluster.
pub const CLUSTERS_DIR: &str = "clusters";

/// The folder of cluster-scoped objects other than namespaces (a namespace sits in its own
/// folder, beside what it holds).
pub const CLUSTER_SCOPED_DIR: &str = "_cluster";

/// The trailer that ties a commit to its request: `Stargate-Request: 42`.
pub const REQUEST_TRAILER: &str = "Stargate-Request";

/// Why an object cannot be placed in the tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    #[error("the object has no {0}")]
    Missing(&'static str),
    #[error("{field} {value:?} cannot be a path segment")]
    Unsafe { field: &'static str, value: String },
}

/// An object's place: `clusters/<cluster>/<namespace>/<kind>-<name>.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ObjectPath {
    pub cluster: String,
    /// The object's namespace; a Namespace's own name; `_cluster` for other cluster-scoped
    /// objects.
    pub folder: String,
    /// Lower case, as in the file name: `deployment`, `ingress`.
    pub kind: String,
    pub name: String,
}

impl ObjectPath {
    /// Where `object` (as applied to `cluster`) lives.
    pub fn of(cluster: &str, object: &Value) -> Result<Self, LayoutError> {
        let text = |v: &Value, what| {
            v.as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .ok_or(LayoutError::Missing(what))
        };
        let kind = text(&object["kind"], "kind")?;
        let name = text(&object["metadata"]["name"], "metadata.name")?;
        let folder = match object["metadata"]["namespace"].as_str() {
            Some(namespace) if !namespace.is_empty() => namespace.to_owned(),
            _ if kind == "Namespace" => name.clone(),
            _ => CLUSTER_SCOPED_DIR.to_owned(),
        };
        let path = Self {
            cluster: cluster.to_owned(),
            folder,
            kind: kind.to_ascii_lowercase(),
            name,
        };
        for (field, value) in [
            ("cluster", &path.cluster),
            ("namespace", &path.folder),
            ("kind", &path.kind),
            ("metadata.name", &path.name),
        ] {
            if !safe_segment(value) {
                return Err(LayoutError::Unsafe {
                    field,
                    value: value.clone(),
                });
            }
        }
        Ok(path)
    }

    /// Reads a path of the tree back; `None` for anything not laid out by Stargate.
    pub fn parse(path: &str) -> Option<Self> {
        let mut parts = path.split('/');
        let (Some(CLUSTERS_DIR), Some(cluster), Some(folder), Some(file), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let (kind, name) = file.strip_suffix(".yaml")?.split_once('-')?;
        let path = Self {
            cluster: cluster.to_owned(),
            folder: folder.to_owned(),
            kind: kind.to_owned(),
            name: name.to_owned(),
        };
        let safe = [&path.cluster, &path.folder, &path.kind, &path.name]
            .into_iter()
            .all(|s| safe_segment(s));
        safe.then_some(path)
    }

    /// The cluster's folder: `clusters/<cluster>`.
    pub fn cluster_dir(cluster: &str) -> String {
        format!("{CLUSTERS_DIR}/{cluster}")
    }

    /// The path in the tree, `/`-separated.
    pub fn path(&self) -> String {
        format!(
            "{}/{}/{}-{}.yaml",
            Self::cluster_dir(&self.cluster),
            self.folder,
            self.kind,
            self.name
        )
    }
}

impl std::fmt::Display for ObjectPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.path())
    }
}

/// A segment a file system and git take as one plain name: no separators, no `.`/`..`, no
/// hidden files, no control characters.
fn safe_segment(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('.')
        && s.len() <= 253
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// An object's file: YAML, keys in a stable order, ending in a newline.
#[cfg(feature = "render")]
pub fn object_file(object: &Value) -> String {
    let mut text = serde_norway::to_string(&sorted(object)).unwrap_or_default();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// The same object with every map's keys sorted, whatever order it was built or parsed in
/// (so the file does not change when only the order of keys did).
#[cfg(feature = "render")]
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), sorted(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// The files of a desired state: path → text, for `(cluster, object)` pairs.
#[cfg(feature = "render")]
pub fn tree_files(
    objects: &[(String, Value)],
) -> Result<std::collections::BTreeMap<String, String>, LayoutError> {
    objects
        .iter()
        .map(|(cluster, object)| Ok((ObjectPath::of(cluster, object)?.path(), object_file(object))))
        .collect()
}

/// How a repository's tree differs from the applied state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeDifference {
    /// Applied, but not in the repository.
    Missing(String),
    /// In the repository, but not applied.
    Unexpected(String),
    /// In both, with other content.
    Differs(String),
}

impl std::fmt::Display for TreeDifference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing(path) => write!(f, "missing from the repository: {path}"),
            Self::Unexpected(path) => write!(f, "in the repository but not applied: {path}"),
            Self::Differs(path) => write!(f, "differs from what was applied: {path}"),
        }
    }
}

/// Every difference between the `applied` files and the repository's `committed` ones, by
/// path.
pub fn compare_trees(
    applied: &std::collections::BTreeMap<String, String>,
    committed: &std::collections::BTreeMap<String, String>,
) -> Vec<TreeDifference> {
    let mut differences: Vec<TreeDifference> = applied
        .iter()
        .filter_map(|(path, text)| match committed.get(path) {
            None => Some(TreeDifference::Missing(path.clone())),
            Some(other) if other != text => Some(TreeDifference::Differs(path.clone())),
            Some(_) => None,
        })
        .chain(
            committed
                .keys()
                .filter(|path| !applied.contains_key(*path))
                .map(|path| TreeDifference::Unexpected(path.clone())),
        )
        .collect();
    differences.sort_by(|a, b| path_of(a).cmp(path_of(b)));
    differences
}

fn path_of(difference: &TreeDifference) -> &str {
    match difference {
        TreeDifference::Missing(p) | TreeDifference::Unexpected(p) | TreeDifference::Differs(p) => {
            p
        }
    }
}

/// The message of the first commit of a repository started where objects were already
/// applied without a request (demo data, an import).
pub fn baseline_message(objects: usize) -> String {
    format!(
        "Record the state applied before this repository\n\n\
         {objects} objects were applied without a request that this repository holds \
         (demo data or an import); later commits change them through reviewed requests.\n"
    )
}

/// Who a commit names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    pub email: String,
}

impl std::fmt::Display for Person {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = if self.name.trim().is_empty() {
            &self.email
        } else {
            &self.name
        };
        write!(f, "{} <{}>", one_line(name), one_line(&self.email))
    }
}

/// What a commit for an applied request says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitFacts {
    pub request_id: i64,
    /// `service`, `ingress`, `certificate`.
    pub kind: String,
    /// `service ledger`.
    pub title: String,
    pub team: String,
    pub cluster: String,
    pub dry_run: bool,
    /// Where the request is seen in the portal.
    pub link: String,
    pub reason: String,
    pub requester: Person,
    pub approvers: Vec<Person>,
}

impl CommitFacts {
    /// Subject, the request's reason, then trailers (`git interpret-trailers` reads them).
    pub fn message(&self) -> String {
        let mut message = format!(
            "Apply request #{}: {} ({}, {})\n\n",
            self.request_id,
            one_line(&self.title),
            self.team,
            self.cluster
        );
        let reason = self.reason.trim();
        if !reason.is_empty() {
            message.push_str(reason);
            message.push_str("\n\n");
        }
        if self.dry_run {
            message.push_str(
                "Dry run: this cluster only records what would be applied; nothing was sent to it.\n\n",
            );
        }
        let mut trailer = |key: &str, value: &str| {
            message.push_str(&format!("{key}: {}\n", one_line(value)));
        };
        trailer(REQUEST_TRAILER, &self.request_id.to_string());
        trailer("Request-Kind", &self.kind);
        trailer("Request-Link", &self.link);
        trailer("Team", &self.team);
        trailer("Cluster", &self.cluster);
        trailer("Requested-by", &self.requester.to_string());
        for approver in &self.approvers {
            trailer("Approved-by", &approver.to_string());
        }
        message
    }
}

/// The request a commit message names in its trailer, if any.
pub fn request_of(message: &str) -> Option<i64> {
    let prefix = format!("{REQUEST_TRAILER}: ");
    message
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|id| id.trim().parse().ok())
}

fn one_line(text: &str) -> String {
    text.split(['\n', '\r']).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
#[path = "iac_tests.rs"]
mod tests;
