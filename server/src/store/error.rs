#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database URL must start with sqlite:// (a file) or postgres://")]
    UnsupportedUrl,
    #[error("cannot create the data directory: {0}")]
    DataDir(#[source] std::io::Error),
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("migrating the database failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("the database did not answer in time")]
    Timeout,
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    /// Another request or service holds the host (the unique hold, or the catalog).
    #[error("host {0} is held by another request or service")]
    HostHeld(String),
    /// Another request or service holds the external port of ingress-nginx (`TCP 9000`).
    #[error("{0} of ingress-nginx is held by another request or service")]
    ExternalPortHeld(String),
    /// Another person's identity already holds the address (in any case).
    #[error("the email address {0} belongs to another account")]
    EmailHeld(String),
    /// An admin deactivated the user: no sign-in, no new token.
    #[error("{0} was deactivated by an admin")]
    Deactivated(String),
    /// A cluster an import reads did not answer: the request waits, it is not wrong.
    #[error("{0}")]
    ClusterUnreachable(String),
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
}

/// Stored data that does not read back as what was written (`what` names the part).
pub(super) fn corrupt(what: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {error}"))
}
