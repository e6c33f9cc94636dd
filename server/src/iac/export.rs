//! `stargate export` and `stargate iac verify`: the applied state recorded in the database,
//! written out in the repository's layout (to bootstrap a GitOps repository or restore one),
//! and compared with the repository's tip.

use std::path::Path;

use domain::iac::{TreeDifference, compare_trees, tree_files};

use super::{IacError, IacRepo};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Iac(#[from] IacError),
    #[error("{path}: {message}")]
    Folder { path: String, message: String },
}

/// What an export wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exported {
    pub objects: usize,
    pub clusters: usize,
}

/// Writes every applied object (of `cluster`, or of all) under `dir`, which must be empty
/// or not exist yet: files from an older state are never mixed in.
pub async fn export(
    store: &Store,
    cluster: Option<&str>,
    dir: &Path,
) -> Result<Exported, ExportError> {
    let folder = |message: String| ExportError::Folder {
        path: dir.display().to_string(),
        message,
    };
    if std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(folder(
            "is not empty; export writes into an empty folder".into(),
        ));
    }
    let objects = store.applied_state(cluster, false).await?;
    let files = tree_files(&objects).map_err(IacError::from)?;
    for (path, text) in &files {
        let file = dir.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).map_err(|e| folder(e.to_string()))?;
        }
        std::fs::write(&file, text).map_err(|e| folder(e.to_string()))?;
    }
    let mut clusters: Vec<&str> = objects.iter().map(|(c, _)| c.as_str()).collect();
    clusters.dedup();
    Ok(Exported {
        objects: files.len(),
        clusters: clusters.len(),
    })
}

/// Every difference between the repository's tip and the applied state in the database.
pub async fn verify(store: &Store, repo: &IacRepo) -> Result<Vec<TreeDifference>, ExportError> {
    let applied = tree_files(&store.applied_state(None, false).await?).map_err(IacError::from)?;
    let committed = repo.files_at_tip().await?;
    Ok(compare_trees(&applied, &committed))
}
