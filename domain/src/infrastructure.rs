//! Browsing the IaC repository: its commits (one per applied request), the tree of a
//! cluster at any commit, one object's file and its history. The types pages and the REST
//! API share, and the checks on what they are asked for, so nothing outside `clusters/`
//! and nothing but a commit id ever reaches the repository.

use serde::{Deserialize, Serialize};

use crate::{
    FieldError, FieldErrors, PageRequest,
    iac::ObjectPath,
    names::check_dns_label,
    query::{non_blank, non_empty},
};

/// Shortest abbreviation of a commit id accepted (what `git log --oneline` prints).
pub const MIN_COMMIT_ID_LEN: usize = 7;
/// A full SHA-1 commit id.
pub const MAX_COMMIT_ID_LEN: usize = 40;

/// A commit id as asked for: 7 to 40 hex digits, lower case; the repository resolves an
/// abbreviation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CommitId(String);

impl CommitId {
    pub fn parse(path: &str, value: &str) -> Result<Self, FieldError> {
        let hex = value.bytes().all(|b| b.is_ascii_hexdigit());
        if hex && (MIN_COMMIT_ID_LEN..=MAX_COMMIT_ID_LEN).contains(&value.len()) {
            Ok(Self(value.to_ascii_lowercase()))
        } else {
            Err(FieldError::new(
                path,
                format!(
                    "must be a commit id: {MIN_COMMIT_ID_LEN} to {MAX_COMMIT_ID_LEN} hex digits (got {value:?})"
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CommitId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One commit of the branch, as lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IacCommit {
    /// The full commit id (40 hex digits).
    pub id: String,
    /// The message's first line.
    pub subject: String,
    /// The author: who requested the change.
    pub author_name: String,
    pub author_email: String,
    /// When it was committed, RFC 3339 UTC.
    pub committed_at: String,
    /// The request the commit applied (its `Stargate-Request` trailer).
    pub request_id: Option<i64>,
}

impl IacCommit {
    /// The id as people quote it.
    pub fn short_id(&self) -> &str {
        self.id.get(..8).unwrap_or(&self.id)
    }
}

/// A page of the branch's commits, newest first. No total: counting would walk the whole
/// history on every page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommitLog {
    pub items: Vec<IacCommit>,
    pub page: u32,
    pub per_page: u32,
    /// Older commits follow on the next page.
    pub has_more: bool,
}

/// What a commit did to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum FileChange {
    Added,
    Modified,
    Deleted,
}

impl FileChange {
    pub fn label(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Modified => "modified",
            Self::Deleted => "deleted",
        }
    }
}

/// One file of a commit, with its unified diff against the commit's parent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileDiff {
    pub path: String,
    pub change: FileChange,
    /// Unified diff (`---`/`+++` headers, `@@` hunks), as `git diff` prints it; cut short
    /// (and saying so) past a size no page should render.
    pub patch: String,
}

/// One commit with its message and what it changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommitDetail {
    pub commit: IacCommit,
    /// The whole message: subject, the request's reason, trailers.
    pub message: String,
    /// Who wrote the commit: Stargate.
    pub committer_name: String,
    pub committer_email: String,
    /// The first parent; `None` for the repository's first commit.
    pub parent: Option<String>,
    pub files: Vec<FileDiff>,
    /// More files changed than are listed.
    pub more_files: bool,
}

/// One object's file in a cluster's tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TreeFile {
    /// `clusters/demo/payments/deployment-ledger.yaml`.
    pub path: String,
    /// The namespace (`_cluster` for other cluster-scoped objects).
    pub folder: String,
    /// Lower case: `deployment`, `service`, `ingress`.
    pub kind: String,
    pub name: String,
}

impl From<&ObjectPath> for TreeFile {
    fn from(path: &ObjectPath) -> Self {
        Self {
            path: path.path(),
            folder: path.folder.clone(),
            kind: path.kind.clone(),
            name: path.name.clone(),
        }
    }
}

/// A cluster's objects at one commit, by folder, then kind and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClusterTree {
    pub cluster: String,
    /// The commit shown; `None` while nothing has been committed.
    pub commit: Option<IacCommit>,
    pub files: Vec<TreeFile>,
}

/// One object's file at one commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IacFile {
    pub path: String,
    pub commit: IacCommit,
    /// The YAML, exactly as committed.
    pub text: String,
}

/// A commit that changed one object's file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryEntry {
    pub commit: IacCommit,
    pub change: FileChange,
    /// The file's unified diff in that commit.
    pub patch: String,
}

/// The commits that changed one object's file, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ObjectHistory {
    pub path: String,
    pub entries: Vec<HistoryEntry>,
    /// False when the search stopped at its limit (entries or commits looked at) before
    /// the start of the branch: older changes may exist.
    pub complete: bool,
}

/// `GET /iac/commits` as typed. Empty values count as absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct RawCommitLogQuery {
    /// Only commits that changed this cluster's folder.
    #[cfg_attr(
        feature = "openapi",
        param(pattern = r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)?$", example = "demo")
    )]
    pub cluster: Option<String>,
    /// Page number, from 1.
    #[cfg_attr(feature = "openapi", param(value_type = Option<u32>, minimum = 1, maximum = 1000000))]
    pub page: Option<String>,
    /// Commits per page (default 20).
    #[cfg_attr(feature = "openapi", param(value_type = Option<u32>, minimum = 1, maximum = 100))]
    pub per_page: Option<String>,
}

/// A validated commit log query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitLogQuery {
    pub cluster: Option<String>,
    pub page: PageRequest,
}

impl CommitLogQuery {
    pub fn parse(raw: &RawCommitLogQuery) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let cluster = non_empty(&raw.cluster).and_then(|c| errors.collect(cluster("cluster", c)));
        let page = PageRequest::collect(&mut errors, &raw.page, &raw.per_page);
        errors.into_result(Self { cluster, page })
    }
}

/// `GET /iac/tree` as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct RawTreeQuery {
    /// The cluster whose folder to list.
    #[cfg_attr(
        feature = "openapi",
        param(pattern = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", example = "demo")
    )]
    pub cluster: String,
    /// A commit id (7 to 40 hex digits); the branch's tip when absent or empty.
    #[cfg_attr(feature = "openapi", param(pattern = "^([0-9a-fA-F]{7,40})?$"))]
    pub at: Option<String>,
}

/// A validated tree query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeQuery {
    pub cluster: String,
    pub at: Option<CommitId>,
}

impl TreeQuery {
    pub fn parse(raw: &RawTreeQuery) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let cluster = errors.collect(cluster("cluster", &raw.cluster));
        let at = at(&mut errors, &raw.at);
        match cluster {
            Some(cluster) => errors.into_result(Self { cluster, at }),
            None => Err(errors),
        }
    }
}

/// `GET /iac/files` as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct RawFileQuery {
    /// The object's file: `clusters/<cluster>/<namespace>/<kind>-<name>.yaml`.
    #[cfg_attr(
        feature = "openapi",
        param(
            // What `ObjectPath::parse` reads: a cluster, a folder, `<kind>-<name>.yaml`.
            pattern = r"^clusters/[A-Za-z0-9_-][A-Za-z0-9_.-]{0,252}/[A-Za-z0-9_-][A-Za-z0-9_.-]{0,252}/[A-Za-z0-9_][A-Za-z0-9_.]{0,252}-[A-Za-z0-9_-][A-Za-z0-9_.-]{0,252}\.yaml$",
            example = "clusters/demo/payments/deployment-ledger.yaml"
        )
    )]
    pub path: String,
    /// A commit id (7 to 40 hex digits); the branch's tip when absent or empty.
    #[cfg_attr(feature = "openapi", param(pattern = "^([0-9a-fA-F]{7,40})?$"))]
    pub at: Option<String>,
}

/// A validated file query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileQuery {
    pub path: ObjectPath,
    pub at: Option<CommitId>,
}

impl FileQuery {
    pub fn parse(raw: &RawFileQuery) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let path = errors.collect(object_path("path", &raw.path));
        let at = at(&mut errors, &raw.at);
        match path {
            Some(path) => errors.into_result(Self { path, at }),
            None => Err(errors),
        }
    }
}

/// `GET /iac/history` as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct RawHistoryQuery {
    /// The object's file: `clusters/<cluster>/<namespace>/<kind>-<name>.yaml`.
    #[cfg_attr(
        feature = "openapi",
        param(
            // What `ObjectPath::parse` reads: a cluster, a folder, `<kind>-<name>.yaml`.
            pattern = r"^clusters/[A-Za-z0-9_-][A-Za-z0-9_.-]{0,252}/[A-Za-z0-9_-][A-Za-z0-9_.-]{0,252}/[A-Za-z0-9_][A-Za-z0-9_.]{0,252}-[A-Za-z0-9_-][A-Za-z0-9_.-]{0,252}\.yaml$",
            example = "clusters/demo/payments/deployment-ledger.yaml"
        )
    )]
    pub path: String,
}

impl RawHistoryQuery {
    pub fn parse(&self) -> Result<ObjectPath, FieldErrors> {
        object_path("path", &self.path).map_err(|e| FieldErrors(vec![e]))
    }
}

fn cluster(path: &str, value: &str) -> Result<String, FieldError> {
    check_dns_label(value)
        .map(|()| value.to_owned())
        .map_err(|message| FieldError::new(path, message))
}

fn at(errors: &mut FieldErrors, value: &Option<String>) -> Option<CommitId> {
    non_blank(value).and_then(|v| errors.collect(CommitId::parse("at", v)))
}

/// Only paths Stargate lays out: `clusters/<cluster>/<folder>/<kind>-<name>.yaml`.
pub fn object_path(path: &str, value: &str) -> Result<ObjectPath, FieldError> {
    ObjectPath::parse(value).ok_or_else(|| {
        FieldError::new(
            path,
            format!(
                "must be an object's file, clusters/<cluster>/<namespace>/<kind>-<name>.yaml (got {value:?})"
            ),
        )
    })
}

/// How a line of a unified diff reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffLineKind {
    /// `diff --git`, `index`, `---`, `+++`, `new file mode`...
    Header,
    /// `@@ -1,3 +1,4 @@`
    Hunk,
    Added,
    Removed,
    Context,
}

/// The lines of a unified diff, each with what it is, for pages to colour.
pub fn diff_lines(patch: &str) -> Vec<(DiffLineKind, &str)> {
    let mut in_hunk = false;
    patch
        .lines()
        .map(|line| {
            let kind = if line.starts_with("@@") {
                in_hunk = true;
                DiffLineKind::Hunk
            } else if line.starts_with("diff ") {
                in_hunk = false;
                DiffLineKind::Header
            } else if !in_hunk {
                DiffLineKind::Header
            } else if line.starts_with('+') {
                DiffLineKind::Added
            } else if line.starts_with('-') {
                DiffLineKind::Removed
            } else {
                DiffLineKind::Context
            };
            (kind, line)
        })
        .collect()
}

#[cfg(test)]
#[path = "infrastructure_tests.rs"]
mod tests;
