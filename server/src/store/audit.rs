//! Reading the audit log. Events are appended by the operations they record (see
//! `auth::audit`, `auth::audit_for_team`), in the same transaction; nothing here or
//! anywhere else updates or deletes one, and the database's triggers refuse it anyway.

use domain::{AuditEvent, AuditQuery, Page, TeamName};
use sqlx::{Row, any::AnyRow};

use super::{Store, StoreError, requests::json};

/// The log's filters, each `NULL` for any: `$1` team, `$2` actor, `$3` subject,
/// `$4` since (inclusive), `$5` until (exclusive). Timestamps are stored as
/// `YYYY-MM-DDTHH:MM:SSZ` text, which sorts as the instants do, so they compare as text.
macro_rules! audit_filter {
    () => {
        " FROM audit_events
          WHERE ($1 IS NULL OR team = $1)
            AND ($2 IS NULL OR actor = $2)
            AND ($3 IS NULL OR subject = $3)
            AND ($4 IS NULL OR at >= $4)
            AND ($5 IS NULL OR at < $5)"
    };
}

fn event(row: &AnyRow) -> Result<AuditEvent, StoreError> {
    let team: Option<String> = row.try_get("team")?;
    let team = team
        .map(|t| TeamName::parse("team", &t))
        .transpose()
        .map_err(|e| StoreError::Corrupt(format!("audit team: {e}")))?;
    Ok(AuditEvent {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        subject: row.try_get("subject")?,
        team,
        detail: json(row, "detail_json")?,
    })
}

impl Store {
    /// Audit events matching `query`, newest first, with how many match in all.
    pub async fn audit_log(&self, query: &AuditQuery) -> Result<Page<AuditEvent>, StoreError> {
        let team = query.team.as_ref().map(|t| t.as_str().to_owned());
        let actor = query.actor.clone();
        let subject = query.subject();
        let total: i64 = sqlx::query_scalar(concat!("SELECT COUNT(*)", audit_filter!()))
            .bind(team.clone())
            .bind(actor.clone())
            .bind(subject.clone())
            .bind(query.since.clone())
            .bind(query.until.clone())
            .fetch_one(&self.pool)
            .await?;
        let rows = sqlx::query(concat!(
            "SELECT id, at, actor, action, subject, team, detail_json",
            audit_filter!(),
            " ORDER BY id DESC LIMIT $6 OFFSET $7"
        ))
        .bind(team)
        .bind(actor)
        .bind(subject)
        .bind(query.since.clone())
        .bind(query.until.clone())
        .bind(i64::from(query.page.per_page))
        .bind(i64::try_from(query.page.offset()).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        Ok(Page {
            items: rows.iter().map(event).collect::<Result<_, _>>()?,
            total: u64::try_from(total).unwrap_or_default(),
            page: query.page.page,
            per_page: query.page.per_page,
        })
    }
}
