//! `[iac]`: where the repository of applied changes lives and where it is pushed.

use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IacSettings {
    /// The repository (bare; created on first use). `<data_dir>/iac` when unset.
    pub repo_path: Option<PathBuf>,
    /// The branch every applied change is committed to.
    pub branch: String,
    /// Pushed to after every commit (HTTPS or SSH URL, or a path); `gitops` clusters need it.
    pub remote: Option<String>,
    /// SSH private key for an `ssh://` or `git@` remote.
    pub ssh_key: Option<PathBuf>,
    /// Username and token (or password) for an HTTPS remote.
    pub https_username: String,
    pub https_token: Option<SecretString>,
    /// How long one push may take before the job is retried.
    pub push_timeout_seconds: u64,
    /// Who commits (the author is the requester).
    pub committer_name: String,
    pub committer_email: String,
}

impl Default for IacSettings {
    fn default() -> Self {
        Self {
            repo_path: None,
            branch: "main".into(),
            remote: None,
            ssh_key: None,
            https_username: "stargate".into(),
            https_token: None,
            push_timeout_seconds: 30,
            committer_name: "Stargate".into(),
            committer_email: "stargate@localhost".into(),
        }
    }
}

impl IacSettings {
    pub fn repo_path(&self, data_dir: &Path) -> PathBuf {
        self.repo_path
            .clone()
            .unwrap_or_else(|| data_dir.join("iac"))
    }
}
