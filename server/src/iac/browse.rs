//! Reading the repository for people: the branch's log, one commit with its diffs, a
//! cluster's tree, one file, one object's history. Only what is on the branch is shown (a
//! commit a refused push left behind was never delivered), and every walk is bounded, so
//! one page view costs the same on a repository of ten commits or a hundred thousand.

use std::path::Path;

use domain::{
    iac::{ObjectPath, request_of},
    infrastructure::{
        ClusterTree, CommitDetail, CommitId, CommitLog, CommitLogQuery, FileChange, FileDiff,
        FileQuery, HistoryEntry, IacCommit, IacFile, ObjectHistory, TreeFile, TreeQuery,
    },
};

use super::{IacError, IacRepo, is_empty_dir};

/// Commits a log or a history looks at, at most, per call.
const WALK_LIMIT: usize = 100_000;
/// Entries of one object's history.
const HISTORY_LIMIT: usize = 100;
/// Files of one commit shown with their diffs.
const COMMIT_FILES_LIMIT: usize = 200;
/// Files of one cluster's tree listed.
const TREE_FILES_LIMIT: usize = 20_000;
/// Longest diff of one file returned; a Kubernetes object is a few KiB.
const PATCH_LIMIT: usize = 256 * 1024;

impl IacRepo {
    /// The branch's commits, newest first; only those that changed the cluster's folder
    /// when one is named.
    pub async fn log(&self, query: CommitLogQuery) -> Result<CommitLog, IacError> {
        self.blocking(move |repo| repo.read_log(&query)).await
    }

    /// One commit of the branch with its per-file diffs against its first parent.
    pub async fn commit_detail(&self, id: CommitId) -> Result<CommitDetail, IacError> {
        self.blocking(move |repo| repo.read_commit(&id)).await
    }

    /// A cluster's files at a commit (the tip when none is named).
    pub async fn tree(&self, query: TreeQuery) -> Result<ClusterTree, IacError> {
        self.blocking(move |repo| repo.read_tree(&query)).await
    }

    /// One object's file at a commit (the tip when none is named).
    pub async fn file(&self, query: FileQuery) -> Result<IacFile, IacError> {
        self.blocking(move |repo| repo.read_file(&query)).await
    }

    /// The commits that changed one object's file, newest first, each with its diff.
    pub async fn history(&self, path: ObjectPath) -> Result<ObjectHistory, IacError> {
        self.blocking(move |repo| repo.read_history(&path)).await
    }

    /// The repository and its tip; `None` before the first commit, and before the
    /// repository exists (reading never creates it: that is the writer's business).
    pub(super) fn existing(&self) -> Result<Option<(git2::Repository, git2::Oid)>, IacError> {
        let path = self.path();
        if !path.exists() || is_empty_dir(path) {
            return Ok(None);
        }
        let repo = self.git(git2::Repository::open_bare(path))?;
        Ok(self.head(&repo)?.map(|tip| (repo, tip)))
    }

    fn read_log(&self, query: &CommitLogQuery) -> Result<CommitLog, IacError> {
        let page = query.page;
        let mut log = CommitLog {
            items: Vec::new(),
            page: page.page,
            per_page: page.per_page,
            has_more: false,
        };
        let Some((repo, tip)) = self.existing()? else {
            return Ok(log);
        };
        let folder = query.cluster.as_deref().map(ObjectPath::cluster_dir);
        let mut skip = page.offset();
        for id in self.first_parents(&repo, tip)?.take(WALK_LIMIT) {
            let commit = self.git(repo.find_commit(self.git(id)?))?;
            if let Some(folder) = &folder
                && !self.changed(&repo, &commit, folder)?
            {
                continue;
            }
            if skip > 0 {
                skip -= 1;
            } else if log.items.len() == log.per_page as usize {
                log.has_more = true;
                break;
            } else {
                log.items.push(summary(&commit));
            }
        }
        Ok(log)
    }

    fn read_commit(&self, id: &CommitId) -> Result<CommitDetail, IacError> {
        let (repo, tip) = self
            .existing()?
            .ok_or_else(|| IacError::NotFound(format!("commit {id}")))?;
        let commit = self.on_branch(&repo, tip, id)?;
        let parent = commit.parent_id(0).ok();
        let old = parent
            .map(|p| self.git(repo.find_commit(p).and_then(|c| c.tree())))
            .transpose()?;
        let new = self.git(commit.tree())?;
        let diff = self.git(repo.diff_tree_to_tree(old.as_ref(), Some(&new), None))?;
        let count = diff.deltas().len();
        let files = (0..count.min(COMMIT_FILES_LIMIT))
            .map(|index| self.file_diff(&diff, index))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect();
        let committer = commit.committer();
        Ok(CommitDetail {
            commit: summary(&commit),
            message: String::from_utf8_lossy(commit.message_bytes()).into_owned(),
            committer_name: String::from_utf8_lossy(committer.name_bytes()).into_owned(),
            committer_email: String::from_utf8_lossy(committer.email_bytes()).into_owned(),
            parent: parent.map(|p| p.to_string()),
            files,
            more_files: count > COMMIT_FILES_LIMIT,
        })
    }

    fn read_tree(&self, query: &TreeQuery) -> Result<ClusterTree, IacError> {
        let mut tree = ClusterTree {
            cluster: query.cluster.clone(),
            commit: None,
            files: Vec::new(),
        };
        let Some((repo, tip)) = self.existing()? else {
            return match &query.at {
                Some(at) => Err(IacError::NotFound(format!("commit {at}"))),
                None => Ok(tree),
            };
        };
        let commit = self.at(&repo, tip, query.at.as_ref())?;
        tree.commit = Some(summary(&commit));
        let root = self.git(commit.tree())?;
        let dir = ObjectPath::cluster_dir(&query.cluster);
        let Some(cluster) = self.subtree(&repo, &root, &dir)? else {
            return Ok(tree);
        };
        'folders: for folder in cluster.iter() {
            let (Ok(name), Some(git2::ObjectType::Tree)) = (folder.name(), folder.kind()) else {
                continue;
            };
            let folder_tree = self.git(repo.find_tree(folder.id()))?;
            for file in folder_tree.iter() {
                if tree.files.len() == TREE_FILES_LIMIT {
                    break 'folders;
                }
                let path = format!("{dir}/{name}/{}", file.name().unwrap_or_default());
                // Anything not laid out by Stargate (someone's README) is not an object.
                if let Some(object) = ObjectPath::parse(&path) {
                    tree.files.push(TreeFile::from(&object));
                }
            }
        }
        tree.files
            .sort_by(|a, b| (&a.folder, &a.kind, &a.name).cmp(&(&b.folder, &b.kind, &b.name)));
        Ok(tree)
    }

    fn read_file(&self, query: &FileQuery) -> Result<IacFile, IacError> {
        let path = query.path.path();
        let not_found = || IacError::NotFound(format!("file {path}"));
        let Some((repo, tip)) = self.existing()? else {
            return Err(match &query.at {
                Some(at) => IacError::NotFound(format!("commit {at}")),
                None => not_found(),
            });
        };
        let commit = self.at(&repo, tip, query.at.as_ref())?;
        let blob = self
            .blob_id(&self.git(commit.tree())?, &path)?
            .ok_or_else(not_found)?;
        let blob = self.git(repo.find_blob(blob))?;
        Ok(IacFile {
            path: path.clone(),
            commit: summary(&commit),
            text: String::from_utf8_lossy(blob.content()).into_owned(),
        })
    }

    fn read_history(&self, object: &ObjectPath) -> Result<ObjectHistory, IacError> {
        let path = object.path();
        let mut history = ObjectHistory {
            path: path.clone(),
            entries: Vec::new(),
            complete: true,
        };
        let Some((repo, tip)) = self.existing()? else {
            return Ok(history);
        };
        for (looked_at, id) in self.first_parents(&repo, tip)?.enumerate() {
            if looked_at == WALK_LIMIT || history.entries.len() == HISTORY_LIMIT {
                history.complete = false;
                break;
            }
            let commit = self.git(repo.find_commit(self.git(id)?))?;
            let parent = commit.parents().next();
            let now = self.blob_id(&self.git(commit.tree())?, &path)?;
            let before = match &parent {
                Some(parent) => self.blob_id(&self.git(parent.tree())?, &path)?,
                None => None,
            };
            if now == before {
                continue;
            }
            let mut options = git2::DiffOptions::new();
            options.pathspec(&path).disable_pathspec_match(true);
            let old = parent.map(|p| self.git(p.tree())).transpose()?;
            let new = self.git(commit.tree())?;
            let diff =
                self.git(repo.diff_tree_to_tree(old.as_ref(), Some(&new), Some(&mut options)))?;
            if let Some(file) = self.file_diff(&diff, 0)? {
                history.entries.push(HistoryEntry {
                    commit: summary(&commit),
                    change: file.change,
                    patch: file.patch,
                });
            }
        }
        Ok(history)
    }

    /// The branch from `tip` back along first parents: the order commits were applied.
    fn first_parents<'r>(
        &self,
        repo: &'r git2::Repository,
        tip: git2::Oid,
    ) -> Result<git2::Revwalk<'r>, IacError> {
        let mut walk = self.git(repo.revwalk())?;
        self.git(walk.push(tip))?;
        self.git(walk.simplify_first_parent())?;
        Ok(walk)
    }

    /// The commit `at` names, or the tip.
    fn at<'r>(
        &self,
        repo: &'r git2::Repository,
        tip: git2::Oid,
        at: Option<&CommitId>,
    ) -> Result<git2::Commit<'r>, IacError> {
        match at {
            Some(id) => self.on_branch(repo, tip, id),
            None => self.git(repo.find_commit(tip)),
        }
    }

    /// The commit an id (or abbreviation) names, if it is on the branch.
    fn on_branch<'r>(
        &self,
        repo: &'r git2::Repository,
        tip: git2::Oid,
        id: &CommitId,
    ) -> Result<git2::Commit<'r>, IacError> {
        let not_found = |why: &str| IacError::NotFound(format!("commit {id}{why}"));
        let commit = match repo.find_commit_by_prefix(id.as_str()) {
            Ok(commit) => commit,
            Err(e) if e.code() == git2::ErrorCode::Ambiguous => {
                return Err(not_found(" (ambiguous: give more digits)"));
            }
            // Not there, or not a commit (a blob or tree with that prefix).
            Err(e)
                if matches!(
                    e.code(),
                    git2::ErrorCode::NotFound | git2::ErrorCode::InvalidSpec
                ) || e.class() == git2::ErrorClass::Object =>
            {
                return Err(not_found(""));
            }
            Err(e) => return Err(self.error(e.message())),
        };
        let id_found = commit.id();
        if id_found == tip || self.git(repo.graph_descendant_of(tip, id_found))? {
            Ok(commit)
        } else {
            Err(not_found(""))
        }
    }

    /// Whether `commit` changed the folder `dir` (compared with its first parent).
    fn changed(
        &self,
        repo: &git2::Repository,
        commit: &git2::Commit<'_>,
        dir: &str,
    ) -> Result<bool, IacError> {
        let now = self.entry_id(&self.git(commit.tree())?, dir)?;
        let before = match commit.parent_id(0) {
            Ok(parent) => {
                let parent = self.git(repo.find_commit(parent))?;
                self.entry_id(&self.git(parent.tree())?, dir)?
            }
            Err(_) => None,
        };
        Ok(now != before)
    }

    fn entry_id(&self, tree: &git2::Tree<'_>, path: &str) -> Result<Option<git2::Oid>, IacError> {
        match tree.get_path(Path::new(path)) {
            Ok(entry) => Ok(Some(entry.id())),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(self.error(e.message())),
        }
    }

    fn blob_id(&self, tree: &git2::Tree<'_>, path: &str) -> Result<Option<git2::Oid>, IacError> {
        match tree.get_path(Path::new(path)) {
            Ok(entry) if entry.kind() == Some(git2::ObjectType::Blob) => Ok(Some(entry.id())),
            Ok(_) => Ok(None),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(self.error(e.message())),
        }
    }

    fn subtree<'r>(
        &self,
        repo: &'r git2::Repository,
        root: &git2::Tree<'_>,
        dir: &str,
    ) -> Result<Option<git2::Tree<'r>>, IacError> {
        match root.get_path(Path::new(dir)) {
            Ok(entry) if entry.kind() == Some(git2::ObjectType::Tree) => {
                Ok(Some(self.git(repo.find_tree(entry.id()))?))
            }
            Ok(_) => Ok(None),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(self.error(e.message())),
        }
    }

    /// The `index`th file of `diff` with its unified diff text.
    fn file_diff(&self, diff: &git2::Diff<'_>, index: usize) -> Result<Option<FileDiff>, IacError> {
        let Some(delta) = diff.get_delta(index) else {
            return Ok(None);
        };
        let change = match delta.status() {
            git2::Delta::Added => FileChange::Added,
            git2::Delta::Deleted => FileChange::Deleted,
            _ => FileChange::Modified,
        };
        let file = match change {
            FileChange::Deleted => delta.old_file(),
            _ => delta.new_file(),
        };
        let path = file
            .path()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let patch = match self.git(git2::Patch::from_diff(diff, index))? {
            Some(mut patch) => {
                let text = self.git(patch.to_buf())?;
                cut(String::from_utf8_lossy(&text).into_owned())
            }
            None => String::new(),
        };
        Ok(Some(FileDiff {
            path,
            change,
            patch,
        }))
    }
}

/// A commit as lists show it.
fn summary(commit: &git2::Commit<'_>) -> IacCommit {
    let author = commit.author();
    let message = String::from_utf8_lossy(commit.message_bytes());
    IacCommit {
        id: commit.id().to_string(),
        subject: message.lines().next().unwrap_or_default().to_owned(),
        author_name: String::from_utf8_lossy(author.name_bytes()).into_owned(),
        author_email: String::from_utf8_lossy(author.email_bytes()).into_owned(),
        committed_at: rfc3339(commit.time().seconds()),
        request_id: request_of(&message),
    }
}

/// `2026-12-01T05:33:21Z`, the form every other time in the portal takes.
fn rfc3339(seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|at| {
            at.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// A diff no longer than a page should render, saying when it was cut.
fn cut(mut patch: String) -> String {
    if patch.len() > PATCH_LIMIT {
        let mut end = PATCH_LIMIT;
        while !patch.is_char_boundary(end) {
            end -= 1;
        }
        patch.truncate(end);
        patch.push_str("\n… the rest of this diff is not shown (too large)\n");
    }
    patch
}
