//! Writing the repository: one commit per applied request on the branch, moved by
//! compare-and-set so that workers sharing the repository never lose each other's commits;
//! and finding the commit a request already has, so a worker that stopped between
//! committing and recording is completed rather than repeated.

use std::collections::HashMap;

use std::collections::BTreeMap;

use domain::iac::{CommitFacts, Person, request_of, tree_files};
use serde_json::Value;

use super::{IacError, IacRepo};

/// How many times the branch may move under a commit before giving up (each time the
/// commit is rebuilt on the new tip).
const MOVES_TOLERATED: usize = 16;

/// How far back a request's commit is looked for when a job is taken over. It was made
/// moments before its worker stopped, so it sits near the tip.
const LOOKBACK: usize = 10_000;

/// What one commit adds to the repository.
#[derive(Debug, Clone)]
pub struct AppliedChange {
    /// `(cluster, object)`, each object exactly as applied (approved).
    pub objects: Vec<(String, Value)>,
    /// `(cluster, object)` deleted from the cluster: their files go.
    pub removed: Vec<(String, Value)>,
    pub message: String,
    /// The requester; Stargate itself when `None`.
    pub author: Option<Person>,
    /// Named in the branch's reflog.
    pub request_id: Option<i64>,
}

impl AppliedChange {
    /// The commit of an applied request: its objects on its cluster, by its requester.
    pub fn of_request(cluster: &str, objects: &[Value], facts: &CommitFacts) -> Self {
        Self {
            objects: objects
                .iter()
                .map(|o| (cluster.to_owned(), o.clone()))
                .collect(),
            removed: Vec::new(),
            message: facts.message(),
            author: Some(facts.requester.clone()),
            request_id: Some(facts.request_id),
        }
    }

    /// The commit of an applied decommission: its objects' files removed.
    pub fn removal_of_request(cluster: &str, objects: &[Value], facts: &CommitFacts) -> Self {
        let applied = Self::of_request(cluster, objects, facts);
        Self {
            objects: Vec::new(),
            removed: applied.objects,
            ..applied
        }
    }
}

impl IacRepo {
    /// Commits `change` at the branch's tip; the commit id (hex).
    pub async fn commit(&self, change: AppliedChange) -> Result<String, IacError> {
        let commit = self
            .blocking(move |repo| repo.write(&change).map(|id| id.to_string()))
            .await?;
        self.count_commit();
        Ok(commit)
    }

    /// The commit on the branch that recorded `request_id`, if one does.
    pub async fn commit_of(&self, request_id: i64) -> Result<Option<String>, IacError> {
        self.blocking(move |repo| Ok(repo.request_commits(Some(LOOKBACK))?.remove(&request_id)))
            .await
    }

    /// Every request with a commit on the branch, and that commit.
    pub async fn all_request_commits(&self) -> Result<HashMap<i64, String>, IacError> {
        self.blocking(|repo| repo.request_commits(None)).await
    }

    /// Sends the branch to the remote, if there is one. When the push fails, the branch is
    /// moved back off `commit` (if it is still the tip), so the repository holds only what
    /// was delivered and the next attempt commits afresh.
    pub async fn publish(&self, commit: &str) -> Result<(), IacError> {
        let Some(remote) = &self.inner.remote else {
            return Ok(());
        };
        let Err(refused) = remote.push(&self.inner.path, &self.inner.branch).await else {
            return Ok(());
        };
        // Another worker's push may have delivered this commit already (a push sends the
        // whole branch): then it is delivered, and taking it back would split the branch
        // from the remote.
        if let Ok(Some(remote_tip)) = remote.tip(&self.inner.path, &self.inner.branch).await {
            let (commit, tip) = (commit.to_owned(), remote_tip);
            if self
                .blocking(move |repo| repo.contains(&tip, &commit))
                .await
                .unwrap_or(false)
            {
                return Ok(());
            }
        }
        let commit = commit.to_owned();
        self.blocking(move |repo| repo.rewind(&commit)).await?;
        Err(refused)
    }

    /// Sends the branch to the remote, if there is one, taking nothing back if it fails.
    pub async fn push(&self) -> Result<(), IacError> {
        match &self.inner.remote {
            Some(remote) => remote.push(&self.inner.path, &self.inner.branch).await,
            None => Ok(()),
        }
    }

    pub(super) fn git<T>(&self, result: Result<T, git2::Error>) -> Result<T, IacError> {
        result.map_err(|e| self.error(e.message()))
    }

    /// Whether the branch has no commit yet.
    pub async fn is_empty(&self) -> Result<bool, IacError> {
        self.blocking(|repo| {
            let git = repo.open()?;
            Ok(repo.head(&git)?.is_none())
        })
        .await
    }

    /// The object files at the branch's tip: path → text (none for an empty or missing
    /// repository, which is not created by asking).
    pub async fn files_at_tip(&self) -> Result<BTreeMap<String, String>, IacError> {
        self.blocking(|repo| {
            let Some((git, tip)) = repo.existing()? else {
                return Ok(BTreeMap::new());
            };
            let tree = repo.git(git.find_commit(tip).and_then(|c| c.tree()))?;
            let mut blobs = Vec::new();
            repo.git(tree.walk(git2::TreeWalkMode::PreOrder, |root, entry| {
                if entry.kind() == Some(git2::ObjectType::Blob)
                    && let Ok(name) = entry.name()
                {
                    blobs.push((format!("{root}{name}"), entry.id()));
                }
                git2::TreeWalkResult::Ok
            }))?;
            blobs
                .into_iter()
                .filter(|(path, _)| path.starts_with(domain::iac::CLUSTERS_DIR))
                .map(|(path, id)| {
                    let blob = repo.git(git.find_blob(id))?;
                    Ok((path, String::from_utf8_lossy(blob.content()).into_owned()))
                })
                .collect()
        })
        .await
    }

    /// This process's one writer at a time (a writer that panicked left nothing half
    /// done: the branch only moves by compare-and-set).
    fn writer(&self) -> std::sync::MutexGuard<'_, Option<git2::Repository>> {
        self.inner
            .writing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self, change: &AppliedChange) -> Result<git2::Oid, IacError> {
        let files = tree_files(&change.objects)?;
        let removed = tree_files(&change.removed)?;
        let mut writing = self.writer();
        // Kept only while the repository is still there: libgit2 would recreate the folders
        // of a removed one around the objects it writes.
        let repo = match writing.take() {
            Some(repo) if repo.path().join("HEAD").is_file() => repo,
            _ => self.open()?,
        };
        let written = self.write_in(&repo, &files, &removed, change);
        // A repository that failed is opened afresh next time (it may have been repaired,
        // replaced or removed meanwhile).
        if written.is_ok() {
            *writing = Some(repo);
        }
        written
    }

    fn write_in(
        &self,
        repo: &git2::Repository,
        files: &BTreeMap<String, String>,
        removed: &BTreeMap<String, String>,
        change: &AppliedChange,
    ) -> Result<git2::Oid, IacError> {
        let blobs = files
            .iter()
            .map(|(path, text)| Ok((path.as_str(), self.git(repo.blob(text.as_bytes()))?)))
            .collect::<Result<Vec<_>, IacError>>()?;
        let committer = self.signature(&self.inner.committer)?;
        let author = match &change.author {
            Some(author) => self.signature(author)?,
            None => committer.clone(),
        };
        let message = &change.message;
        let branch = self.branch_ref();
        for _ in 0..MOVES_TOLERATED {
            let tip = self.head(repo)?;
            let parent = tip.map(|id| self.git(repo.find_commit(id))).transpose()?;
            let base = match &parent {
                Some(parent) => self.git(parent.tree())?,
                None => {
                    let empty = self.git(repo.treebuilder(None).and_then(|b| b.write()))?;
                    self.git(repo.find_tree(empty))?
                }
            };
            let mut update = git2::build::TreeUpdateBuilder::new();
            for (path, blob) in &blobs {
                update.upsert(*path, *blob, git2::FileMode::Blob);
            }
            for path in removed.keys() {
                update.remove(path);
            }
            let tree = self.git(update.create_updated(repo, &base))?;
            let tree = self.git(repo.find_tree(tree))?;
            let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
            let id = self.git(repo.commit(None, &author, &committer, message, &tree, &parents))?;
            let log = match change.request_id {
                Some(id) => format!("stargate: request {id}"),
                None => "stargate: baseline".to_owned(),
            };
            let moved = match tip {
                Some(tip) => repo.reference_matching(&branch, id, true, tip, &log),
                None => repo.reference(&branch, id, false, &log),
            };
            match moved {
                Ok(_) => return Ok(id),
                // Another writer moved the branch: build on its commit instead.
                Err(e) if is_race(&e) => continue,
                // Another writer is moving it right now; a lock left by a writer that
                // was killed stays, and the error below names it.
                Err(e) if e.code() == git2::ErrorCode::Locked => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    continue;
                }
                Err(e) => return Err(self.error(e.message())),
            }
        }
        Err(self.error(format!(
            "the branch stayed locked or kept moving while committing; if no stargate \
             process is writing, remove {}.lock",
            self.inner.path.join(&branch).display()
        )))
    }

    /// Whether commit `tip` is `commit` or comes after it (false if `tip` is unknown here).
    fn contains(&self, tip: &str, commit: &str) -> Result<bool, IacError> {
        let repo = self.open()?;
        let (tip, commit) = (
            self.git(git2::Oid::from_str(tip))?,
            self.git(git2::Oid::from_str(commit))?,
        );
        Ok(tip == commit
            || (repo.find_commit(tip).is_ok()
                && self.git(repo.graph_descendant_of(tip, commit))?))
    }

    /// Moves the branch from `commit` back to its parent (removing the branch if it was the
    /// first); leaves it alone if something else is the tip now.
    fn rewind(&self, commit: &str) -> Result<(), IacError> {
        let _writing = self.writer();
        let repo = self.open()?;
        let id = self.git(git2::Oid::from_str(commit))?;
        if self.head(&repo)? != Some(id) {
            return Ok(());
        }
        let parent = self.git(repo.find_commit(id))?.parent_id(0).ok();
        let branch = self.branch_ref();
        let log = "stargate: the push was refused";
        let moved = match parent {
            Some(parent) => repo
                .reference_matching(&branch, parent, true, id, log)
                .map(drop),
            None => repo.find_reference(&branch).and_then(|mut r| r.delete()),
        };
        match moved {
            Err(e) if !is_race(&e) => Err(self.error(e.message())),
            _ => Ok(()),
        }
    }

    /// Request id → commit, for the newest `limit` commits of the branch (all without one).
    fn request_commits(&self, limit: Option<usize>) -> Result<HashMap<i64, String>, IacError> {
        let repo = self.open()?;
        let Some(tip) = self.head(&repo)? else {
            return Ok(HashMap::new());
        };
        let mut walk = self.git(repo.revwalk())?;
        self.git(walk.push(tip))?;
        self.git(walk.simplify_first_parent())?;
        let mut found = HashMap::new();
        for id in walk.take(limit.unwrap_or(usize::MAX)) {
            let id = self.git(id)?;
            let commit = self.git(repo.find_commit(id))?;
            if let Some(request) = commit.message().ok().and_then(request_of) {
                // Walking back from the tip: the newest commit of a request wins.
                found.entry(request).or_insert_with(|| id.to_string());
            }
        }
        Ok(found)
    }

    fn signature(&self, person: &Person) -> Result<git2::Signature<'static>, IacError> {
        // git refuses angle brackets and line breaks in names and addresses.
        let clean = |s: &str| s.replace(['<', '>', '\n', '\r'], "").trim().to_owned();
        let email = clean(&person.email);
        let name = match clean(&person.name) {
            name if name.is_empty() => email.clone(),
            name => name,
        };
        self.git(git2::Signature::now(&name, &email))
    }
}

/// The branch moved under a compare-and-set.
fn is_race(e: &git2::Error) -> bool {
    matches!(
        e.code(),
        git2::ErrorCode::Modified | git2::ErrorCode::Exists
    )
}
