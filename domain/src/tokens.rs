//! Personal access tokens as users see them (the secret itself is shown once, at creation).

use serde::{Deserialize, Serialize};

use crate::{FieldError, FieldErrors};

pub const MAX_TOKEN_NAME: usize = 64;
pub const MAX_TOKEN_DAYS: u32 = 365;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
}

/// A token just created: `token` is the only time its secret is available.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewToken {
    pub id: i64,
    pub name: String,
    pub token: String,
}

/// A validated request for a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    pub name: String,
    /// `None`: never expires.
    pub expires_in_days: Option<u32>,
}

impl TokenRequest {
    /// `expires_in_days` as a form sends it: digits, or `never`.
    pub fn parse(name: &str, expires_in_days: &str) -> Result<Self, FieldErrors> {
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
        let expires = match expires_in_days.trim() {
            "never" => Some(None),
            days => match days.parse::<u32>() {
                Ok(n) if (1..=MAX_TOKEN_DAYS).contains(&n) => Some(Some(n)),
                _ => {
                    errors.push(FieldError::new(
                        "expires_in_days",
                        format!(
                            "must be a number of days from 1 to {MAX_TOKEN_DAYS}, or \"never\""
                        ),
                    ));
                    None
                }
            },
        };
        let request = Self {
            name: name.to_owned(),
            expires_in_days: expires.flatten(),
        };
        errors.into_result(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_days_or_never() {
        assert_eq!(
            TokenRequest::parse(" ci ", "30"),
            Ok(TokenRequest {
                name: "ci".into(),
                expires_in_days: Some(30)
            })
        );
        assert_eq!(
            TokenRequest::parse("ci", "never").unwrap().expires_in_days,
            None
        );
    }

    #[test]
    fn names_each_bad_field() {
        let errors = TokenRequest::parse("", "0").unwrap_err();
        let paths: Vec<&str> = errors.0.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["name", "expires_in_days"]);
        assert!(TokenRequest::parse(&"x".repeat(65), "1").is_err());
        assert!(TokenRequest::parse("a\u{7}b", "1").is_err());
        assert!(TokenRequest::parse("ok", "366").is_err());
    }
}
