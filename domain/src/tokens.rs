//! Personal access tokens as users see them (the secret itself is shown once, at creation).

use serde::{Deserialize, Serialize};

use crate::{FieldError, FieldErrors};

pub const MAX_TOKEN_NAME: usize = 64;
/// A token's lifetime when none is asked for.
pub const DEFAULT_TOKEN_DAYS: u32 = 90;

/// What a credential may do beyond reading. Reading is every token's; a browser session
/// may do everything its person may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scopes {
    /// Submit, cancel and comment on requests.
    pub request: bool,
    /// Approve, reject and retry requests.
    pub review: bool,
}

impl Default for Scopes {
    fn default() -> Self {
        Self::ALL
    }
}

impl Scopes {
    pub const ALL: Self = Self {
        request: true,
        review: true,
    };
    pub const READ: Self = Self {
        request: false,
        review: false,
    };

    /// `read,request,review` (any order; `read` may be left out: every token reads).
    pub fn parse(path: &str, text: &str) -> Result<Self, FieldError> {
        let mut scopes = Self::READ;
        for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            match word {
                "read" => {}
                "request" => scopes.request = true,
                "review" => scopes.review = true,
                other => {
                    return Err(FieldError::new(
                        path,
                        format!("{other:?} is not a scope: read, request or review"),
                    ));
                }
            }
        }
        Ok(scopes)
    }

    /// As stored and shown: `read`, `read,request`, `read,request,review`, ...
    pub fn to_text(self) -> String {
        let mut words = vec!["read"];
        if self.request {
            words.push("request");
        }
        if self.review {
            words.push("review");
        }
        words.join(",")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    #[serde(default)]
    pub scopes: Scopes,
}

/// A token just created: `token` is the only time its secret is available.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewToken {
    pub id: i64,
    pub name: String,
    pub token: String,
}

/// A token as the form asks for it, before its checks (the maximum lifetime is
/// configuration, which the portal applies).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenForm {
    pub name: String,
    /// Digits; empty for the default.
    pub expires_in_days: String,
    /// `read,request,review`; empty for read only.
    pub scopes: String,
}

/// A validated request for a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    pub name: String,
    /// From 1 to the configured maximum (`auth.token_max_days`).
    pub expires_in_days: u32,
    pub scopes: Scopes,
}

impl TokenRequest {
    /// As a form sends it: `expires_in_days` digits (empty: the default 90, capped by
    /// `max_days`), `scopes` like `read,request`. Every token expires: a leaked one must not
    /// work forever.
    pub fn parse(
        name: &str,
        expires_in_days: &str,
        scopes: &str,
        max_days: u32,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = name.trim();
        if name.is_empty() {
            errors.push(FieldError::new(
                "name",
                "give the token a name, e.g. \"ci-deploys\"",
            ));
        } else if name.chars().count() > MAX_TOKEN_NAME {
            errors.push(FieldError::new(
                "name",
                format!("must be at most {MAX_TOKEN_NAME} characters"),
            ));
        } else if name.chars().any(char::is_control) {
            errors.push(FieldError::new(
                "name",
                "must not contain control characters",
            ));
        }
        let days = match expires_in_days.trim() {
            "" => Some(DEFAULT_TOKEN_DAYS.min(max_days)),
            days => match days.parse::<u32>() {
                Ok(n) if (1..=max_days).contains(&n) => Some(n),
                _ => {
                    errors.push(FieldError::new(
                        "expires_in_days",
                        format!("must be a number of days from 1 to {max_days}"),
                    ));
                    None
                }
            },
        };
        let scopes = errors.collect(Scopes::parse("scopes", scopes));
        match (days, scopes) {
            (Some(expires_in_days), Some(scopes)) if errors.is_empty() => Ok(Self {
                name: name.to_owned(),
                expires_in_days,
                scopes,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_token_expires_within_the_maximum() {
        assert_eq!(
            TokenRequest::parse(" ci ", "30", "read,request", 365),
            Ok(TokenRequest {
                name: "ci".into(),
                expires_in_days: 30,
                scopes: Scopes {
                    request: true,
                    review: false
                },
            })
        );
        let default = TokenRequest::parse("ci", "", "", 365).unwrap();
        assert_eq!(default.expires_in_days, DEFAULT_TOKEN_DAYS);
        assert_eq!(default.scopes, Scopes::READ, "read only unless asked");
        assert_eq!(
            TokenRequest::parse("ci", "", "", 30)
                .unwrap()
                .expires_in_days,
            30,
            "the default never passes the maximum"
        );
        for refused in ["never", "0", "366", "-1", "1.5"] {
            let errors = TokenRequest::parse("ci", refused, "", 365).unwrap_err();
            assert_eq!(errors.0[0].path, "expires_in_days", "{refused}");
        }
    }

    #[test]
    fn scopes_read_as_written() {
        assert_eq!(Scopes::parse("s", "read,review,request"), Ok(Scopes::ALL));
        assert_eq!(Scopes::ALL.to_text(), "read,request,review");
        assert_eq!(
            Scopes::parse("s", &Scopes::READ.to_text()),
            Ok(Scopes::READ)
        );
        assert_eq!(Scopes::parse("s", "admin").unwrap_err().path, "s");
    }

    #[test]
    fn names_each_bad_field() {
        let errors = TokenRequest::parse("", "0", "write", 365).unwrap_err();
        let paths: Vec<&str> = errors.0.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["name", "expires_in_days", "scopes"]);
        assert!(TokenRequest::parse(&"x".repeat(65), "1", "", 365).is_err());
        assert!(TokenRequest::parse("a\u{7}b", "1", "", 365).is_err());
    }
}
