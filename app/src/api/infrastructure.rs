//! Server functions for the Infrastructure pages: the IaC repository's log, one commit, a
//! cluster's tree, one object's file and history. Inputs are checked by the same `domain`
//! parsers as the REST API's.

use domain::infrastructure::{
    ClusterTree, CommitDetail, CommitLog, IacFile, ObjectHistory, RawCommitLogQuery, RawFileQuery,
    RawHistoryQuery, RawTreeQuery,
};
use leptos::{prelude::*, server_fn::codec::Json};

#[cfg(feature = "ssr")]
use super::{actor, answer, portal};
use crate::error::UiError;

#[server(prefix = "/rpc", endpoint = "iac/commits", input = Json)]
pub async fn iac_commits(query: RawCommitLogQuery) -> Result<CommitLog, UiError> {
    answer(
        async move {
            actor()?;
            let query =
                domain::infrastructure::CommitLogQuery::parse(&query).map_err(UiError::Invalid)?;
            Ok(portal()?.iac_commits(&query).await?)
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "iac/commit", input = Json)]
pub async fn iac_commit(id: String) -> Result<CommitDetail, UiError> {
    answer(
        async move {
            actor()?;
            let id = domain::infrastructure::CommitId::parse("id", &id)
                .map_err(|_| UiError::NotFound(format!("commit {id}")))?;
            Ok(portal()?.iac_commit(&id).await?)
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "iac/tree", input = Json)]
pub async fn iac_tree(query: RawTreeQuery) -> Result<ClusterTree, UiError> {
    answer(
        async move {
            actor()?;
            let query =
                domain::infrastructure::TreeQuery::parse(&query).map_err(UiError::Invalid)?;
            Ok(portal()?.iac_tree(&query).await?)
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "iac/file", input = Json)]
pub async fn iac_object_file(query: RawFileQuery) -> Result<IacFile, UiError> {
    answer(
        async move {
            actor()?;
            let query =
                domain::infrastructure::FileQuery::parse(&query).map_err(UiError::Invalid)?;
            Ok(portal()?.iac_file(&query).await?)
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "iac/history", input = Json)]
pub async fn iac_history(query: RawHistoryQuery) -> Result<ObjectHistory, UiError> {
    answer(
        async move {
            actor()?;
            let path = query.parse().map_err(UiError::Invalid)?;
            Ok(portal()?.iac_history(&path).await?)
        }
        .await,
    )
}
