//! Users, sessions, personal access tokens, sign-ins in flight, and the audit trail of them.

use domain::Scopes;
use sqlx::{Row, any::AnyRow};

use super::{
    Backend, Store, StoreError, error::corrupt, now, now_plus, sign_in::refuse_deactivated,
};

/// A user as stored: who they are and the groups their last sign-in carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub groups: Vec<String>,
    /// When an identity provider last vouched for `groups`; `None` when they come from
    /// the configuration or an operator and do not age.
    pub groups_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: i64,
    pub name: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub scopes: Scopes,
}

fn scopes_of(row: &AnyRow) -> Result<Scopes, StoreError> {
    let text: String = row.try_get("scopes")?;
    Scopes::parse("scopes", &text).map_err(|e| corrupt("scopes", e))
}

/// A sign-in between the redirect to the identity provider and its callback.
#[derive(Clone)]
pub struct LoginFlow {
    pub nonce: String,
    pub pkce_verifier: String,
    pub return_to: String,
}

impl std::fmt::Debug for LoginFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Nonce and verifier are secrets of the sign-in: never in logs.
        f.debug_struct("LoginFlow")
            .field("return_to", &self.return_to)
            .finish_non_exhaustive()
    }
}

pub(super) fn user(row: &AnyRow) -> Result<UserRecord, StoreError> {
    let groups: String = row.try_get("groups_json")?;
    Ok(UserRecord {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        groups: serde_json::from_str(&groups).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        groups_at: row.try_get("groups_at")?,
    })
}

/// Appends an audit event inside the caller's transaction.
pub(crate) async fn audit(
    tx: &mut sqlx::AnyConnection,
    actor: &str,
    action: &str,
    subject: &str,
    detail: serde_json::Value,
) -> Result<(), StoreError> {
    audit_for_team(tx, actor, action, subject, None, detail).await
}

/// Appends an audit event about one team's things (requests), so the log filters by team.
pub(crate) async fn audit_for_team(
    tx: &mut sqlx::AnyConnection,
    actor: &str,
    action: &str,
    subject: &str,
    team: Option<&str>,
    detail: serde_json::Value,
) -> Result<(), StoreError> {
    audit_at(tx, &now(), actor, action, subject, team, &detail).await
}

/// [`audit_for_team`] for something that happened at `at` (written later, in a batch).
pub(crate) async fn audit_at(
    tx: &mut sqlx::AnyConnection,
    at: &str,
    actor: &str,
    action: &str,
    subject: &str,
    team: Option<&str>,
    detail: &serde_json::Value,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_events (at, actor, action, subject, team, detail_json)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(at)
    .bind(actor)
    .bind(action)
    .bind(subject)
    .bind(team)
    .bind(detail.to_string())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Makes `user_groups` say exactly `groups` for the user (the rows behind "who leads
/// this team").
pub(super) async fn set_groups(
    tx: &mut sqlx::AnyConnection,
    user_id: i64,
    groups: &[String],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM user_groups WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    for group in groups {
        sqlx::query(
            "INSERT INTO user_groups (group_name, user_id) VALUES ($1, $2)
             ON CONFLICT DO NOTHING",
        )
        .bind(group)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

impl Store {
    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        expires_at: &str,
    ) -> Result<(), StoreError> {
        let at = now();
        // Ended sessions go as new ones start, so the table does not only grow.
        sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(&at)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at)
             VALUES ($1, $2, $3, $3, $4)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(&at)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The session's user while it is neither past its end nor idle since `idle_cutoff`;
    /// marks it used (at most once a minute, to keep reads cheap).
    pub async fn session_user(
        &self,
        token_hash: &str,
        idle_cutoff: &str,
        touch_before: &str,
    ) -> Result<Option<UserRecord>, StoreError> {
        let at = now();
        let row = sqlx::query(
            "SELECT u.id, u.email, u.name, u.groups_json, u.groups_at, s.last_seen_at
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3
               AND u.deactivated_at IS NULL",
        )
        .bind(token_hash)
        .bind(&at)
        .bind(idle_cutoff)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let last_seen: String = row.try_get("last_seen_at")?;
        if last_seen.as_str() < touch_before {
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
                .bind(&at)
                .bind(token_hash)
                .execute(&self.pool)
                .await?;
        }
        user(&row).map(Some)
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        // A signed-out session's open event streams end at the next change they see:
        // this is one (a single statement needs no transaction to be announced).
        self.version.bump();
        Ok(())
    }

    pub async fn create_token(
        &self,
        user: &UserRecord,
        name: &str,
        token_hash: &str,
        expires_at: &str,
        scopes: Scopes,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin().await?;
        refuse_deactivated(&mut tx, user.id, &user.email).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_tokens (user_id, name, token_hash, created_at, expires_at, scopes)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(user.id)
        .bind(name)
        .bind(token_hash)
        .bind(now())
        .bind(expires_at)
        .bind(scopes.to_text())
        .fetch_one(&mut *tx)
        .await?;
        audit(
            &mut tx,
            &user.email,
            "token.create",
            &format!("token/{id}"),
            serde_json::json!({ "name": name, "expires_at": expires_at, "scopes": scopes.to_text() }),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The token's user and the token's expiry, when it is neither revoked nor expired;
    /// records its use.
    pub async fn token_user(
        &self,
        token_hash: &str,
    ) -> Result<Option<(UserRecord, Option<String>, Scopes)>, StoreError> {
        let at = now();
        let row = sqlx::query(
            "SELECT t.id AS token_id, t.last_used_at, t.expires_at, t.scopes,
                    u.id, u.email, u.name, u.groups_json, u.groups_at
             FROM api_tokens t JOIN users u ON u.id = t.user_id
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.deactivated_at IS NULL
               AND (t.expires_at IS NULL OR t.expires_at > $2)",
        )
        .bind(token_hash)
        .bind(&at)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let token_id: i64 = row.try_get("token_id")?;
        let last_used: Option<String> = row.try_get("last_used_at")?;
        // Minute precision is enough for "last used", and spares a write per API call.
        if last_used.is_none_or(|at| at < now_plus(time::Duration::minutes(-1))) {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(&at)
                .bind(token_id)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some((
            user(&row)?,
            row.try_get("expires_at")?,
            scopes_of(&row)?,
        )))
    }

    /// The user's tokens that still work, newest first.
    pub async fn tokens(&self, user_id: i64) -> Result<Vec<TokenRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, created_at, expires_at, last_used_at, scopes FROM api_tokens
             WHERE user_id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)
             ORDER BY id DESC",
        )
        .bind(user_id)
        .bind(now())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(TokenRecord {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    created_at: row.try_get("created_at")?,
                    expires_at: row.try_get("expires_at")?,
                    last_used_at: row.try_get("last_used_at")?,
                    scopes: scopes_of(row)?,
                })
            })
            .collect()
    }

    /// Revokes one of the user's own tokens; false when there is no such live token.
    pub async fn revoke_token(&self, user: &UserRecord, token_id: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let revoked = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
        )
        .bind(now())
        .bind(token_id)
        .bind(user.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if revoked == 0 {
            return Ok(false);
        }
        audit(
            &mut tx,
            &user.email,
            "token.revoke",
            &format!("token/{token_id}"),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Stores a sign-in in flight. First removes up to [`EXPIRED_FLOWS_PER_START`] expired
    /// flows, oldest first, through the index on `expires_at` (migration 0017): each start
    /// pays a bounded share of the cleanup, however many abandoned flows piled up. The
    /// bound on live flows is the caller's (see `auth::flow_bound`).
    pub async fn create_login_flow(
        &self,
        state_hash: &str,
        flow: &LoginFlow,
        expires_at: &str,
    ) -> Result<(), StoreError> {
        let cleanup = match self.backend {
            Backend::Postgres => EXPIRED_FLOWS_POSTGRES,
            Backend::Sqlite => EXPIRED_FLOWS_SQLITE,
        };
        sqlx::query(cleanup)
            .bind(now())
            .bind(EXPIRED_FLOWS_PER_START)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO login_flows (state_hash, nonce, pkce_verifier, return_to, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(state_hash)
        .bind(&flow.nonce)
        .bind(&flow.pkce_verifier)
        .bind(&flow.return_to)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Sign-ins in flight that have not expired (read from the index on `expires_at`).
    pub async fn live_login_flows(&self) -> Result<u64, StoreError> {
        let live: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM login_flows WHERE expires_at > $1")
                .bind(now())
                .fetch_one(&self.pool)
                .await?;
        Ok(u64::try_from(live).unwrap_or(0))
    }

    /// Removes and returns a sign-in in flight: each state works once.
    pub async fn take_login_flow(&self, state_hash: &str) -> Result<Option<LoginFlow>, StoreError> {
        let row = sqlx::query(
            "DELETE FROM login_flows WHERE state_hash = $1 AND expires_at > $2
             RETURNING nonce, pkce_verifier, return_to",
        )
        .bind(state_hash)
        .bind(now())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(LoginFlow {
                nonce: row.try_get("nonce")?,
                pkce_verifier: row.try_get("pkce_verifier")?,
                return_to: row.try_get("return_to")?,
            })
        })
        .transpose()
    }

    pub async fn count_rows(&self, table: AuthTable) -> Result<i64, StoreError> {
        let sql = match table {
            AuthTable::Users => "SELECT COUNT(*) FROM users",
            AuthTable::Sessions => "SELECT COUNT(*) FROM sessions",
            AuthTable::LoginFlows => "SELECT COUNT(*) FROM login_flows",
        };
        Ok(sqlx::query_scalar(sql).fetch_one(&self.pool).await?)
    }
}

/// Expired sign-ins each new one removes (see [`Store::create_login_flow`]).
pub const EXPIRED_FLOWS_PER_START: i64 = 20;

/// Removes up to `$2` flows expired before `$1`, oldest first.
const EXPIRED_FLOWS_SQLITE: &str = "DELETE FROM login_flows WHERE state_hash IN (
    SELECT state_hash FROM login_flows WHERE expires_at < $1 ORDER BY expires_at LIMIT $2)";
/// The same; starts at the same moment take different rows instead of queueing for the
/// same oldest ones (SQLite has one writer at a time anyway).
const EXPIRED_FLOWS_POSTGRES: &str = "DELETE FROM login_flows WHERE state_hash IN (
    SELECT state_hash FROM login_flows WHERE expires_at < $1 ORDER BY expires_at LIMIT $2
    FOR UPDATE SKIP LOCKED)";

/// Tables whose size tests and operators look at.
#[derive(Debug, Clone, Copy)]
pub enum AuthTable {
    Users,
    Sessions,
    LoginFlows,
}
