//! The credential a request came with, kept so that a response outliving the request (a
//! live event stream) can ask whether it still works: signing out or revoking a token
//! ends such a stream instead of leaving it open.

use std::fmt;

use super::Auth;
use crate::store::{StoreError, now_plus};

/// A session or token, by the SHA-256 the database keys it with (never the secret).
#[derive(Clone, PartialEq, Eq)]
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
    /// Whether `credential` still signs its holder in: the session not ended, expired or
    /// idle too long; the token neither revoked nor expired. Asks the database each time
    /// (one indexed read, nothing written): the verified-token cache would trust a token
    /// revoked by another process for a few more seconds, and a stream asks only when a
    /// change woke it, such as that revocation.
    pub async fn still_valid(&self, credential: &Credential) -> Result<bool, StoreError> {
        match credential {
            Credential::Session { hash } => {
                let idle = time::Duration::try_from(self.idle).unwrap_or(time::Duration::ZERO);
                self.store.session_valid(hash, &now_plus(-idle)).await
            }
            Credential::Token { hash } => self.store.token_valid(hash).await,
        }
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
