//! The portal's operations over the store: the one service layer behind pages and API.

use async_trait::async_trait;
use domain::{
    Page, Portal, PortalError, Review, ServiceDetail, ServiceName, ServiceQuery, ServiceSummary,
    Team, TeamName,
};

use std::{sync::Arc, time::Duration};

use domain::{
    Actor, AuditEvent, AuditQuery, Certificate, Cluster, Deactivation, Host, NewToken, PageRequest,
    TeamDetail, TokenForm, TokenRequest, TokenView, UserDetail, UserQuery, UserSummary,
};

use domain::{
    iac::ObjectPath,
    infrastructure::{
        ClusterTree, CommitDetail, CommitId, CommitLog, CommitLogQuery, FileQuery, IacFile,
        ObjectHistory, TreeQuery,
    },
};

use domain::request::{
    RequestDetail, RequestEvent, RequestQuery, RequestStatus, RequestSummary,
    bulk::{ApprovalResult, BulkApproval, ReviewItem},
    change::PreparedChange,
    lifecycle::Action,
};
use serde_json::Value;

use crate::{
    auth::Auth,
    iac::IacRepo,
    store::{Store, StoreError, UserRecord},
};

mod audit;
mod import;
mod infrastructure;
mod read_model;
mod replan;
mod requests;
mod reviews;
mod users;

use read_model::CatalogReadModel;

pub use replan::{Recheck, Replanner};
pub use requests::{RequestPolicy, TeamPolicy};

#[derive(Clone)]
pub struct PortalService {
    store: Store,
    auth: Arc<Auth>,
    policy: Arc<RequestPolicy>,
    replanner: Replanner,
    read_model: Arc<CatalogReadModel>,
    /// Wakes this process's worker when a request is queued.
    wake: Arc<tokio::sync::Notify>,
    /// The repository of applied changes, read by the infrastructure pages.
    iac: IacRepo,
}

impl PortalService {
    pub fn new(
        store: Store,
        auth: Arc<Auth>,
        policy: Arc<RequestPolicy>,
        wake: Arc<tokio::sync::Notify>,
        iac: IacRepo,
        clusters: Arc<crate::apply::Clusters>,
    ) -> Self {
        Self {
            read_model: Arc::new(CatalogReadModel::new(store.data_version())),
            replanner: Replanner::new(store.clone(), policy.clone(), clusters),
            store,
            auth,
            policy,
            wake,
            iac,
        }
    }
}

fn user_of(actor: &Actor) -> UserRecord {
    UserRecord {
        id: actor.user_id,
        email: actor.email.clone(),
        name: actor.name.clone(),
        groups: actor.groups.clone(),
        groups_at: None,
    }
}

/// Storage failures are logged with their detail and shown to users only as "unavailable".
fn unavailable(error: StoreError) -> PortalError {
    tracing::error!(error = %error, "storage failed");
    PortalError::Unavailable
}

#[async_trait]
impl Portal for PortalService {
    #[tracing::instrument(skip(self))]
    async fn teams(&self) -> Result<Vec<Team>, PortalError> {
        let model = &self.read_model;
        let teams = model.read_present(&model.teams, (), self.store.teams());
        teams.await.map_err(unavailable)
    }

    #[tracing::instrument(skip(self))]
    async fn list_services(
        &self,
        query: &ServiceQuery,
    ) -> Result<Page<ServiceSummary>, PortalError> {
        self.store.list_services(query).await.map_err(unavailable)
    }

    #[tracing::instrument(skip(self))]
    async fn service(
        &self,
        team: &TeamName,
        name: &ServiceName,
    ) -> Result<ServiceDetail, PortalError> {
        let model = &self.read_model;
        let key = (team.clone(), name.clone());
        let leads = self.auth.lead_groups(team);
        let load = self.store.service_detail(team, name, &leads);
        model
            .read(&model.details, key, load)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| PortalError::NotFound(format!("service {team}/{name}")))
    }

    #[tracing::instrument(skip(self))]
    async fn service_drift(
        &self,
        team: &TeamName,
        name: &ServiceName,
    ) -> Result<Vec<domain::drift::DriftRecord>, PortalError> {
        let service = self.service(team, name).await?;
        let records = self
            .store
            .drift_in(&service.cluster, &service.namespace)
            .await
            .map_err(unavailable)?;
        let hosts: Vec<String> = service.hosts.iter().map(|h| h.host.clone()).collect();
        // And the certificates the page lists (its hosts'), whose list rows link here.
        let certificate = |kind: &str, object: &str| {
            kind == "Certificate" && service.certificates.iter().any(|c| c.name == object)
        };
        Ok(records
            .into_iter()
            .filter(|r| {
                domain::drift::of_service(&r.kind, &r.name, name.as_str(), &hosts)
                    || certificate(&r.kind, &r.name)
            })
            .collect())
    }

    #[tracing::instrument(skip(self))]
    async fn team(&self, name: &TeamName) -> Result<TeamDetail, PortalError> {
        let team = self
            .teams()
            .await?
            .into_iter()
            .find(|t| &t.name == name)
            .ok_or_else(|| PortalError::NotFound(format!("team {name}")))?;
        let leads = self
            .store
            .users_in_groups(&self.auth.lead_groups(name))
            .await
            .map_err(unavailable)?;
        let members = self
            .store
            .users_in_groups(&self.auth.member_groups(name))
            .await
            .map_err(unavailable)?
            .into_iter()
            .filter(|m| !leads.contains(m))
            .collect();
        let services = self
            .store
            .count_services_of(name)
            .await
            .map_err(unavailable)?;
        Ok(TeamDetail {
            team,
            leads,
            members,
            services,
        })
    }

    #[tracing::instrument(skip(self))]
    async fn clusters(&self) -> Result<Vec<Cluster>, PortalError> {
        self.store.clusters().await.map_err(unavailable)
    }

    #[tracing::instrument(skip(self))]
    async fn cluster_names(&self) -> Result<Vec<String>, PortalError> {
        let model = &self.read_model;
        let names = model.read_present(&model.cluster_names, (), self.store.cluster_names());
        names.await.map_err(unavailable)
    }

    #[tracing::instrument(skip(self))]
    async fn hosts(&self, page: PageRequest) -> Result<Page<Host>, PortalError> {
        self.store.hosts(page).await.map_err(unavailable)
    }

    #[tracing::instrument(skip(self))]
    async fn certificates(&self, page: PageRequest) -> Result<Page<Certificate>, PortalError> {
        self.store.certificates(page).await.map_err(unavailable)
    }

    #[tracing::instrument(skip(self, actor), fields(user = %actor.email))]
    async fn tokens(&self, actor: &Actor) -> Result<Vec<TokenView>, PortalError> {
        let tokens = self
            .store
            .tokens(actor.user_id)
            .await
            .map_err(unavailable)?;
        Ok(tokens
            .into_iter()
            .map(|t| TokenView {
                id: t.id,
                name: t.name,
                created_at: t.created_at,
                expires_at: t.expires_at,
                last_used_at: t.last_used_at,
                scopes: t.scopes,
            })
            .collect())
    }

    #[tracing::instrument(skip(self, actor), fields(user = %actor.email))]
    async fn create_token(&self, actor: &Actor, form: &TokenForm) -> Result<NewToken, PortalError> {
        let request = TokenRequest::parse(
            &form.name,
            &form.expires_in_days,
            &form.scopes,
            self.auth.token_max_days(),
        )
        .map_err(PortalError::Invalid)?;
        let expires = Duration::from_secs(u64::from(request.expires_in_days) * 86_400);
        let (id, token) = self
            .auth
            .issue_token(&user_of(actor), &request.name, expires, request.scopes)
            .await
            .map_err(unavailable)?;
        Ok(NewToken {
            id,
            name: request.name,
            token,
        })
    }

    #[tracing::instrument(skip(self, actor), fields(user = %actor.email))]
    async fn revoke_token(&self, actor: &Actor, id: i64) -> Result<(), PortalError> {
        let revoked = self
            .store
            .revoke_token(&user_of(actor), id)
            .await
            .map_err(unavailable)?;
        if revoked {
            self.auth.forget_verified_tokens();
            Ok(())
        } else {
            Err(PortalError::NotFound(format!("token {id}")))
        }
    }

    #[tracing::instrument(skip(self, actor, input), fields(user = %actor.email))]
    async fn preview_request(
        &self,
        actor: &Actor,
        input: &Value,
    ) -> Result<PreparedChange, PortalError> {
        self.preview(actor, input).await
    }

    #[tracing::instrument(skip(self, actor, input), fields(user = %actor.email))]
    async fn submit_request(
        &self,
        actor: &Actor,
        input: &Value,
    ) -> Result<RequestDetail, PortalError> {
        self.submit(actor, input).await
    }

    #[tracing::instrument(skip(self, actor), fields(user = %actor.email))]
    async fn list_requests(
        &self,
        actor: &Actor,
        query: &RequestQuery,
    ) -> Result<Page<RequestSummary>, PortalError> {
        self.list(actor, query).await
    }

    #[tracing::instrument(skip(self, actor), fields(user = %actor.email))]
    async fn request(&self, actor: &Actor, id: i64) -> Result<RequestDetail, PortalError> {
        self.read(actor, id).await
    }

    #[tracing::instrument(skip(self, actor), fields(user = %actor.email))]
    async fn approved_input(
        &self,
        actor: &Actor,
        kind: domain::request::RequestKind,
        team: &str,
        name: &str,
    ) -> Result<Option<Value>, PortalError> {
        self.approved(actor, kind, team, name).await
    }

    #[tracing::instrument(skip(self, actor), fields(user = %actor.email))]
    async fn cancel_request(&self, actor: &Actor, id: i64) -> Result<RequestDetail, PortalError> {
        self.act(actor, id, Action::Cancel, None).await
    }

    #[tracing::instrument(skip(self, actor, review), fields(user = %actor.email))]
    async fn approve_request(
        &self,
        actor: &Actor,
        id: i64,
        review: &Review,
    ) -> Result<RequestDetail, PortalError> {
        let comment = review.comment.clone();
        self.act(
            actor,
            id,
            Action::Approve { comment },
            Some(&review.plan_hash),
        )
        .await
    }

    #[tracing::instrument(skip(self, actor, review), fields(user = %actor.email))]
    async fn reject_request(
        &self,
        actor: &Actor,
        id: i64,
        review: &Review,
    ) -> Result<RequestDetail, PortalError> {
        let comment = review.comment.clone();
        self.act(
            actor,
            id,
            Action::Reject { comment },
            Some(&review.plan_hash),
        )
        .await
    }

    #[tracing::instrument(skip(self, actor), fields(user = %actor.email))]
    async fn retry_request(&self, actor: &Actor, id: i64) -> Result<RequestDetail, PortalError> {
        let retry = Action::Retry {
            plan_changed: false,
        };
        self.act(actor, id, retry, None).await
    }

    async fn request_events_after(
        &self,
        _actor: &Actor,
        id: i64,
        after: i64,
    ) -> Result<(RequestStatus, Vec<RequestEvent>), PortalError> {
        let status = self
            .store
            .request_status(id)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| PortalError::NotFound(format!("request {id}")))?;
        let events = self
            .store
            .request_events_after(id, after)
            .await
            .map_err(unavailable)?;
        Ok((status, events))
    }

    #[tracing::instrument(skip(self, actor, comment), fields(user = %actor.email))]
    async fn comment_on_request(
        &self,
        actor: &Actor,
        id: i64,
        comment: &str,
    ) -> Result<RequestDetail, PortalError> {
        self.comment(actor, id, comment).await
    }

    #[tracing::instrument(skip(self, actor), fields(user = %actor.email))]
    async fn review_queue(&self, actor: &Actor) -> Result<Vec<ReviewItem>, PortalError> {
        self.queue_for(actor).await
    }

    #[tracing::instrument(skip(self, actor, approvals), fields(user = %actor.email, count = approvals.items().len()))]
    async fn approve_requests(
        &self,
        actor: &Actor,
        approvals: &BulkApproval,
    ) -> Result<Vec<ApprovalResult>, PortalError> {
        self.approve_many(actor, approvals).await
    }

    #[tracing::instrument(skip(self, actor), fields(user = %actor.email))]
    async fn list_users(
        &self,
        actor: &Actor,
        query: &UserQuery,
    ) -> Result<Page<UserSummary>, PortalError> {
        self.users(actor, query).await
    }

    #[tracing::instrument(skip(self, actor), fields(user = %actor.email))]
    async fn user(&self, actor: &Actor, id: i64) -> Result<UserDetail, PortalError> {
        self.user_detail(actor, id).await
    }

    #[tracing::instrument(skip(self, actor), fields(user = %actor.email))]
    async fn deactivate_user(&self, actor: &Actor, id: i64) -> Result<Deactivation, PortalError> {
        self.deactivate(actor, id).await
    }

    #[tracing::instrument(skip(self, actor), fields(user = %actor.email))]
    async fn reactivate_user(&self, actor: &Actor, id: i64) -> Result<UserSummary, PortalError> {
        self.reactivate(actor, id).await
    }

    #[tracing::instrument(skip(self, actor), fields(user = %actor.email))]
    async fn revoke_any_token(&self, actor: &Actor, id: i64) -> Result<(), PortalError> {
        self.revoke_for_admin(actor, id).await
    }

    #[tracing::instrument(skip(self, actor), fields(user = %actor.email))]
    async fn audit_log(
        &self,
        actor: &Actor,
        query: &AuditQuery,
    ) -> Result<Page<AuditEvent>, PortalError> {
        self.audit(actor, query).await
    }

    #[tracing::instrument(skip(self))]
    async fn iac_commits(&self, query: &CommitLogQuery) -> Result<CommitLog, PortalError> {
        self.commits(query).await
    }

    #[tracing::instrument(skip(self))]
    async fn iac_commit(&self, id: &CommitId) -> Result<CommitDetail, PortalError> {
        self.commit(id).await
    }

    #[tracing::instrument(skip(self))]
    async fn iac_tree(&self, query: &TreeQuery) -> Result<ClusterTree, PortalError> {
        self.tree(query).await
    }

    #[tracing::instrument(skip(self))]
    async fn iac_file(&self, query: &FileQuery) -> Result<IacFile, PortalError> {
        self.file(query).await
    }

    #[tracing::instrument(skip(self))]
    async fn iac_history(&self, path: &ObjectPath) -> Result<ObjectHistory, PortalError> {
        self.history(path).await
    }
}
