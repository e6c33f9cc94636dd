//! Request operations: check, render and plan a request; store it; read, list, cancel.

use std::collections::HashMap;

use domain::{
    Actor, FieldError, FieldErrors, Page, PortalError, TeamName,
    request::{
        NewRequest, RequestDetail, RequestKind, RequestQuery, RequestSpec, RequestSummary,
        change::{PrepareError, PreparedChange, RenderedChange, prepare, render_change},
        lifecycle::{RequestFacts, ReviewPolicy, offers},
        render::RenderContext,
        rules::CatalogSnapshot,
        view::Approval,
    },
};
use serde_json::Value;

use super::{PortalService, unavailable, user_of};
use crate::{
    config::Settings,
    store::{AppliedObjects, RequestRecord, StoreError, TeamRules},
};

/// What configuration says about a team's requests.
#[derive(Debug, Clone)]
pub struct TeamPolicy {
    pub namespace: String,
    pub allowed_domains: Vec<String>,
    pub allowed_issuers: Vec<String>,
    pub required_approvals: u32,
}

impl TeamPolicy {
    /// What the rules read of the team's configuration.
    pub fn rules(&self) -> TeamRules {
        TeamRules {
            allowed_domains: self.allowed_domains.clone(),
            allowed_issuers: self.allowed_issuers.clone(),
        }
    }
}

/// Teams and clusters requests may name, from configuration.
#[derive(Debug, Clone, Default)]
pub struct RequestPolicy {
    pub teams: HashMap<TeamName, TeamPolicy>,
    pub clusters: Vec<String>,
}

impl RequestPolicy {
    /// Teams whose names are not valid were refused when the settings were checked.
    pub fn from_settings(settings: &Settings) -> Self {
        let teams = settings
            .teams
            .iter()
            .filter_map(|t| {
                let name = TeamName::parse("teams.name", &t.name).ok()?;
                Some((
                    name,
                    TeamPolicy {
                        namespace: t.namespace(),
                        allowed_domains: t.allowed_domains.clone(),
                        allowed_issuers: t.allowed_issuers.clone(),
                        required_approvals: t.required_approvals,
                    },
                ))
            })
            .collect();
        Self {
            teams,
            clusters: settings.clusters.iter().map(|c| c.name.clone()).collect(),
        }
    }
}

/// A request that passed every check, with what planning it needs.
struct Checked {
    request: NewRequest,
    namespace: String,
    snapshot: CatalogSnapshot,
    rendered: RenderedChange,
    live: AppliedObjects,
}

/// Submitting, cancelling and commenting need a credential with the `request` scope.
pub(super) fn needs_request_scope(actor: &Actor, what: &str) -> Result<(), PortalError> {
    if actor.scopes.request {
        Ok(())
    } else {
        Err(PortalError::Forbidden(format!(
            "this access token may not {what}: it lacks the \"request\" scope"
        )))
    }
}

fn invalid(path: &str, message: String) -> PortalError {
    PortalError::Invalid(FieldErrors(vec![FieldError::new(path, message)]))
}

pub(super) fn render_failed(error: impl std::fmt::Display) -> PortalError {
    tracing::error!(error = %error, "rendering a checked request failed");
    PortalError::Unavailable
}

impl PortalService {
    /// Authorization first (so a stranger learns nothing of another team's catalog), then
    /// the request on its own, then the rules against the catalog.
    async fn check(&self, actor: &Actor, input: &Value) -> Result<Checked, PortalError> {
        let team = input
            .get("team")
            .and_then(Value::as_str)
            .and_then(|t| TeamName::parse("team", t).ok());
        // Taking over what was never Stargate's is a platform decision: admins only, for
        // any team (a lead of the team still reviews it).
        let importing = input.get("kind").and_then(Value::as_str) == Some("import");
        if importing && !actor.admin {
            return Err(PortalError::Forbidden(
                "only an admin may import a namespace's existing objects".into(),
            ));
        }
        if let Some(team) = &team
            && !importing
            && !actor.may_request_for(team)
        {
            return Err(PortalError::Forbidden(format!(
                "you are not a member of team {team}, so you cannot request for it"
            )));
        }
        let request = NewRequest::parse(input).map_err(PortalError::Invalid)?;
        let policy = self.policy.teams.get(&request.team).ok_or_else(|| {
            PortalError::Forbidden(format!("team {} is not configured", request.team))
        })?;
        if !self.policy.clusters.contains(&request.cluster) {
            return Err(invalid(
                "cluster",
                format!(
                    "no cluster is named {:?}; choose one of {}",
                    request.cluster,
                    self.policy.clusters.join(", ")
                ),
            ));
        }
        let mut snapshot = self
            .store
            .catalog_snapshot(&request, policy.rules(), None)
            .await
            .map_err(unavailable)?;
        if let RequestSpec::Import(spec) = &request.spec {
            // A dry-run or unreachable cluster is a 422 naming it: nothing is stored.
            snapshot.namespace_objects = self
                .replanner
                .read_namespace(&request.cluster, &spec.namespace)
                .await
                .map_err(|error| invalid("cluster", error.to_string()))?;
        }
        let ctx = RenderContext {
            team: request.team.clone(),
            namespace: policy.namespace.clone(),
            request_id: "new".into(),
        };
        let rendered = render_change(&request, &ctx, &snapshot).map_err(PortalError::Invalid)?;
        let live = self
            .store
            .applied_objects(&request.cluster, rendered.keys())
            .await
            .map_err(unavailable)?;
        Ok(Checked {
            request,
            namespace: policy.namespace.clone(),
            snapshot,
            rendered,
            live,
        })
    }

    pub(super) async fn preview(
        &self,
        actor: &Actor,
        input: &Value,
    ) -> Result<PreparedChange, PortalError> {
        let checked = self.check(actor, input).await?;
        prepare(checked.rendered, &checked.live).map_err(render_failed)
    }

    pub(super) async fn submit(
        &self,
        actor: &Actor,
        input: &Value,
    ) -> Result<RequestDetail, PortalError> {
        needs_request_scope(actor, "submit")?;
        let checked = self.check(actor, input).await?;
        let Checked {
            request,
            namespace,
            snapshot,
            live,
            ..
        } = checked;
        // Rendered again with the id it gets, which labels every object.
        let render = |id: i64| {
            let ctx = RenderContext {
                team: request.team.clone(),
                namespace,
                request_id: id.to_string(),
            };
            let rendered =
                render_change(&request, &ctx, &snapshot).map_err(PrepareError::Invalid)?;
            Ok::<_, PrepareError>(prepare(rendered, &live)?)
        };
        let id = self
            .store
            .submit_request(&user_of(actor), &request, render)
            .await
            .map_err(|error| match error {
                // Another request took the host between our check and our write.
                StoreError::HostHeld(host) => invalid(
                    "spec.host",
                    format!(
                        "{host} was just requested by another request, which holds it until it is rejected, cancelled or fails; a host belongs to one ingress"
                    ),
                ),
                StoreError::ExternalPortHeld(port) => invalid(
                    "spec.external_port",
                    format!(
                        "{port} of ingress-nginx was just requested by another request, which holds it until it is rejected, cancelled or fails; an external port has one owner"
                    ),
                ),
                other => unavailable(other),
            })?;
        tracing::info!(request = id, team = %request.team, kind = %request.spec.kind(), "request submitted");
        self.read(actor, id).await
    }

    pub(super) async fn list(
        &self,
        actor: &Actor,
        query: &RequestQuery,
    ) -> Result<Page<RequestSummary>, PortalError> {
        self.store
            .list_requests(query, actor.user_id)
            .await
            .map_err(unavailable)
    }

    pub(super) async fn record(&self, id: i64) -> Result<RequestRecord, PortalError> {
        self.store
            .request(id)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| PortalError::NotFound(format!("request {id}")))
    }

    /// Everyone signed in may read requests: reviews happen in the open, like pull requests.
    pub(super) async fn read(&self, actor: &Actor, id: i64) -> Result<RequestDetail, PortalError> {
        let record = self.record(id).await?;
        let (events, approvals) = tokio::try_join!(
            self.store.request_events(id),
            self.store.approvals(id, &record.plan.hash),
        )
        .map_err(unavailable)?;
        let approved_by: Vec<i64> = approvals.iter().map(|a| a.user_id).collect();
        let policy = self.review_policy(&record.summary.team);
        let facts = RequestFacts {
            status: record.summary.status,
            team: &record.summary.team,
            requester_id: record.requester_id,
            approved_by: &approved_by,
        };
        // The buttons a page shows are the steps `decide` would allow.
        let offered = offers(&facts, actor, policy);
        Ok(RequestDetail {
            required_approvals: policy.required_approvals.max(1),
            approvals: approvals
                .into_iter()
                .map(|a| Approval {
                    by: a.email,
                    name: a.name,
                    comment: a.comment,
                    at: a.at,
                })
                .collect(),
            request: record.summary,
            spec: record.spec,
            manifests: record.manifests,
            plan: record.plan,
            notes: record.notes,
            events,
            may_cancel: offered.cancel,
            may_review: offered.review,
            may_retry: offered.retry,
        })
    }

    /// Everyone signed in may read requests, so anyone may start a change from one.
    pub(super) async fn approved(
        &self,
        _actor: &Actor,
        kind: RequestKind,
        team: &str,
        name: &str,
    ) -> Result<Option<Value>, PortalError> {
        let Some(id) = self
            .store
            .latest_applied(kind, team, name)
            .await
            .map_err(unavailable)?
        else {
            return Ok(None);
        };
        let record = self.record(id).await?;
        let summary = &record.summary;
        // An adopt approved the service's spec its plan holds (the live values).
        let spec = match (&summary.kind, &record.plan.adopted) {
            (RequestKind::Adopt, Some(adopted)) => {
                serde_json::to_value(adopted).map_err(render_failed)?
            }
            _ => record.spec,
        };
        Ok(Some(serde_json::json!({
            "kind": kind, "team": summary.team, "cluster": summary.cluster,
            "reason": "", "spec": spec,
        })))
    }

    pub(super) fn review_policy(&self, team: &TeamName) -> ReviewPolicy {
        ReviewPolicy {
            required_approvals: self
                .policy
                .teams
                .get(team)
                .map_or(1, |t| t.required_approvals.max(1)),
        }
    }
}
