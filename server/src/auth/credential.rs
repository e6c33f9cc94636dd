//! The credential a request came with, kept so that a response outliving the request (a
//! live event stream) can ask whether it still works: signing out or revoking a token
//! ends such a stream instead of leaving it open.

use std::{collections::HashSet, fmt};

use super::Auth;
use crate::store::{StoreError, now_plus};

/// A session or token, by the SHA-256 the database keys it with (never the secret).
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Credential {
    Session { hash: String },
    Token { hash: String },
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The hash opens nothing, but it is the database's key for the secret: keep it
        // out of logs all the same.
        f.write_str(match self {
            Self::Session { .. } => "Credential::Session",
            Self::Token { .. } => "Credential::Token",
        })
    }
}

impl Auth {
    /// Which of `credentials` still sign their holders in: sessions not ended, expired or
    /// idle too long; tokens neither revoked nor expired. Asks the database (at most one
    /// read for sessions and one for tokens, nothing written), never the verified-token
    /// cache, which would trust a token revoked by another process for a few more
    /// seconds; live views ask only when a change woke them, such as that revocation.
    pub async fn still_valid(
        &self,
        credentials: &[Credential],
    ) -> Result<HashSet<Credential>, StoreError> {
        let (mut sessions, mut tokens) = (Vec::new(), Vec::new());
        for credential in credentials {
            match credential {
                Credential::Session { hash } => sessions.push(hash.as_str()),
                Credential::Token { hash } => tokens.push(hash.as_str()),
            }
        }
        let mut valid = HashSet::new();
        if !sessions.is_empty() {
            let idle = time::Duration::try_from(self.idle).unwrap_or(time::Duration::ZERO);
            let live = self
                .store
                .live_sessions(&sessions, &now_plus(-idle))
                .await?;
            valid.extend(live.into_iter().map(|hash| Credential::Session { hash }));
        }
        if !tokens.is_empty() {
            let live = self.store.live_tokens(&tokens).await?;
            valid.extend(live.into_iter().map(|hash| Credential::Token { hash }));
        }
        Ok(valid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_hash() {
        let hash = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        for credential in [
            Credential::Session { hash: hash.into() },
            Credential::Token { hash: hash.into() },
        ] {
            assert!(!format!("{credential:?}").contains("ba7816"));
        }
    }
}
