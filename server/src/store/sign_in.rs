//! Who signs in: people keyed by their identity provider's (issuer, subject), their
//! addresses compared without case, deactivated people refused, and the groups a refresh
//! token confirms again in the background.

use sqlx::Row;

use super::{
    Store, StoreError,
    auth::{UserRecord, audit, set_groups, user},
    now,
};

/// A sign-in as the store records it.
#[derive(Debug, Clone, Copy)]
pub struct SignIn<'a> {
    /// The identity provider's (issuer, subject): who the person is. `None` for the
    /// development sign-in, whose users are their email addresses.
    pub identity: Option<(&'a str, &'a str)>,
    pub email: &'a str,
    pub name: &'a str,
    pub groups: &'a [String],
    pub via: &'a str,
    /// The client's address, for the audit trail.
    pub client: &'a str,
    /// The provider's refresh token, sealed; replaces the one kept (`None` forgets it).
    pub refresh_token_sealed: Option<&'a str>,
}

/// A person whose groups a refresh token can confirm again.
#[derive(Debug, Clone)]
pub struct DueRefresh {
    pub user_id: i64,
    pub email: String,
    pub issuer: String,
    pub subject: String,
    /// Sealed: see `auth::sealed`.
    pub refresh_token_sealed: String,
}

/// Who the audit trail names for what Stargate itself does (background group refreshes).
const STARGATE: &str = "stargate";

/// Groups as the `groups_json` column stores them.
fn groups_json(groups: &[String]) -> Result<String, StoreError> {
    serde_json::to_string(groups).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// An email address as compared: case does not make another person. ASCII folding, as
/// SQL `lower()` does on both databases (migration 0015 computed the first keys with it).
fn email_key(email: &str) -> String {
    email.to_ascii_lowercase()
}

/// The user holding the address `key`, with the identity that claimed it, if any.
async fn holder_of_email(
    tx: &mut sqlx::AnyConnection,
    key: &str,
) -> Result<Option<(i64, Option<String>, Option<String>)>, StoreError> {
    let row = sqlx::query("SELECT id, issuer, subject FROM users WHERE email_key = $1")
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?;
    row.map(|row| {
        Ok((
            row.try_get("id")?,
            row.try_get("issuer")?,
            row.try_get("subject")?,
        ))
    })
    .transpose()
}

/// Refuses a deactivated user (by id) inside the caller's transaction.
pub(super) async fn refuse_deactivated(
    tx: &mut sqlx::AnyConnection,
    id: i64,
    email: &str,
) -> Result<(), StoreError> {
    let deactivated: Option<Option<String>> =
        sqlx::query_scalar("SELECT deactivated_at FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    match deactivated.flatten() {
        Some(_) => Err(StoreError::Deactivated(email.to_owned())),
        None => Ok(()),
    }
}

impl Store {
    /// Creates or refreshes a user at sign-in (name and groups come from the IdP each
    /// time; the audit event names the client's address). The person is their (issuer,
    /// subject); an address another identity holds is refused, one no identity claimed yet (made by `token create`, or before identities
    /// were kept) is claimed by the first identity that signs in with it.
    pub async fn sign_in_user(&self, who: SignIn<'_>) -> Result<UserRecord, StoreError> {
        let groups_json = groups_json(who.groups)?;
        let key = email_key(who.email);
        let mut tx = self.begin().await?;
        let at = now();
        let known: Option<i64> = match who.identity {
            Some((issuer, subject)) => {
                sqlx::query_scalar("SELECT id FROM users WHERE issuer = $1 AND subject = $2")
                    .bind(issuer)
                    .bind(subject)
                    .fetch_optional(&mut *tx)
                    .await?
            }
            None => None,
        };
        let holder = holder_of_email(&mut tx, &key).await?;
        let id = match (known, holder) {
            (Some(id), Some((other, ..))) if other != id => {
                return Err(StoreError::EmailHeld(who.email.to_owned()));
            }
            (Some(id), _) => Some(id),
            (None, Some((id, _, None))) => Some(id),
            // Development sign-in is by address alone.
            (None, Some((id, _, Some(_)))) if who.identity.is_none() => Some(id),
            (None, Some(_)) => return Err(StoreError::EmailHeld(who.email.to_owned())),
            (None, None) => None,
        };
        if let Some(id) = id
            && let Err(refused) = refuse_deactivated(&mut tx, id, who.email).await
        {
            if matches!(refused, StoreError::Deactivated(_)) {
                // The refusal is recorded: someone offboarded tried to come back.
                let detail = serde_json::json!({
                    "via": who.via, "refused": "deactivated", "client": who.client
                });
                audit(
                    &mut tx,
                    who.email,
                    "user.sign_in_refused",
                    who.email,
                    detail,
                )
                .await?;
                tx.commit().await?;
            }
            return Err(refused);
        }
        let (issuer, subject) = who.identity.unzip();
        // Groups from a provider age; the configuration's (development) do not.
        let groups_at = who.identity.map(|_| at.clone());
        let row = match id {
            Some(id) => {
                sqlx::query(
                    "UPDATE users SET email = $1, email_key = $2, name = $3, groups_json = $4,
                        last_login_at = $5, groups_at = $6,
                        issuer = COALESCE($7, issuer), subject = COALESCE($8, subject),
                        refresh_token_sealed = $10
                     WHERE id = $9 RETURNING id, email, name, groups_json, groups_at",
                )
                .bind(who.email)
                .bind(&key)
                .bind(who.name)
                .bind(&groups_json)
                .bind(&at)
                .bind(&groups_at)
                .bind(issuer)
                .bind(subject)
                .bind(id)
                .bind(who.refresh_token_sealed)
                .fetch_one(&mut *tx)
                .await?
            }
            None => {
                sqlx::query(
                    "INSERT INTO users (email, email_key, name, groups_json, created_at,
                        last_login_at, groups_at, issuer, subject, refresh_token_sealed)
                     VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, $9)
                     RETURNING id, email, name, groups_json, groups_at",
                )
                .bind(who.email)
                .bind(&key)
                .bind(who.name)
                .bind(&groups_json)
                .bind(&at)
                .bind(&groups_at)
                .bind(issuer)
                .bind(subject)
                .bind(who.refresh_token_sealed)
                .fetch_one(&mut *tx)
                .await?
            }
        };
        let record = user(&row)?;
        set_groups(&mut tx, record.id, who.groups).await?;
        audit(
            &mut tx,
            &record.email,
            "user.sign_in",
            &record.email,
            serde_json::json!({ "via": who.via, "groups": who.groups, "client": who.client }),
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    /// Records a sign-in the identity provider vouched for as `email` that was refused
    /// (e.g. an unverified address), with why and from which client.
    pub async fn record_refused_sign_in(
        &self,
        email: &str,
        reason: &str,
        client: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        audit(
            &mut tx,
            email,
            "user.sign_in_refused",
            email,
            serde_json::json!({ "reason": reason, "client": client }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates the user if missing (for tokens made on the command line) without
    /// changing an existing one's groups unless `groups` is given; given groups are the
    /// operator's word and do not age. A deactivated user is refused.
    pub async fn ensure_user(
        &self,
        email: &str,
        groups: Option<&[String]>,
    ) -> Result<UserRecord, StoreError> {
        let groups_json = groups_json(groups.unwrap_or_default())?;
        let key = email_key(email);
        let mut tx = self.begin().await?;
        let row = match holder_of_email(&mut tx, &key).await? {
            Some((id, ..)) => {
                refuse_deactivated(&mut tx, id, email).await?;
                sqlx::query(
                    "UPDATE users SET groups_json = CASE WHEN $1 = 1 THEN $2 ELSE groups_json END,
                        groups_at = CASE WHEN $1 = 1 THEN NULL ELSE groups_at END
                     WHERE id = $3 RETURNING id, email, name, groups_json, groups_at",
                )
                .bind(i64::from(groups.is_some()))
                .bind(&groups_json)
                .bind(id)
                .fetch_one(&mut *tx)
                .await?
            }
            None => {
                sqlx::query(
                    "INSERT INTO users (email, email_key, name, groups_json, created_at)
                     VALUES ($1, $2, $1, $3, $4) RETURNING id, email, name, groups_json, groups_at",
                )
                .bind(email)
                .bind(&key)
                .bind(&groups_json)
                .bind(now())
                .fetch_one(&mut *tx)
                .await?
            }
        };
        let record = user(&row)?;
        if let Some(groups) = groups {
            set_groups(&mut tx, record.id, groups).await?;
        }
        tx.commit().await?;
        Ok(record)
    }

    /// Up to `limit` people with a refresh token whose groups were confirmed before
    /// `before`, longest ago first.
    pub async fn due_for_group_refresh(
        &self,
        before: &str,
        limit: i64,
    ) -> Result<Vec<DueRefresh>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, email, issuer, subject, refresh_token_sealed FROM users
             WHERE refresh_token_sealed IS NOT NULL AND issuer IS NOT NULL
               AND subject IS NOT NULL AND groups_at < $1 AND deactivated_at IS NULL
             ORDER BY groups_at LIMIT $2",
        )
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(DueRefresh {
                    user_id: row.try_get("id")?,
                    email: row.try_get("email")?,
                    issuer: row.try_get("issuer")?,
                    subject: row.try_get("subject")?,
                    refresh_token_sealed: row.try_get("refresh_token_sealed")?,
                })
            })
            .collect()
    }

    /// Records the groups a refresh confirmed (and the refresh token to use next time).
    pub async fn refresh_groups(
        &self,
        due: &DueRefresh,
        groups: &[String],
        refresh_token_sealed: &str,
    ) -> Result<(), StoreError> {
        let groups_json = groups_json(groups)?;
        let mut tx = self.begin().await?;
        let updated = sqlx::query(
            "UPDATE users SET groups_json = $1, groups_at = $2, refresh_token_sealed = $3
             WHERE id = $4 AND refresh_token_sealed = $5 AND deactivated_at IS NULL",
        )
        .bind(&groups_json)
        .bind(now())
        .bind(refresh_token_sealed)
        .bind(due.user_id)
        .bind(&due.refresh_token_sealed)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // A sign-in since (with its own token and groups) or a deactivation wins.
        if updated == 0 {
            return Ok(());
        }
        set_groups(&mut tx, due.user_id, groups).await?;
        audit(
            &mut tx,
            STARGATE,
            "user.groups_refreshed",
            &due.email,
            serde_json::json!({ "groups": groups }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Forgets a refresh token the provider no longer honours: the person's groups then
    /// age, and their next sign-in confirms them.
    pub async fn forget_refresh_token(
        &self,
        due: &DueRefresh,
        reason: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE users SET refresh_token_sealed = NULL WHERE id = $1")
            .bind(due.user_id)
            .execute(&mut *tx)
            .await?;
        audit(
            &mut tx,
            STARGATE,
            "user.groups_refresh_failed",
            &due.email,
            serde_json::json!({ "reason": reason }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
