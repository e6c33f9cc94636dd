//! What the worker writes: a request starting to apply, its progress, and its end — each
//! end in one transaction with the job, the objects as applied, the catalog and the audit
//! event. Every write is conditional on the worker still holding the job's lease, so a
//! worker that lost its lease cannot overwrite the one that took over, and every state
//! change is the compare-and-set of a step `decide` allowed.

use domain::request::{
    ExposureSpec, ExposureVia, RequestSpec, RequestStatus, ServiceSpec,
    change::PreparedChange,
    plan::{Change, Plan},
};
use serde_json::Value;

use super::{
    ClaimedJob, RequestRecord, Store, StoreError,
    applied::{forget_objects, record_objects},
    auth::audit_for_team,
    drift::clear_restored,
    lifecycle::{Move, move_request, with_to},
    now, now_plus,
    progress::{ProgressEvent, append_progress},
    requests::subject,
};

/// A job's objects: those to apply (server-side apply), then those to delete (a
/// decommission's, in order).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobObjects {
    pub apply: Vec<Value>,
    pub delete: Vec<Value>,
}

impl JobObjects {
    /// Splits the approved manifest documents by the plan: the i-th document is the plan's
    /// i-th object, deleted when the plan says so. Only a decommission deletes, so any other
    /// request applies every document as before.
    pub fn split(spec: &RequestSpec, plan: &Plan, documents: Vec<Value>) -> Result<Self, String> {
        if !matches!(spec, RequestSpec::Decommission(_)) {
            return Ok(Self {
                apply: documents,
                delete: Vec::new(),
            });
        }
        if plan.objects.len() != documents.len() {
            return Err(format!(
                "the approved manifests hold {} objects, the plan {}",
                documents.len(),
                plan.objects.len()
            ));
        }
        let mut objects = Self::default();
        for (planned, document) in plan.objects.iter().zip(documents) {
            if planned.change == Change::Delete {
                objects.delete.push(document);
            } else {
                objects.apply.push(document);
            }
        }
        Ok(objects)
    }

    pub fn len(&self) -> usize {
        self.apply.len() + self.delete.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The request a job applies, as the worker needs it.
#[derive(Debug, Clone)]
pub struct JobRequest<'a> {
    pub id: i64,
    pub team: &'a str,
    pub cluster: &'a str,
    pub spec: &'a RequestSpec,
    /// An adopt's new spec of its service, as its approved plan holds it.
    pub adopted: Option<&'a ServiceSpec>,
    /// An import's entries, as its approved plan holds them.
    pub imported: Option<&'a domain::import::ImportMap>,
}

impl<'a> JobRequest<'a> {
    /// The job's request as its stored record and approved spec give it.
    pub fn of(record: &'a RequestRecord, spec: &'a RequestSpec) -> Self {
        let summary = &record.summary;
        Self {
            id: summary.id,
            team: summary.team.as_str(),
            cluster: &summary.cluster,
            spec,
            adopted: record.plan.adopted.as_ref(),
            imported: record.plan.imported.as_ref(),
        }
    }
}

/// How a job's objects were delivered: the commit that holds them, and whether the cluster
/// only records (dry run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub dry_run: bool,
    pub commit: String,
}

/// A step of the request behind a job, as `decide` allowed it.
#[derive(Debug, Clone, Copy)]
pub struct JobStep<'a> {
    pub job: &'a ClaimedJob,
    pub worker: &'a str,
    pub request_id: i64,
    pub team: &'a str,
    pub from: RequestStatus,
    pub to: RequestStatus,
}

impl JobStep<'_> {
    fn moved<'b>(&'b self, change: Option<&'b PreparedChange>) -> Move<'b> {
        Move {
            id: self.request_id,
            from: self.from,
            to: self.to,
            plan_hash: None,
            change,
        }
    }
}

/// Holds the job's lease and ends it with `status`: `false` when another worker has it now.
async fn still_ours(
    tx: &mut sqlx::AnyConnection,
    job: &ClaimedJob,
    worker: &str,
    status: &str,
) -> Result<bool, StoreError> {
    let moved = sqlx::query(
        "UPDATE jobs SET status = $1, lease_owner = NULL, lease_until = NULL, updated_at = $2
         WHERE id = $3 AND lease_owner = $4 AND status = 'running' AND attempts = $5",
    )
    .bind(status)
    .bind(now())
    .bind(job.id)
    .bind(worker)
    .bind(i64::from(job.attempt))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    Ok(moved == 1)
}

impl Store {
    /// The request behind a claimed job enters `applying`; from `applying` (a job taken
    /// over from a worker that stopped) the event says it resumed. `false` when the request
    /// moved meanwhile.
    pub async fn start_apply(&self, step: &JobStep<'_>, cluster: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        if !move_request(&mut tx, step.moved(None)).await? {
            return Ok(false);
        }
        let action = if step.from == RequestStatus::Queued {
            "request.claim"
        } else {
            "apply.resume"
        };
        audit_for_team(
            &mut tx,
            step.worker,
            action,
            &subject(step.request_id),
            Some(step.team),
            serde_json::json!({ "attempt": step.job.attempt, "cluster": cluster }),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Applied and ready: the job is done, the request `applied` with the IaC commit that
    /// holds it, the objects recorded as applied and the catalog updated. `false` (nothing
    /// written) if the lease was lost.
    /// `HostHeld` (nothing written) if the catalog gives the host to another service.
    /// `progress`: the job's steps not yet on the timeline, written before its end.
    pub async fn finish_apply(
        &self,
        step: &JobStep<'_>,
        request: &JobRequest<'_>,
        objects: &JobObjects,
        delivered: &Delivered,
        progress: &[ProgressEvent],
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        if !still_ours(&mut tx, step.job, step.worker, "done").await?
            || !move_request(&mut tx, step.moved(None)).await?
        {
            return Ok(false);
        }
        append_progress(&mut tx, progress).await?;
        sqlx::query("UPDATE requests SET iac_commit = $1, applied_at = $2 WHERE id = $3")
            .bind(&delivered.commit)
            .bind(now())
            .bind(request.id)
            .execute(&mut *tx)
            .await?;
        // A decommission may apply too (ingress-nginx's ConfigMap without its entries).
        if !objects.apply.is_empty() {
            record_objects(&mut tx, request.cluster, &objects.apply, Some(request.id)).await?;
        }
        if !objects.delete.is_empty() {
            forget_objects(&mut tx, request.cluster, &objects.delete).await?;
        }
        update_catalog(&mut tx, step.worker, request, &objects.apply).await?;
        if matches!(
            request.spec,
            RequestSpec::Restore(_) | RequestSpec::Adopt(_)
        ) && !delivered.dry_run
        {
            clear_restored(
                &mut tx,
                request.cluster,
                &objects.apply,
                step.worker,
                request.id,
            )
            .await?;
        }
        audit_for_team(
            &mut tx,
            step.worker,
            "request.succeed",
            &subject(request.id),
            Some(request.team),
            serde_json::json!({
                "objects": objects.len(), "dry_run": delivered.dry_run,
                "commit": delivered.commit, "to": step.to,
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Out of attempts, an error retrying cannot fix, or rules that no longer pass: the
    /// request is `failed` with the reason. `false` (nothing written) if the lease was lost.
    pub async fn fail_apply(&self, step: &JobStep<'_>, error: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        if !still_ours(&mut tx, step.job, step.worker, "failed").await? {
            return Ok(false);
        }
        sqlx::query("UPDATE jobs SET last_error = $1 WHERE id = $2")
            .bind(error)
            .bind(step.job.id)
            .execute(&mut *tx)
            .await?;
        if !move_request(&mut tx, step.moved(None)).await? {
            return Ok(false);
        }
        audit_for_team(
            &mut tx,
            step.worker,
            "request.fail",
            &subject(step.request_id),
            Some(step.team),
            serde_json::json!({ "error": error, "attempt": step.job.attempt, "to": step.to }),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The job's request is gone: the job ends `failed` so it is never claimed again.
    pub async fn abandon_job(
        &self,
        job: &ClaimedJob,
        worker: &str,
        error: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        if !still_ours(&mut tx, job, worker, "failed").await? {
            return Ok(false);
        }
        sqlx::query("UPDATE jobs SET last_error = $1 WHERE id = $2")
            .bind(error)
            .bind(job.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Claimed, but applying now would change something else than what was approved: the
    /// request goes back to review with `change`, and its job leaves the queue.
    pub async fn replan_job(
        &self,
        step: &JobStep<'_>,
        change: &PreparedChange,
        detail: Value,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        if !still_ours(&mut tx, step.job, step.worker, "done").await?
            || !move_request(&mut tx, step.moved(Some(change))).await?
        {
            return Ok(false);
        }
        sqlx::query("DELETE FROM jobs WHERE id = $1")
            .bind(step.job.id)
            .execute(&mut *tx)
            .await?;
        audit_for_team(
            &mut tx,
            step.worker,
            "request.replanned",
            &subject(step.request_id),
            Some(step.team),
            with_to(detail, step.to),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// The catalog after a request applied: the service as it now runs, the host it serves,
/// the certificate it holds, the port it exposes.
async fn update_catalog(
    tx: &mut sqlx::AnyConnection,
    actor: &str,
    request: &JobRequest<'_>,
    objects: &[Value],
) -> Result<(), StoreError> {
    let at = now();
    match request.spec {
        RequestSpec::Service(spec) => {
            let search_text = spec.name.as_str().to_lowercase();
            let node_port = objects
                .iter()
                .any(|o| o["kind"] == "Service" && o["spec"]["type"] == "NodePort");
            // A decommissioned service requested again is back in the catalog's lists.
            let returned = sqlx::query(
                "UPDATE services SET decommissioned_at = NULL
                 WHERE team_name = $1 AND name = $2 AND decommissioned_at IS NOT NULL",
            )
            .bind(request.team)
            .bind(spec.name.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            count_listed_services(tx, i64::try_from(returned).unwrap_or_default()).await?;
            sqlx::query(
                "INSERT INTO services (team_id, team_name, name, description, search_text, image,
                     cluster, status, replicas, port, protocol, service_type, created_at,
                     updated_at)
                 SELECT id, name, $2, '', $3, $4, $5, 'live', $6, $7, $8, $9, $10, $10
                 FROM teams WHERE name = $1
                 ON CONFLICT (team_id, name) DO UPDATE
                 SET image = excluded.image, cluster = excluded.cluster, status = 'live',
                     replicas = excluded.replicas, port = excluded.port,
                     protocol = excluded.protocol, service_type = excluded.service_type,
                     updated_at = excluded.updated_at",
            )
            .bind(request.team)
            .bind(spec.name.as_str())
            .bind(search_text)
            .bind(spec.image.as_str())
            .bind(request.cluster)
            // With an autoscaler the count is the cluster's, not the catalog's: 0 here.
            .bind(spec.replicas.map_or(0, i64::from))
            .bind(i64::from(spec.port))
            .bind(protocol_word(spec.protocol))
            .bind(if node_port { "NodePort" } else { "ClusterIP" })
            .bind(&at)
            .execute(&mut *tx)
            .await?;
        }
        RequestSpec::Ingress(spec) => {
            let class = match spec.class {
                domain::request::IngressClass::Alb => "alb",
                domain::request::IngressClass::Nginx => "nginx",
            };
            let tls = match spec.tls {
                domain::request::Tls::None => "none",
                domain::request::Tls::CertManager => "cert_manager",
                domain::request::Tls::Acm => "acm",
            };
            // Never moves a host to another service: the rules refused that before review
            // and again at claim, so a conflict here fails the request rather than
            // silently re-pointing the catalog.
            let written = sqlx::query(
                "INSERT INTO hosts (service_id, host, class, tls, created_at)
                 SELECT id, $3, $4, $5, $6 FROM services WHERE team_name = $1 AND name = $2
                 ON CONFLICT (host) DO UPDATE
                 SET class = excluded.class, tls = excluded.tls
                 WHERE hosts.service_id = excluded.service_id",
            )
            .bind(request.team)
            .bind(spec.service.as_str())
            .bind(spec.host.as_str())
            .bind(class)
            .bind(tls)
            .bind(&at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if written != 1 {
                return Err(StoreError::HostHeld(spec.host.as_str().to_owned()));
            }
            // An ALB with instance targets switched the Service: the catalog says so too.
            if objects.iter().any(|o| o["kind"] == "Service") {
                sqlx::query(
                    "UPDATE services SET service_type = 'NodePort', updated_at = $3
                     WHERE team_name = $1 AND name = $2",
                )
                .bind(request.team)
                .bind(spec.service.as_str())
                .bind(&at)
                .execute(&mut *tx)
                .await?;
            }
        }
        RequestSpec::Certificate(spec) => {
            let names: Vec<&str> = spec.dns_names.iter().map(|n| n.as_str()).collect();
            let dns_names =
                serde_json::to_string(&names).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            // cert-manager renews 30 days before the end of a 90-day certificate.
            let expires_at = now_plus(time::Duration::days(90));
            sqlx::query(
                "INSERT INTO certificates (team_id, name, dns_names, issuer, expires_at, status,
                     created_at)
                 SELECT id, $2, $3, $4, $5, 'ready', $6 FROM teams WHERE name = $1
                 ON CONFLICT (team_id, name) DO UPDATE
                 SET dns_names = excluded.dns_names, issuer = excluded.issuer,
                     expires_at = excluded.expires_at, status = 'ready',
                     decommissioned_at = NULL",
            )
            .bind(request.team)
            .bind(spec.name.as_str())
            .bind(dns_names)
            .bind(&spec.issuer)
            .bind(expires_at)
            .bind(&at)
            .execute(&mut *tx)
            .await?;
        }
        RequestSpec::Exposure(spec) => record_exposure(tx, request, spec, &at).await?,
        RequestSpec::Decommission(spec) => {
            for host in &spec.hosts {
                sqlx::query("DELETE FROM hosts WHERE host = $1")
                    .bind(host.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            for name in &spec.certificates {
                sqlx::query(
                    "UPDATE certificates SET decommissioned_at = $3
                     WHERE name = $2 AND team_id = (SELECT id FROM teams WHERE name = $1)",
                )
                .bind(request.team)
                .bind(name.as_str())
                .bind(&at)
                .execute(&mut *tx)
                .await?;
            }
            for name in &spec.services {
                // Its exposures went with it (NLB Services deleted, nginx entries left out
                // of the ConfigMap): their external ports are free again.
                sqlx::query(
                    "DELETE FROM exposures WHERE service_id IN
                     (SELECT id FROM services WHERE team_name = $1 AND name = $2
                        AND decommissioned_at IS NULL)",
                )
                .bind(request.team)
                .bind(name.as_str())
                .execute(&mut *tx)
                .await?;
                let gone = sqlx::query(
                    "UPDATE services SET decommissioned_at = $3, updated_at = $3
                     WHERE team_name = $1 AND name = $2 AND decommissioned_at IS NULL",
                )
                .bind(request.team)
                .bind(name.as_str())
                .bind(&at)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                count_listed_services(tx, -i64::try_from(gone).unwrap_or_default()).await?;
            }
        }
        // The objects are back as the catalog already had them.
        RequestSpec::Restore(_) => {}
        // The service runs as its new spec says: what it shows, and later changes start from.
        RequestSpec::Adopt(spec) => {
            let Some(adopted) = request.adopted else {
                return Err(StoreError::Corrupt(format!(
                    "adopt request {} has no new spec of service {} in its plan",
                    request.id, spec.service
                )));
            };
            sqlx::query(
                "UPDATE services SET image = $3, replicas = $4, port = $5, status = 'live',
                     updated_at = $6
                 WHERE team_name = $1 AND name = $2 AND decommissioned_at IS NULL",
            )
            .bind(request.team)
            .bind(spec.service.as_str())
            .bind(adopted.image.as_str())
            .bind(adopted.replicas.map_or(0, i64::from))
            .bind(i64::from(adopted.port))
            .bind(&at)
            .execute(&mut *tx)
            .await?;
            audit_for_team(
                tx,
                actor,
                "service.adopted",
                &format!("service:{}/{}", request.team, spec.service),
                Some(request.team),
                serde_json::json!({
                    "request": request.id, "cluster": request.cluster,
                    "image": adopted.image.as_str(), "replicas": adopted.replicas,
                    "port": adopted.port, "cpu": adopted.cpu, "memory": adopted.memory,
                }),
            )
            .await?;
        }
        RequestSpec::Import(spec) => {
            let Some(imported) = request.imported else {
                return Err(StoreError::Corrupt(format!(
                    "import request {} has no entries in its plan",
                    request.id
                )));
            };
            Box::pin(record_imported(
                tx,
                actor,
                request,
                &spec.namespace,
                imported,
                objects,
            ))
            .await?;
        }
    }
    Ok(())
}

/// An import's entries in the catalog, each as a request of its kind would have put it
/// (services first: hosts name them), with an audit event naming the import.
async fn record_imported(
    tx: &mut sqlx::AnyConnection,
    actor: &str,
    request: &JobRequest<'_>,
    namespace: &str,
    imported: &domain::import::ImportMap,
    objects: &[Value],
) -> Result<(), StoreError> {
    use domain::import::Imported;
    for (kind, name, entry) in &imported.entries {
        let (spec, action, target) = match entry {
            Imported::Service { spec } => (
                RequestSpec::Service(spec.clone()),
                "service.imported",
                format!("service:{}/{}", request.team, spec.name),
            ),
            Imported::Host { spec } => (
                RequestSpec::Ingress(spec.clone()),
                "host.imported",
                format!("host:{}", spec.host.as_str()),
            ),
            Imported::Certificate { spec } => (
                RequestSpec::Certificate(spec.clone()),
                "certificate.imported",
                format!("certificate:{}/{}", request.team, spec.name),
            ),
        };
        let entry_request = JobRequest {
            spec: &spec,
            adopted: None,
            imported: None,
            ..request.clone()
        };
        // The service's own objects (whether its Service is NodePort); a host's Ingress
        // switches nothing.
        let own: Vec<Value> = match entry {
            Imported::Service { spec } => objects
                .iter()
                .filter(|o| o["metadata"]["name"] == spec.name.as_str())
                .cloned()
                .collect(),
            _ => Vec::new(),
        };
        Box::pin(update_catalog(tx, actor, &entry_request, &own)).await?;
        audit_for_team(
            tx,
            actor,
            action,
            &target,
            Some(request.team),
            serde_json::json!({
                "request": request.id, "cluster": request.cluster, "namespace": namespace,
                "from": format!("{kind} {name}"),
            }),
        )
        .await?;
    }
    Ok(())
}

/// An exposure as applied. On ingress-nginx, never moves an external port to another
/// service: the rules refused that before review and again at claim, so a conflict here
/// fails the request rather than silently re-pointing the catalog.
async fn record_exposure(
    tx: &mut sqlx::AnyConnection,
    request: &JobRequest<'_>,
    spec: &ExposureSpec,
    at: &str,
) -> Result<(), StoreError> {
    let sql = match spec.via {
        ExposureVia::Nginx => {
            "INSERT INTO exposures (service_id, cluster, protocol, external_port, port, via,
                 scheme, created_at, updated_at)
             SELECT id, $3, $4, $5, $6, 'nginx', $7, $8, $8
             FROM services WHERE team_name = $1 AND name = $2
             ON CONFLICT (cluster, protocol, external_port) WHERE via = 'nginx' DO UPDATE
             SET port = excluded.port, updated_at = excluded.updated_at
             WHERE exposures.service_id = excluded.service_id"
        }
        ExposureVia::Nlb => {
            "INSERT INTO exposures (service_id, cluster, protocol, external_port, port, via,
                 scheme, created_at, updated_at)
             SELECT id, $3, $4, $5, $6, 'nlb', $7, $8, $8
             FROM services WHERE team_name = $1 AND name = $2
             ON CONFLICT (service_id, protocol, external_port) WHERE via = 'nlb' DO UPDATE
             SET port = excluded.port, scheme = excluded.scheme, cluster = excluded.cluster,
                 updated_at = excluded.updated_at"
        }
    };
    let written = sqlx::query(sql)
        .bind(request.team)
        .bind(spec.service.as_str())
        .bind(request.cluster)
        .bind(spec.protocol.as_str())
        .bind(i64::from(spec.external_port))
        .bind(i64::from(spec.port))
        .bind(spec.scheme.map(|s| s.as_str()))
        .bind(at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if written != 1 {
        return Err(StoreError::ExternalPortHeld(format!(
            "{} {}",
            spec.protocol.kube(),
            spec.external_port
        )));
    }
    Ok(())
}

/// The catalog's listed services grew or shrank by `by` (the counter's triggers see rows
/// inserted and deleted; a decommission keeps its row).
async fn count_listed_services(tx: &mut sqlx::AnyConnection, by: i64) -> Result<(), StoreError> {
    if by != 0 {
        sqlx::query("UPDATE catalog_size SET services = services + $1 WHERE id = 1")
            .bind(by)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

fn protocol_word(protocol: domain::request::Protocol) -> &'static str {
    match protocol {
        domain::request::Protocol::Http => "http",
        domain::request::Protocol::Grpc => "grpc",
        domain::request::Protocol::Tcp => "tcp",
    }
}
