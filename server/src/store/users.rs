//! Offboarding: people with their sessions and tokens as admins see them, deactivating
//! someone (sessions ended, tokens revoked, sign-in refused from then on) and revoking
//! anyone's token. Each change is one transaction with its audit event; committing it
//! announces the change to every process (see `changes`), whose verified-token caches
//! then forget what they trusted.

use domain::{
    Deactivation, Page, Scopes, SessionView, UserDetail, UserQuery, UserSummary, UserToken,
};
use sqlx::{Row, any::AnyRow};

use super::{Store, StoreError, auth::audit, error::corrupt, now};

/// The columns of a `UserSummary`; `$1` is now, `$2` the idle cutoff of sessions.
macro_rules! summary_select {
    () => {
        "SELECT u.id, u.email, u.name, u.groups_json, u.created_at, u.last_login_at,
                u.deactivated_at,
                (SELECT COUNT(*) FROM sessions s
                  WHERE s.user_id = u.id AND s.expires_at > $1 AND s.last_seen_at > $2)
                  AS active_sessions,
                (SELECT COUNT(*) FROM api_tokens t
                  WHERE t.user_id = u.id AND t.revoked_at IS NULL
                    AND (t.expires_at IS NULL OR t.expires_at > $1)) AS live_tokens
         FROM users u"
    };
}

fn count(row: &AnyRow, column: &str) -> Result<u64, StoreError> {
    let n: i64 = row.try_get(column)?;
    u64::try_from(n).map_err(|e| corrupt(column, e))
}

fn summary(row: &AnyRow) -> Result<UserSummary, StoreError> {
    let groups: String = row.try_get("groups_json")?;
    Ok(UserSummary {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        groups: serde_json::from_str(&groups).map_err(|e| corrupt("groups_json", e))?,
        created_at: row.try_get("created_at")?,
        last_sign_in_at: row.try_get("last_login_at")?,
        deactivated_at: row.try_get("deactivated_at")?,
        active_sessions: count(row, "active_sessions")?,
        live_tokens: count(row, "live_tokens")?,
    })
}

fn token(row: &AnyRow) -> Result<UserToken, StoreError> {
    let scopes: String = row.try_get("scopes")?;
    let scopes = Scopes::parse("scopes", &scopes).map_err(|e| corrupt("scopes", e))?;
    Ok(UserToken {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        scopes: scopes.to_text(),
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        last_used_at: row.try_get("last_used_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

/// A user's email and deactivation time, when the user exists.
async fn find(
    tx: &mut sqlx::AnyConnection,
    user_id: i64,
) -> Result<Option<(String, Option<String>)>, StoreError> {
    let row = sqlx::query("SELECT email, deactivated_at FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
    row.map(|row| Ok((row.try_get("email")?, row.try_get("deactivated_at")?)))
        .transpose()
}

/// Why a deactivation or reactivation did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserChange<T> {
    Done(T),
    NotFound,
    /// Already in the state asked for.
    Unchanged,
}

impl Store {
    /// People matching `query`, by email, with how many match in all. Sessions idle
    /// since `idle_cutoff` do not count as active.
    pub async fn list_users(
        &self,
        query: &UserQuery,
        idle_cutoff: &str,
    ) -> Result<Page<UserSummary>, StoreError> {
        let pattern = query.like_pattern();
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE ($1 IS NULL OR LOWER(email) LIKE $1 ESCAPE '\\')",
        )
        .bind(pattern.clone())
        .fetch_one(&self.pool)
        .await?;
        let rows = sqlx::query(concat!(
            summary_select!(),
            " WHERE ($3 IS NULL OR LOWER(u.email) LIKE $3 ESCAPE '\\')
              ORDER BY u.email LIMIT $4 OFFSET $5"
        ))
        .bind(now())
        .bind(idle_cutoff)
        .bind(pattern)
        .bind(i64::from(query.page.per_page))
        .bind(i64::try_from(query.page.offset()).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        Ok(Page {
            items: rows.iter().map(summary).collect::<Result<_, _>>()?,
            total: u64::try_from(total).unwrap_or_default(),
            page: query.page.page,
            per_page: query.page.per_page,
        })
    }

    /// One person with their live sessions and every token, newest first.
    pub async fn user_detail(
        &self,
        user_id: i64,
        idle_cutoff: &str,
    ) -> Result<Option<UserDetail>, StoreError> {
        let at = now();
        let Some(row) = sqlx::query(concat!(summary_select!(), " WHERE u.id = $3"))
            .bind(&at)
            .bind(idle_cutoff)
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let sessions = sqlx::query(
            "SELECT created_at, last_seen_at, expires_at FROM sessions
             WHERE user_id = $1 AND expires_at > $2 AND last_seen_at > $3
             ORDER BY created_at DESC",
        )
        .bind(user_id)
        .bind(&at)
        .bind(idle_cutoff)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(SessionView {
                created_at: row.try_get("created_at")?,
                last_seen_at: row.try_get("last_seen_at")?,
                expires_at: row.try_get("expires_at")?,
            })
        })
        .collect::<Result<_, StoreError>>()?;
        let tokens = sqlx::query(
            "SELECT id, name, scopes, created_at, expires_at, last_used_at, revoked_at
             FROM api_tokens WHERE user_id = $1 ORDER BY id DESC",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(token)
        .collect::<Result<_, _>>()?;
        Ok(Some(UserDetail {
            user: summary(&row)?,
            sessions,
            tokens,
            is_you: false,
        }))
    }

    /// Marks the user deactivated, ends every session and revokes every token, in one
    /// transaction with its audit event by `admin`.
    pub async fn deactivate_user(
        &self,
        admin: &str,
        user_id: i64,
    ) -> Result<UserChange<Deactivation>, StoreError> {
        let mut tx = self.begin().await?;
        let at = now();
        let Some((email, deactivated)) = find(&mut tx, user_id).await? else {
            return Ok(UserChange::NotFound);
        };
        if deactivated.is_some() {
            return Ok(UserChange::Unchanged);
        }
        // Conditional, so of two admins at once only one deactivates (and audits).
        let marked = sqlx::query(
            "UPDATE users SET deactivated_at = $1, refresh_token_sealed = NULL
             WHERE id = $2 AND deactivated_at IS NULL",
        )
        .bind(&at)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        if marked.rows_affected() == 0 {
            return Ok(UserChange::Unchanged);
        }
        let sessions_ended = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let tokens_revoked = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
        )
        .bind(&at)
        .bind(user_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        audit(
            &mut tx,
            admin,
            "user.deactivate",
            &email,
            serde_json::json!({ "sessions_ended": sessions_ended, "tokens_revoked": tokens_revoked }),
        )
        .await?;
        tx.commit().await?;
        Ok(UserChange::Done(Deactivation {
            user_id,
            deactivated_at: at,
            sessions_ended,
            tokens_revoked,
        }))
    }

    /// Lets a deactivated user sign in again; their revoked tokens stay revoked.
    pub async fn reactivate_user(
        &self,
        admin: &str,
        user_id: i64,
    ) -> Result<UserChange<()>, StoreError> {
        let mut tx = self.begin().await?;
        let Some((email, deactivated)) = find(&mut tx, user_id).await? else {
            return Ok(UserChange::NotFound);
        };
        if deactivated.is_none() {
            return Ok(UserChange::Unchanged);
        }
        let cleared = sqlx::query(
            "UPDATE users SET deactivated_at = NULL WHERE id = $1 AND deactivated_at IS NOT NULL",
        )
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        if cleared.rows_affected() == 0 {
            return Ok(UserChange::Unchanged);
        }
        audit(
            &mut tx,
            admin,
            "user.reactivate",
            &email,
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(UserChange::Done(()))
    }

    /// Revokes anyone's live token on `admin`'s word; false when there is no such token.
    pub async fn revoke_any_token(&self, admin: &str, token_id: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let owner_id: Option<i64> = sqlx::query_scalar(
            "UPDATE api_tokens SET revoked_at = $1
             WHERE id = $2 AND revoked_at IS NULL RETURNING user_id",
        )
        .bind(now())
        .bind(token_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(owner_id) = owner_id else {
            return Ok(false);
        };
        let owner: String = sqlx::query_scalar("SELECT email FROM users WHERE id = $1")
            .bind(owner_id)
            .fetch_one(&mut *tx)
            .await?;
        audit(
            &mut tx,
            admin,
            "token.revoke",
            &format!("token/{token_id}"),
            serde_json::json!({ "owner": owner, "by_admin": true }),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Whether the user was deactivated (false for unknown emails).
    pub async fn is_deactivated(&self, email: &str) -> Result<bool, StoreError> {
        let found: Option<Option<String>> =
            sqlx::query_scalar("SELECT deactivated_at FROM users WHERE email = $1")
                .bind(email)
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.flatten().is_some())
    }
}
