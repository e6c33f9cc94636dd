//! The portal's operations as one port: pages (server functions) and the REST API call
//! the same implementation, which the server provides.

use async_trait::async_trait;

use serde_json::Value;

use crate::{
    Actor, AuditEvent, AuditQuery, AuthMethod, Certificate, Cluster, Deactivation, FieldErrors,
    Host, NewToken, Page, PageRequest, ServiceDetail, ServiceName, ServiceQuery, ServiceSummary,
    Team, TeamDetail, TeamName, TokenForm, TokenView, UserDetail, UserQuery, UserSummary,
    iac::ObjectPath,
    infrastructure::{
        ClusterTree, CommitDetail, CommitId, CommitLog, CommitLogQuery, FileQuery, IacFile,
        ObjectHistory, TreeQuery,
    },
    request::{
        RequestDetail, RequestEvent, RequestQuery, RequestStatus, RequestSummary,
        bulk::{ApprovalResult, BulkApproval, ReviewItem},
        change::PreparedChange,
        plan::Plan,
    },
};

/// A reviewer's approval or rejection, bound to the plan they were shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub comment: String,
    /// The hash of the plan the reviewer read (`plan.hash` of the request they saw).
    pub plan_hash: String,
}

/// Why a portal operation did not happen. Converted once at each edge (JSON error, page).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortalError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("invalid input: {0}")]
    Invalid(FieldErrors),
    #[error("not allowed: {0}")]
    Forbidden(String),
    /// The operation does not fit the current state (e.g. cancelling an approved request).
    #[error("{0}")]
    Conflict(String),
    /// The reviewer acted on a plan that is no longer the request's: nothing was recorded,
    /// and the current plan comes back to be reviewed.
    #[error("{message}")]
    PlanChanged { message: String, plan: Box<Plan> },
    /// A dependency (the database) failed; details are logged, not shown.
    #[error("the portal could not complete this request; try again shortly")]
    Unavailable,
}

/// Managing tokens needs a browser session, so a leaked token cannot mint itself a
/// longer-lived successor. `via` is how the caller proved who it is.
pub fn require_session(via: Option<AuthMethod>) -> Result<(), PortalError> {
    match via {
        Some(AuthMethod::Session) => Ok(()),
        _ => Err(PortalError::Forbidden(
            "managing tokens needs a browser session, not a token".into(),
        )),
    }
}

impl From<crate::admin::AdminRefusal> for PortalError {
    fn from(refusal: crate::admin::AdminRefusal) -> Self {
        Self::Forbidden(refusal.message().into())
    }
}

#[async_trait]
pub trait Portal: Send + Sync + 'static {
    async fn teams(&self) -> Result<Vec<Team>, PortalError>;

    async fn list_services(
        &self,
        query: &ServiceQuery,
    ) -> Result<Page<ServiceSummary>, PortalError>;

    async fn service(
        &self,
        team: &TeamName,
        name: &ServiceName,
    ) -> Result<ServiceDetail, PortalError>;

    /// Whether the service's objects (Deployment, Service, ExternalSecret, the Ingress of
    /// each host) still hold what was approved, as the last drift check found them (empty
    /// until a check ran).
    async fn service_drift(
        &self,
        team: &TeamName,
        name: &ServiceName,
    ) -> Result<Vec<crate::drift::DriftRecord>, PortalError>;

    async fn team(&self, name: &TeamName) -> Result<TeamDetail, PortalError>;

    async fn clusters(&self) -> Result<Vec<Cluster>, PortalError>;

    /// Cluster names alone, for filters (no per-cluster counting).
    async fn cluster_names(&self) -> Result<Vec<String>, PortalError>;

    async fn hosts(&self, page: PageRequest) -> Result<Page<Host>, PortalError>;

    async fn certificates(&self, page: PageRequest) -> Result<Page<Certificate>, PortalError>;

    /// The actor's own personal access tokens that still work.
    async fn tokens(&self, actor: &Actor) -> Result<Vec<TokenView>, PortalError>;

    /// A new token for the actor, checked against the configured maximum lifetime.
    async fn create_token(&self, actor: &Actor, form: &TokenForm) -> Result<NewToken, PortalError>;

    /// Revokes one of the actor's own tokens; `NotFound` for anyone else's.
    async fn revoke_token(&self, actor: &Actor, id: i64) -> Result<(), PortalError>;

    /// Validates, renders and plans a request without storing it (the form's preview).
    async fn preview_request(
        &self,
        actor: &Actor,
        input: &Value,
    ) -> Result<PreparedChange, PortalError>;

    /// Stores a request for review: 403 outside the actor's teams, `Invalid` with every
    /// field error otherwise.
    async fn submit_request(
        &self,
        actor: &Actor,
        input: &Value,
    ) -> Result<RequestDetail, PortalError>;

    async fn list_requests(
        &self,
        actor: &Actor,
        query: &RequestQuery,
    ) -> Result<Page<RequestSummary>, PortalError>;

    async fn request(&self, actor: &Actor, id: i64) -> Result<RequestDetail, PortalError>;

    /// The body that would request the approved state of `team`'s object `name` (of
    /// `kind`) again: where a change starts. `None` when no applied request made it.
    async fn approved_input(
        &self,
        actor: &Actor,
        kind: crate::request::RequestKind,
        team: &str,
        name: &str,
    ) -> Result<Option<serde_json::Value>, PortalError>;

    /// The requester withdraws a request still pending review.
    async fn cancel_request(&self, actor: &Actor, id: i64) -> Result<RequestDetail, PortalError>;

    /// A lead (or admin) approves the current plan; enough approvals queue the request.
    async fn approve_request(
        &self,
        actor: &Actor,
        id: i64,
        review: &Review,
    ) -> Result<RequestDetail, PortalError>;

    /// A lead (or admin) rejects, saying why.
    async fn reject_request(
        &self,
        actor: &Actor,
        id: i64,
        review: &Review,
    ) -> Result<RequestDetail, PortalError>;

    /// A lead (or admin) puts a failed request back in the queue, or back to review when
    /// applying it now would change something else than what was approved.
    async fn retry_request(&self, actor: &Actor, id: i64) -> Result<RequestDetail, PortalError>;

    /// The request's timeline entries after `after` (an event id), oldest first: what a
    /// live view streams.
    async fn request_events_after(
        &self,
        actor: &Actor,
        id: i64,
        after: i64,
    ) -> Result<(RequestStatus, Vec<RequestEvent>), PortalError>;

    /// Anyone who can read the request comments on it.
    async fn comment_on_request(
        &self,
        actor: &Actor,
        id: i64,
        comment: &str,
    ) -> Result<RequestDetail, PortalError>;

    /// Requests waiting for the actor's review, oldest first, each with the hash of the
    /// plan a bulk approval binds to.
    async fn review_queue(&self, actor: &Actor) -> Result<Vec<ReviewItem>, PortalError>;

    /// Approves each listed request as `approve_request` would, bound to its own plan hash,
    /// and says per request what became of it: one refused item leaves the others alone.
    /// `Forbidden` as a whole only for a token that may not approve at all.
    async fn approve_requests(
        &self,
        actor: &Actor,
        approvals: &BulkApproval,
    ) -> Result<Vec<ApprovalResult>, PortalError>;

    /// People, by email, with their session and token counts; for admins only.
    async fn list_users(
        &self,
        actor: &Actor,
        query: &UserQuery,
    ) -> Result<Page<UserSummary>, PortalError>;

    /// One person with their sessions and tokens; for admins only.
    async fn user(&self, actor: &Actor, id: i64) -> Result<UserDetail, PortalError>;

    /// Deactivates someone: their sessions end and their tokens are revoked, at once and in
    /// every process, and they cannot sign in again. `Conflict` when already deactivated.
    async fn deactivate_user(&self, actor: &Actor, id: i64) -> Result<Deactivation, PortalError>;

    /// Lets a deactivated person sign in again (their old tokens stay revoked).
    async fn reactivate_user(&self, actor: &Actor, id: i64) -> Result<UserSummary, PortalError>;

    /// An admin revokes anyone's token; `NotFound` unless it is live.
    async fn revoke_any_token(&self, actor: &Actor, id: i64) -> Result<(), PortalError>;

    /// The audit log, newest first, filtered; for admins only.
    async fn audit_log(
        &self,
        actor: &Actor,
        query: &AuditQuery,
    ) -> Result<Page<AuditEvent>, PortalError>;

    /// The IaC branch's commits, newest first (only those that changed one cluster's
    /// folder, if asked). Anyone signed in may browse the repository, as the catalog.
    async fn iac_commits(&self, query: &CommitLogQuery) -> Result<CommitLog, PortalError>;

    /// One commit of the branch with its message and per-file diffs; `NotFound` for an id
    /// that names no commit on the branch.
    async fn iac_commit(&self, id: &CommitId) -> Result<CommitDetail, PortalError>;

    /// A cluster's objects at a commit (the tip by default).
    async fn iac_tree(&self, query: &TreeQuery) -> Result<ClusterTree, PortalError>;

    /// One object's file at a commit (the tip by default).
    async fn iac_file(&self, query: &FileQuery) -> Result<IacFile, PortalError>;

    /// The commits that changed one object's file, newest first, each with its diff.
    async fn iac_history(&self, path: &ObjectPath) -> Result<ObjectHistory, PortalError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_browser_session_manages_tokens() {
        assert_eq!(require_session(Some(AuthMethod::Session)), Ok(()));
        for via in [Some(AuthMethod::Token), None] {
            assert!(
                matches!(require_session(via), Err(PortalError::Forbidden(why)) if why.contains("browser session")),
                "{via:?}"
            );
        }
    }
}
