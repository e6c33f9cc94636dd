//! Groups confirmed again in the background where the identity provider issued a refresh
//! token: a person removed from a lead group stops leading without having to sign in,
//! and one still in it keeps working past `auth.groups_max_age_hours`.

use std::{sync::Arc, time::Duration};

use secrecy::SecretString;
use tokio::sync::watch;

use super::{Auth, OidcError};
use crate::store::{DueRefresh, StoreError, now_plus};

/// How often to look for groups due for confirmation.
const EVERY: Duration = Duration::from_secs(5 * 60);
/// People refreshed per round; the rest wait for the next.
const BATCH: i64 = 200;

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RefreshRound {
    pub refreshed: usize,
    /// Refresh tokens the provider no longer honours (forgotten: those people's groups
    /// age and their next sign-in confirms them).
    pub forgotten: usize,
    /// Left for the next round because the provider could not be reached.
    pub postponed: usize,
}

impl Auth {
    /// Confirms the groups of everyone with a refresh token whose groups are past half
    /// their allowed age, so they are confirmed well before they go stale.
    pub async fn refresh_stale_groups(&self) -> Result<RefreshRound, StoreError> {
        let mut round = RefreshRound::default();
        let (Some(oidc), Some(sealer)) = (&self.oidc, &self.sealer) else {
            return Ok(round);
        };
        let before = now_plus(-(self.groups_max_age / 2_i32));
        for due in self.store.due_for_group_refresh(&before, BATCH).await? {
            let Some(token) = sealer.open(&due.refresh_token_sealed) else {
                self.forget(
                    &due,
                    "the kept refresh token no longer opens (client secret changed?)",
                )
                .await?;
                round.forgotten += 1;
                continue;
            };
            match oidc.refresh(&SecretString::from(token)).await {
                Ok(who) if who.issuer == due.issuer && who.subject == due.subject => {
                    let next = who.refresh_token.as_ref().map(|t| {
                        use secrecy::ExposeSecret;
                        sealer.seal(t.expose_secret())
                    });
                    let next = next.unwrap_or_else(|| due.refresh_token_sealed.clone());
                    self.store.refresh_groups(&due, &who.groups, &next).await?;
                    tracing::info!(email = %due.email, groups = ?who.groups, "groups refreshed");
                    round.refreshed += 1;
                }
                Ok(_) => {
                    self.forget(&due, "the provider answered for another person")
                        .await?;
                    round.forgotten += 1;
                }
                // The provider says no to this person: their groups age from here.
                Err(
                    error @ (OidcError::RefreshRefused(_)
                    | OidcError::UnverifiedEmail { .. }
                    | OidcError::NoEmail),
                ) => {
                    self.forget(&due, &error.to_string()).await?;
                    round.forgotten += 1;
                }
                // Unreachable, a server error, keys being rotated: try again next round.
                Err(error) => {
                    tracing::warn!(email = %due.email, %error, "group refresh postponed");
                    round.postponed += 1;
                }
            }
        }
        // No cache to forget here: each refresh's commit moves the data version, and cached
        // tokens are trusted only at the version they were verified at.
        Ok(round)
    }

    async fn forget(&self, due: &DueRefresh, reason: &str) -> Result<(), StoreError> {
        tracing::warn!(email = %due.email, reason, "refresh token forgotten");
        self.store.forget_refresh_token(due, reason).await
    }
}

/// Runs [`Auth::refresh_stale_groups`] every few minutes until `stopping` says so.
pub async fn refresh_groups_periodically(auth: Arc<Auth>, mut stopping: watch::Receiver<bool>) {
    if auth.oidc.is_none() {
        return;
    }
    loop {
        match auth.refresh_stale_groups().await {
            Ok(round) if round != RefreshRound::default() => {
                tracing::info!(?round, "group refresh round");
            }
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "group refresh round failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = stopping.wait_for(|stop| *stop) => return,
        }
    }
}
