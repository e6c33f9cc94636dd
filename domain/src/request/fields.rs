//! Validating newtypes for request fields. Each `parse` names the field (`spec.host`) in
//! its error, in words a user can act on; the same code runs in the browser and server.

use serde::{Deserialize, Serialize};

use crate::{FieldError, names::check_dns_label};

/// Longest DNS name (RFC 1035).
const MAX_DNS_NAME: usize = 253;

/// A DNS host name such as `shop.payments.example.com`: lower-case labels, at least two.
/// `*.` in front is a wildcard, accepted only where wildcards make sense (certificates).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String")]
pub struct Hostname(String);

impl Hostname {
    pub fn parse(path: &str, value: &str, allow_wildcard: bool) -> Result<Self, FieldError> {
        let error = |message: String| FieldError::new(path, message);
        if value.len() > MAX_DNS_NAME {
            return Err(error(format!("must be at most {MAX_DNS_NAME} characters")));
        }
        let rest = match value.strip_prefix("*.") {
            Some(_) if !allow_wildcard => {
                return Err(error(
                    "a wildcard is not allowed here; name one host".into(),
                ));
            }
            Some(rest) => rest,
            None => value,
        };
        let labels: Vec<&str> = rest.split('.').collect();
        if labels.len() < 2 {
            return Err(error(format!(
                "must be a fully qualified name such as app.example.com (got {value:?})"
            )));
        }
        for label in labels {
            check_dns_label(label).map_err(|m| error(format!("label {label:?} {m}")))?;
        }
        if rest
            .rsplit('.')
            .next()
            .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(error("must be a name, not an IP address".into()));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_wildcard(&self) -> bool {
        self.0.starts_with("*.")
    }

    /// Whether this name is `domain` or sits under it (`a.b.example.com` under `example.com`).
    pub fn is_under(&self, domain: &str) -> bool {
        let name = self.0.trim_start_matches("*.");
        name == domain || name.ends_with(&format!(".{domain}"))
    }

    /// Whether a certificate for this name covers `host` (wildcards cover one label).
    pub fn covers(&self, host: &Hostname) -> bool {
        match self.0.strip_prefix("*.") {
            Some(parent) => host
                .0
                .split_once('.')
                .is_some_and(|(label, rest)| !label.is_empty() && rest == parent),
            None => self.0 == host.0,
        }
    }
}

impl From<Hostname> for String {
    fn from(value: Hostname) -> String {
        value.0
    }
}

/// A container image reference: `[registry/]path[:tag][@sha256:digest]`, lower-case path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String")]
pub struct ImageRef(String);

impl ImageRef {
    pub fn parse(path: &str, value: &str) -> Result<Self, FieldError> {
        let error = |message: &str| FieldError::new(path, format!("{message} (got {value:?})"));
        if value.is_empty() || value.len() > 512 {
            return Err(error(
                "must be an image reference such as ghcr.io/acme/app:1.2.3",
            ));
        }
        let (name_and_tag, digest) = match value.split_once('@') {
            Some((n, d)) => (n, Some(d)),
            None => (value, None),
        };
        if let Some(digest) = digest {
            let hex = digest
                .strip_prefix("sha256:")
                .ok_or_else(|| error("digest must be sha256:<64 hex digits>"))?;
            if hex.len() != 64
                || !hex
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            {
                return Err(error("digest must be sha256:<64 lower-case hex digits>"));
            }
        }
        // A ':' after the last '/' starts the tag; one before it is a registry port.
        let last_slash = name_and_tag.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name_and_tag[last_slash..].find(':') {
            Some(i) => (
                &name_and_tag[..last_slash + i],
                Some(&name_and_tag[last_slash + i + 1..]),
            ),
            None => (name_and_tag, None),
        };
        if let Some(tag) = tag {
            let valid = !tag.is_empty()
                && tag.len() <= 128
                && tag
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
                && !tag.starts_with(['.', '-']);
            if !valid {
                return Err(error(
                    "tag may hold letters, digits, '_', '.', '-' (at most 128)",
                ));
            }
        }
        let mut components = name.split('/').peekable();
        let first = components.next().unwrap_or_default();
        // The first component is a registry when it looks like a host (has '.' or ':').
        let is_registry = (first.contains('.') || first.contains(':') || first == "localhost")
            && components.peek().is_some();
        let path_components: Vec<&str> = if is_registry {
            components.collect()
        } else {
            std::iter::once(first).chain(components).collect()
        };
        let path_ok = !path_components.is_empty()
            && path_components.iter().all(|c| {
                !c.is_empty()
                    && c.chars().all(|ch| {
                        ch.is_ascii_lowercase()
                            || ch.is_ascii_digit()
                            || matches!(ch, '.' | '_' | '-')
                    })
                    && c.starts_with(|ch: char| ch.is_ascii_alphanumeric())
                    && c.ends_with(|ch: char| ch.is_ascii_alphanumeric())
            });
        if !path_ok {
            return Err(error(
                "repository path must be lower-case letters, digits, '.', '_', '-' separated by '/'",
            ));
        }
        if tag.is_none() && digest.is_none() {
            return Err(error(
                "name a tag or digest (e.g. :1.2.3) so deploys are repeatable",
            ));
        }
        if tag == Some("latest") && digest.is_none() {
            return Err(error(
                "\"latest\" changes under you; pin a version tag or digest",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<ImageRef> for String {
    fn from(value: ImageRef) -> String {
        value.0
    }
}

/// Longest ingress path accepted.
pub const MAX_INGRESS_PATH: usize = 256;

/// An ingress path: `/`, or `/` segments of RFC 3986 unreserved characters (letters, digits,
/// `-` `.` `_` `~`), a trailing `/` allowed. Nothing else reaches the controller's config:
/// ingress-nginx turned `{ } ; $ " '` in paths into configuration (CVE-2021-25745,
/// CVE-2022-4886).
pub fn parse_ingress_path(path: &str, value: &str) -> Result<String, FieldError> {
    let refuse = |why: String| Err(FieldError::new(path, why));
    if value.len() > MAX_INGRESS_PATH {
        return refuse(format!(
            "must be at most {MAX_INGRESS_PATH} characters (got {})",
            value.len()
        ));
    }
    let Some(rest) = value.strip_prefix('/') else {
        return refuse("must start with '/'".into());
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() {
        return Ok(value.to_owned());
    }
    for segment in rest.split('/') {
        if segment.is_empty() {
            return refuse("must not hold an empty segment ('//')".into());
        }
        if segment == "." || segment == ".." {
            return refuse(format!("must not hold a '{segment}' segment"));
        }
        if let Some(bad) = segment
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')))
        {
            return refuse(format!(
                "may hold only letters, digits, '-', '.', '_' and '~' between slashes (found {bad:?})"
            ));
        }
    }
    Ok(value.to_owned())
}

/// A TCP port, 1–65535.
pub fn parse_port(path: &str, value: i64) -> Result<u16, FieldError> {
    u16::try_from(value)
        .ok()
        .filter(|p| *p >= 1)
        .ok_or_else(|| {
            FieldError::new(
                path,
                format!("must be a port from 1 to 65535 (got {value})"),
            )
        })
}

pub const MAX_REPLICAS: u32 = 50;

pub fn parse_replicas(path: &str, value: i64) -> Result<u32, FieldError> {
    u32::try_from(value)
        .ok()
        .filter(|r| *r <= MAX_REPLICAS)
        .ok_or_else(|| {
            FieldError::new(
                path,
                format!("must be from 0 to {MAX_REPLICAS} (got {value})"),
            )
        })
}

/// CPU as Kubernetes writes it: millicores (`250m`) or cores (`1`, `0.5`), 1m to 64 cores.
pub fn parse_cpu(path: &str, value: &str) -> Result<String, FieldError> {
    let millis = if let Some(m) = value.strip_suffix('m') {
        m.parse::<u64>().ok()
    } else {
        value
            .parse::<f64>()
            .ok()
            .filter(|c| c.is_finite() && *c >= 0.0)
            .map(|c| (c * 1000.0).round() as u64)
    };
    match millis {
        Some(m) if (1..=64_000).contains(&m) => Ok(value.to_owned()),
        _ => Err(FieldError::new(
            path,
            format!("must be CPU such as 250m or 1 (1m to 64 cores; got {value:?})"),
        )),
    }
}

/// Memory with a binary suffix (`256Mi`, `1Gi`), 4Mi to 256Gi.
pub fn parse_memory(path: &str, value: &str) -> Result<String, FieldError> {
    let mib = [("Mi", 1u64), ("Gi", 1024)]
        .iter()
        .find_map(|(suffix, factor)| {
            value
                .strip_suffix(suffix)
                .and_then(|n| n.parse::<u64>().ok())
                .map(|n| n * factor)
        });
    match mib {
        Some(m) if (4..=256 * 1024).contains(&m) => Ok(value.to_owned()),
        _ => Err(FieldError::new(
            path,
            format!("must be memory such as 256Mi or 1Gi (4Mi to 256Gi; got {value:?})"),
        )),
    }
}

/// An environment variable name: a letter or `_`, then letters, digits or `_`.
pub fn parse_env_name(path: &str, value: &str) -> Result<String, FieldError> {
    let mut chars = value.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && value.len() <= 128;
    if valid {
        Ok(value.to_owned())
    } else {
        Err(FieldError::new(
            path,
            format!("must be like DATABASE_URL: letters, digits, '_' (got {value:?})"),
        ))
    }
}

/// An environment variable's value. Environments are C strings: a NUL would cut the value
/// short in the container (and PostgreSQL cannot store it in text), so it is refused.
pub fn parse_env_value(path: &str, value: &str) -> Result<String, FieldError> {
    if value.contains('\0') {
        Err(FieldError::new(path, "must not contain a NUL character"))
    } else {
        Ok(value.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ingress_paths_keep_to_a_safe_grammar() {
        for ok in ["/", "/api", "/api/", "/payments.v1", "/a-b/c_d/~e/1.2"] {
            assert_eq!(parse_ingress_path("spec.path", ok).as_deref(), Ok(ok));
        }
        // The inputs behind ingress-nginx CVE-2021-25745 and CVE-2022-4886, and friends.
        let refused = [
            ("api", "start with '/'"),
            ("/a;b", "';'"),
            ("/{x}", "'{'"),
            ("/$host", "'$'"),
            ("/a\"b", "'\"'"),
            ("/it's", "'\\''"),
            ("/a b", "' '"),
            ("/a//b", "empty segment"),
            ("/../etc", "'..'"),
            ("/a%2Fb", "'%'"),
        ];
        for (value, why) in refused {
            let error = parse_ingress_path("spec.path", value).unwrap_err();
            assert_eq!(error.path, "spec.path");
            assert!(error.message.contains(why), "{value}: {}", error.message);
        }
        let long = format!("/{}", "a".repeat(MAX_INGRESS_PATH));
        assert!(
            parse_ingress_path("spec.path", &long)
                .unwrap_err()
                .message
                .contains("at most 256")
        );
    }

    #[test]
    fn hostnames() {
        for ok in ["shop.example.com", "a-b.payments.example.com", "x1.io"] {
            assert!(Hostname::parse("spec.host", ok, false).is_ok(), "{ok}");
        }
        let cases = [
            ("localhost", "fully qualified"),
            ("Shop.example.com", "found 'S'"),
            ("shop..example.com", "must not be empty"),
            ("-shop.example.com", "start and end"),
            ("10.0.0.1", "not an IP"),
            ("*.example.com", "wildcard is not allowed"),
            ("ѕhop.example.com", "found 'ѕ'"), // Cyrillic lookalike
        ];
        for (input, expected) in cases {
            let e = Hostname::parse("spec.host", input, false).unwrap_err();
            assert_eq!(e.path, "spec.host");
            assert!(e.message.contains(expected), "{input}: {}", e.message);
        }
        assert!(
            Hostname::parse(
                "spec.dns_names[0]",
                &format!("{}.com", "a.".repeat(130)),
                false
            )
            .is_err()
        );
    }

    #[test]
    fn wildcards_cover_one_label() {
        let wildcard = Hostname::parse("x", "*.search.example.com", true).unwrap();
        let host = |h| Hostname::parse("x", h, false).unwrap();
        assert!(wildcard.covers(&host("api.search.example.com")));
        assert!(!wildcard.covers(&host("a.b.search.example.com")));
        assert!(!wildcard.covers(&host("search.example.com")));
        assert!(host("api.search.example.com").covers(&host("api.search.example.com")));
        assert!(
            wildcard.is_under("example.com") && !host("evil-example.com").is_under("example.com")
        );
    }

    #[test]
    fn image_references() {
        for ok in [
            "ghcr.io/acme/app:1.2.3",
            "registry.local:5000/team/app:v2",
            "nginx:1.27",
            "library/nginx:1.27-alpine",
            &format!("ghcr.io/acme/app@sha256:{}", "a".repeat(64)),
            &format!("ghcr.io/acme/app:latest@sha256:{}", "0".repeat(64)),
        ] {
            assert!(ImageRef::parse("spec.image", ok).is_ok(), "{ok}");
        }
        for (bad, expected) in [
            ("ghcr.io/acme/app", "name a tag"),
            ("ghcr.io/acme/app:latest", "latest"),
            ("ghcr.io/Acme/app:1", "lower-case"),
            ("ghcr.io/acme/app:", "tag may hold"),
            ("ghcr.io/acme/app@sha256:xyz", "digest"),
            ("", "image reference"),
        ] {
            let e = ImageRef::parse("spec.image", bad).unwrap_err();
            assert!(e.message.contains(expected), "{bad}: {}", e.message);
        }
    }

    #[test]
    fn numbers_and_quantities() {
        assert_eq!(parse_port("spec.port", 8080), Ok(8080));
        assert!(parse_port("spec.port", 0).is_err() && parse_port("spec.port", 65536).is_err());
        assert_eq!(parse_replicas("spec.replicas", 3), Ok(3));
        assert!(
            parse_replicas("spec.replicas", 51).is_err()
                && parse_replicas("spec.replicas", -1).is_err()
        );
        for ok in ["250m", "1", "0.5", "64"] {
            assert!(parse_cpu("spec.cpu", ok).is_ok(), "{ok}");
        }
        for bad in ["0", "0m", "65", "1.5x", "-1", "NaN"] {
            assert!(parse_cpu("spec.cpu", bad).is_err(), "{bad}");
        }
        for ok in ["256Mi", "1Gi", "4Mi"] {
            assert!(parse_memory("spec.memory", ok).is_ok(), "{ok}");
        }
        for bad in ["256M", "1GB", "3Mi", "300Gi", ""] {
            assert!(parse_memory("spec.memory", bad).is_err(), "{bad}");
        }
        assert!(parse_env_name("spec.env.X", "DATABASE_URL").is_ok());
        assert!(parse_env_value("spec.env.X", "line one\nline two").is_ok());
        assert!(parse_env_value("spec.env.X", "a\0b").is_err());
        assert!(
            parse_env_name("spec.env.X", "1X").is_err()
                && parse_env_name("spec.env.X", "A-B").is_err()
        );
    }
}
