//! The names of the objects a request renders, where pages and drift checks need them
//! without rendering anything (the browser's bundle among them).

/// The Secret a service's ExternalSecret writes (and its container reads).
pub fn external_env_secret_name(service: &str) -> String {
    format!("{service}-env")
}

/// The Ingress object of `service` for `host`: the service and the host's first label
/// (the service page links its history by this name).
pub fn ingress_name(service: &str, host: &str) -> String {
    format!("{service}-{}", host.split('.').next().unwrap_or("host"))
}
