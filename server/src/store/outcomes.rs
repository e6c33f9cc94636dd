//! What the worker writes: a request starting to apply, its progress, and its end — each
//! end in one transaction with the job, the objects as applied, the catalog and the audit
//! event. Every write is conditional on the worker still holding the job's lease, so a
//! worker that lost its lease cannot overwrite the one that took over.

use domain::request::RequestSpec;
use serde_json::Value;

use super::{
    ClaimedJob, Store, StoreError, applied::record_objects, auth::audit_for_team, now, now_plus,
    requests::subject,
};

/// The request a job applies, as the worker needs it.
#[derive(Debug, Clone)]
pub struct JobRequest<'a> {
    pub id: i64,
    pub team: &'a str,
    pub cluster: &'a str,
    pub spec: &'a RequestSpec,
}

/// Holds the job's lease: `false` when another worker has it now.
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
    /// The request behind a claimed job enters `applying` (a reclaimed job's request is
    /// already there: the event says it was taken over).
    pub async fn start_apply(
        &self,
        request: &JobRequest<'_>,
        worker: &str,
        attempt: u32,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let moved = sqlx::query(
            "UPDATE requests SET status = 'applying', updated_at = $1
             WHERE id = $2 AND status = 'queued'",
        )
        .bind(now())
        .bind(request.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let action = if moved == 1 {
            "request.claim"
        } else {
            "apply.resume"
        };
        audit_for_team(
            &mut tx,
            worker,
            action,
            &subject(request.id),
            Some(request.team),
            serde_json::json!({ "attempt": attempt, "cluster": request.cluster }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// One step of progress on the request's timeline (`applying Deployment 2 of 3`).
    pub async fn apply_progress(
        &self,
        request: &JobRequest<'_>,
        worker: &str,
        message: &str,
        detail: Value,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let mut detail = detail;
        if let Value::Object(map) = &mut detail {
            map.insert("message".into(), Value::String(message.to_owned()));
        }
        audit_for_team(
            &mut tx,
            worker,
            "apply.progress",
            &subject(request.id),
            Some(request.team),
            detail,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Applied and ready: the job is done, the request `applied`, the objects recorded as
    /// applied and the catalog updated. `false` (nothing written) if the lease was lost.
    pub async fn finish_apply(
        &self,
        job: &ClaimedJob,
        worker: &str,
        request: &JobRequest<'_>,
        objects: &[Value],
        dry_run: bool,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        if !still_ours(&mut tx, job, worker, "done").await? {
            return Ok(false);
        }
        let at = now();
        sqlx::query(
            "UPDATE requests SET status = 'applied', updated_at = $1
             WHERE id = $2 AND status = 'applying'",
        )
        .bind(&at)
        .bind(request.id)
        .execute(&mut *tx)
        .await?;
        record_objects(&mut tx, request.cluster, objects, Some(request.id)).await?;
        update_catalog(&mut tx, request, objects).await?;
        audit_for_team(
            &mut tx,
            worker,
            "request.succeed",
            &subject(request.id),
            Some(request.team),
            serde_json::json!({ "objects": objects.len(), "dry_run": dry_run, "to": "applied" }),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Out of attempts, or an error retrying cannot fix: the request is `failed` with the
    /// reason. `false` (nothing written) if the lease was lost.
    pub async fn fail_apply(
        &self,
        job: &ClaimedJob,
        worker: &str,
        request: &JobRequest<'_>,
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
        sqlx::query(
            "UPDATE requests SET status = 'failed', updated_at = $1
             WHERE id = $2 AND status = 'applying'",
        )
        .bind(now())
        .bind(request.id)
        .execute(&mut *tx)
        .await?;
        audit_for_team(
            &mut tx,
            worker,
            "request.fail",
            &subject(request.id),
            Some(request.team),
            serde_json::json!({ "error": error, "attempt": job.attempt, "to": "failed" }),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// The catalog after a request applied: the service as it now runs, the host it serves,
/// the certificate it holds.
async fn update_catalog(
    tx: &mut sqlx::AnyConnection,
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
            .bind(i64::from(spec.replicas))
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
            sqlx::query(
                "INSERT INTO hosts (service_id, host, class, tls, created_at)
                 SELECT id, $3, $4, $5, $6 FROM services WHERE team_name = $1 AND name = $2
                 ON CONFLICT (host) DO UPDATE
                 SET service_id = excluded.service_id, class = excluded.class, tls = excluded.tls",
            )
            .bind(request.team)
            .bind(spec.service.as_str())
            .bind(spec.host.as_str())
            .bind(class)
            .bind(tls)
            .bind(&at)
            .execute(&mut *tx)
            .await?;
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
                     expires_at = excluded.expires_at, status = 'ready'",
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
