//! What the IaC repository needs from the database: the facts a commit names, the applied
//! requests in the order they were applied, and the commit each is recorded with.

use domain::iac::{CommitFacts, Person};
use sqlx::Row;

use super::{RequestRecord, Store, StoreError};

/// An applied request, as the repository's catch-up reads it.
#[derive(Debug, Clone)]
pub struct AppliedRequest {
    pub id: i64,
    pub iac_commit: Option<String>,
}

impl Store {
    /// What the commit for `record` says: the request, its requester and the people who
    /// approved its plan.
    pub async fn commit_facts(
        &self,
        record: &RequestRecord,
        public_url: &str,
        dry_run: bool,
    ) -> Result<CommitFacts, StoreError> {
        let summary = &record.summary;
        let approvers = self
            .approvals(summary.id, &record.plan.hash)
            .await?
            .into_iter()
            .map(|a| Person {
                name: a.name,
                email: a.email,
            })
            .collect();
        Ok(CommitFacts {
            request_id: summary.id,
            kind: summary.kind.as_str().to_owned(),
            title: summary.title.clone(),
            team: summary.team.to_string(),
            cluster: summary.cluster.clone(),
            dry_run,
            link: format!(
                "{}/requests/{}",
                public_url.trim_end_matches('/'),
                summary.id
            ),
            reason: summary.reason.clone(),
            requester: Person {
                name: summary.requester_name.clone(),
                email: summary.requester.clone(),
            },
            approvers,
        })
    }

    /// Every applied request, in the order it was applied.
    pub async fn applied_in_order(&self) -> Result<Vec<AppliedRequest>, StoreError> {
        sqlx::query(
            "SELECT id, iac_commit FROM requests WHERE status = 'applied'
             ORDER BY applied_at, id",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(AppliedRequest {
                id: row.try_get("id")?,
                iac_commit: row.try_get("iac_commit")?,
            })
        })
        .collect()
    }

    /// Records `commit` as the one that holds applied request `id`.
    pub async fn record_iac_commit(
        &self,
        id: i64,
        commit: &str,
        actor: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE requests SET iac_commit = $1 WHERE id = $2 AND status = 'applied'")
            .bind(commit)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        super::auth::audit_for_team(
            &mut tx,
            actor,
            "iac.commit_recorded",
            &super::requests::subject(id),
            None,
            serde_json::json!({ "commit": commit }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
