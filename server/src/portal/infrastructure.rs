//! Browsing the IaC repository. Anyone signed in may read it, as they may the catalog:
//! it holds what was approved and applied, nothing secret (secrets stay in the cluster).

use domain::{PortalError, iac::ObjectPath, infrastructure::*};

use super::PortalService;
use crate::iac::IacError;

/// A missing commit or file is the caller's 404; a repository that cannot be read is
/// logged with its detail and shown as "unavailable", like a database that fails.
fn refused(error: IacError) -> PortalError {
    match error {
        IacError::NotFound(what) => PortalError::NotFound(what),
        other => {
            tracing::error!(error = %other, "reading the IaC repository failed");
            PortalError::Unavailable
        }
    }
}

impl PortalService {
    pub(super) async fn commits(&self, query: &CommitLogQuery) -> Result<CommitLog, PortalError> {
        self.iac.log(query.clone()).await.map_err(refused)
    }

    pub(super) async fn commit(&self, id: &CommitId) -> Result<CommitDetail, PortalError> {
        self.iac.commit_detail(id.clone()).await.map_err(refused)
    }

    pub(super) async fn tree(&self, query: &TreeQuery) -> Result<ClusterTree, PortalError> {
        self.iac.tree(query.clone()).await.map_err(refused)
    }

    pub(super) async fn file(&self, query: &FileQuery) -> Result<IacFile, PortalError> {
        self.iac.file(query.clone()).await.map_err(refused)
    }

    pub(super) async fn history(&self, path: &ObjectPath) -> Result<ObjectHistory, PortalError> {
        self.iac.history(path.clone()).await.map_err(refused)
    }
}
