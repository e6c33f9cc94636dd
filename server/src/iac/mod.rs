//! The IaC repository: every applied change is one commit in a bare git repository, in the
//! tree `domain::iac` lays out, authored by the requester and committed by Stargate; with a
//! remote, each commit is pushed (that is how `gitops` clusters receive their changes).
//! libgit2 (`git2`) writes and reads it; pushing uses the `git` program, so the remote's
//! credentials work the way they do for people (SSH keys, credential helpers).

mod browse;
mod commit;
mod export;
mod remote;
mod settings;

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use domain::iac::{LayoutError, Person};

pub use commit::AppliedChange;
pub use export::{ExportError, Exported, export, verify};
pub use settings::IacSettings;

/// Why the repository could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum IacError {
    /// The repository cannot be opened, read or written (permissions, a full disk, a
    /// corrupted object database).
    #[error("the IaC repository at {path}: {message}")]
    Repository { path: String, message: String },
    #[error("an applied object has no place in the IaC tree: {0}")]
    Layout(#[from] LayoutError),
    /// The remote refused the push (or could not be reached); its own words.
    #[error("pushing to the IaC remote failed: {0}")]
    Push(String),
    #[error("{0} is not in the IaC repository")]
    NotFound(String),
}

/// The repository, shared by everything in this process that writes or reads it.
#[derive(Clone)]
pub struct IacRepo {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    branch: String,
    committer: Person,
    remote: Option<remote::Remote>,
    /// One writer at a time in this process (other processes are kept out by the
    /// compare-and-set on the branch), with the repository as the last write left it:
    /// opening it again for every commit read its configuration each time.
    writing: Mutex<Option<git2::Repository>>,
    /// Commits made by this process, for packing now and then.
    commits: std::sync::atomic::AtomicU64,
}

/// Every this many commits, `git gc --auto` packs the loose objects (each commit writes a
/// new copy of its folder's tree: about 100 KB at 10,000 services, a few MB once packed).
const PACK_EVERY: u64 = 500;

impl IacRepo {
    /// The repository the settings name; nothing is touched on disk until it is used.
    pub fn new(settings: &IacSettings, data_dir: &Path) -> Self {
        static OPTIONS: std::sync::Once = std::sync::Once::new();
        // Every object a tree names was written just before by this code; checking that
        // each of a folder's thousands of entries exists made a commit cost a stat per
        // entry.
        // Objects are read from disk every time, not from a cache of the handle a writer
        // keeps: a damaged object must be noticed, as it was when each write opened the
        // repository afresh.
        OPTIONS.call_once(|| {
            git2::opts::strict_object_creation(false);
            git2::opts::enable_caching(false);
        });
        Self {
            inner: Arc::new(Inner {
                path: settings.repo_path(data_dir),
                branch: settings.branch.clone(),
                committer: Person {
                    name: settings.committer_name.clone(),
                    email: settings.committer_email.clone(),
                },
                remote: settings
                    .remote
                    .as_ref()
                    .map(|url| remote::Remote::new(url, settings)),
                writing: Mutex::new(None),
                commits: std::sync::atomic::AtomicU64::new(0),
            }),
        }
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    pub fn has_remote(&self) -> bool {
        self.inner.remote.is_some()
    }

    fn branch_ref(&self) -> String {
        format!("refs/heads/{}", self.inner.branch)
    }

    fn error(&self, e: impl std::fmt::Display) -> IacError {
        IacError::Repository {
            path: self.inner.path.display().to_string(),
            message: e.to_string(),
        }
    }

    /// Opens the repository, creating it (bare, on the configured branch) the first time.
    fn open(&self) -> Result<git2::Repository, IacError> {
        let path = &self.inner.path;
        match git2::Repository::open_bare(path) {
            Ok(repo) => Ok(repo),
            // Only a missing or empty folder becomes a new repository: anything else there
            // (a damaged repository, someone's files) is reported, not overwritten.
            Err(_) if !path.exists() || is_empty_dir(path) => {
                let mut options = git2::RepositoryInitOptions::new();
                options
                    .bare(true)
                    .mkpath(true)
                    .initial_head(&self.inner.branch);
                git2::Repository::init_opts(path, &options).map_err(|e| self.error(e.message()))
            }
            Err(e) => Err(self.error(e.message())),
        }
    }

    /// The commit at the branch's tip, if any.
    fn head(&self, repo: &git2::Repository) -> Result<Option<git2::Oid>, IacError> {
        match repo.refname_to_id(&self.branch_ref()) {
            Ok(id) => Ok(Some(id)),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(self.error(e.message())),
        }
    }

    /// The repository's lock file, held until the returned file is dropped; `None` when
    /// another process holds it (one process at a time rebuilds missing commits, and the
    /// others do not wait for it).
    pub async fn try_lock(&self) -> Result<Option<std::fs::File>, IacError> {
        self.blocking(|repo| {
            repo.open()?;
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(repo.inner.path.join("stargate.lock"))
                .map_err(|e| repo.error(e))?;
            match file.try_lock() {
                Ok(()) => Ok(Some(file)),
                Err(std::fs::TryLockError::WouldBlock) => Ok(None),
                Err(std::fs::TryLockError::Error(e)) => Err(repo.error(e)),
            }
        })
        .await
    }

    /// Counts a commit; every `PACK_EVERY`th starts `git gc --auto` in the background
    /// (without `git` on the machine the objects stay loose, which only costs space).
    pub(super) fn count_commit(&self) {
        let made = self
            .inner
            .commits
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        if !made.is_multiple_of(PACK_EVERY) {
            return;
        }
        let path = self.inner.path.clone();
        tokio::spawn(async move {
            let packed = tokio::process::Command::new("git")
                .arg("-C")
                .arg(&path)
                .args(["gc", "--auto", "--quiet"])
                .stdin(std::process::Stdio::null())
                .status()
                .await;
            match packed {
                Ok(status) if status.success() => tracing::debug!("packed the IaC repository"),
                Ok(status) => tracing::warn!(%status, "git gc on the IaC repository failed"),
                Err(error) => tracing::debug!(%error, "no git to pack the IaC repository with"),
            }
        });
    }

    /// Runs blocking git work off the async runtime.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Self) -> Result<T, IacError> + Send + 'static,
    ) -> Result<T, IacError> {
        let repo = self.clone();
        tokio::task::spawn_blocking(move || work(&repo))
            .await
            .map_err(|e| self.error(format!("the git task stopped: {e}")))?
    }
}

fn is_empty_dir(path: &Path) -> bool {
    std::fs::read_dir(path).is_ok_and(|mut entries| entries.next().is_none())
}
