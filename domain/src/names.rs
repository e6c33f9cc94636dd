//! Names that end up in Kubernetes objects and URLs: DNS-1123 labels.

use serde::{Deserialize, Serialize};

use crate::FieldError;

/// Longest DNS-1123 label Kubernetes accepts.
pub const MAX_LABEL_LEN: usize = 63;

/// Checks a DNS-1123 label: 1–63 characters of `a-z`, `0-9` and `-`, starting and ending
/// with a letter or digit. Returns the problem in words, naming the offending character.
pub fn check_dns_label(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    if value.len() > MAX_LABEL_LEN {
        return Err(format!(
            "must be at most {MAX_LABEL_LEN} characters (got {})",
            value.chars().count()
        ));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!(
            "may contain only lowercase letters, digits and '-' (found {bad:?})"
        ));
    }
    if value.starts_with('-') || value.ends_with('-') {
        return Err("must start and end with a letter or digit".into());
    }
    Ok(())
}

macro_rules! dns_label_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String))]
        pub struct $name(String);

        impl $name {
            /// Validates `value`; the error names the field at `path`.
            pub fn parse(path: &str, value: &str) -> Result<Self, FieldError> {
                check_dns_label(value)
                    .map(|()| Self(value.to_owned()))
                    .map_err(|message| FieldError::new(path, message))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = FieldError;
            fn try_from(value: String) -> Result<Self, FieldError> {
                Self::parse(stringify!($name), &value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

dns_label_newtype!(
    /// A team's name, e.g. `payments`; also the default of its namespace.
    TeamName
);
dns_label_newtype!(
    /// A service's name within its team, e.g. `checkout-api`.
    ServiceName
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_dns_labels() {
        for ok in [
            "a",
            "payments",
            "checkout-api",
            "v2",
            "0abc",
            &"x".repeat(63),
        ] {
            assert!(
                ServiceName::parse("name", ok).is_ok(),
                "{ok} should be valid"
            );
        }
    }

    #[test]
    fn rejects_what_kubernetes_would_reject() {
        let cases = [
            ("", "must not be empty"),
            ("Checkout", "found 'C'"),
            ("check_out", "found '_'"),
            ("-api", "start and end"),
            ("api-", "start and end"),
            ("ａpi", "found 'ａ'"), // fullwidth lookalike
            ("a.b", "found '.'"),
        ];
        for (input, expected) in cases {
            let err = ServiceName::parse("spec.name", input).unwrap_err();
            assert_eq!(err.path, "spec.name");
            assert!(
                err.message.contains(expected),
                "{input:?}: {} should mention {expected}",
                err.message
            );
        }
    }

    #[test]
    fn rejects_labels_longer_than_63() {
        let err = TeamName::parse("team", &"a".repeat(64)).unwrap_err();
        assert!(err.message.contains("at most 63"), "{}", err.message);
    }

    #[test]
    fn deserializing_validates() {
        let bad: Result<TeamName, _> = serde_json::from_str("\"Bad Team\"");
        assert!(bad.is_err());
        let good: TeamName = serde_json::from_str("\"search\"").unwrap();
        assert_eq!(good.as_str(), "search");
    }
}
