//! Offboarding: admins list people with their sessions and tokens, deactivate someone (every
//! session and token stops at once) and revoke any token.

use serde::{Deserialize, Serialize};

use crate::{
    Actor, FieldError, FieldErrors, PageRequest,
    query::{MAX_SEARCH_LEN, like_anywhere, non_blank, non_empty, query_string},
};

/// One person as the admin list shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserSummary {
    pub id: i64,
    pub email: String,
    pub name: String,
    /// The SSO groups their last sign-in carried.
    pub groups: Vec<String>,
    pub created_at: String,
    /// Their last sign-in, RFC 3339 UTC; none for people known only from `stargate token create`.
    pub last_sign_in_at: Option<String>,
    /// When an admin deactivated them; none while active.
    pub deactivated_at: Option<String>,
    /// Browser sessions neither ended nor past their end.
    pub active_sessions: u64,
    /// Personal access tokens neither revoked nor expired.
    pub live_tokens: u64,
}

/// A browser session as admins see it: never its secret or its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionView {
    pub created_at: String,
    pub last_seen_at: String,
    pub expires_at: String,
}

/// Any of a person's tokens, revoked and expired ones included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserToken {
    pub id: i64,
    pub name: String,
    /// `read`, `read,request`, `read,request,review`, ...
    pub scopes: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// A person with their sessions (newest first) and tokens (newest first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserDetail {
    pub user: UserSummary,
    pub sessions: Vec<SessionView>,
    pub tokens: Vec<UserToken>,
    /// The admin looking is this user (who may not deactivate themselves).
    #[serde(default)]
    pub is_you: bool,
}

/// What a deactivation ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deactivation {
    pub user_id: i64,
    pub deactivated_at: String,
    pub sessions_ended: u64,
    pub tokens_revoked: u64,
}

/// `GET /admin/users` as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct RawUserQuery {
    /// Part of an email address, matched case-insensitively.
    #[cfg_attr(feature = "openapi", param(max_length = 100))]
    pub q: Option<String>,
    /// Page number, from 1.
    #[cfg_attr(feature = "openapi", param(value_type = Option<u32>, minimum = 1, maximum = 1000000))]
    pub page: Option<String>,
    /// Items per page (default 20).
    #[cfg_attr(feature = "openapi", param(value_type = Option<u32>, minimum = 1, maximum = 100))]
    pub per_page: Option<String>,
}

impl RawUserQuery {
    /// The search on `page` (left out when 1), as a URL query string.
    pub fn to_query_string(&self, page: u32) -> String {
        let page = (page > 1).then(|| page.to_string());
        query_string([
            ("q", non_empty(&self.q)),
            ("page", page.as_deref()),
            ("per_page", non_empty(&self.per_page)),
        ])
    }
}

/// A validated user query; ordered by email.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserQuery {
    /// Trimmed search text; `None` when blank.
    pub q: Option<String>,
    pub page: PageRequest,
}

impl UserQuery {
    pub fn parse(raw: &RawUserQuery) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let q = non_blank(&raw.q).map(str::to_owned);
        if q.as_ref()
            .is_some_and(|q| q.chars().count() > MAX_SEARCH_LEN)
        {
            errors.push(FieldError::new(
                "q",
                format!("must be at most {MAX_SEARCH_LEN} characters"),
            ));
        }
        let page = match PageRequest::parse(&raw.page, &raw.per_page) {
            Ok(page) => page,
            Err(page_errors) => {
                errors.0.extend(page_errors.0);
                PageRequest::default()
            }
        };
        errors.into_result(Self { q, page })
    }

    /// A `LIKE` pattern for lower-cased emails (`ESCAPE '\'`).
    pub fn like_pattern(&self) -> Option<String> {
        self.q.as_deref().map(like_anywhere)
    }
}

/// Why an admin action is refused, before anything is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminRefusal {
    NotAdmin,
    /// Through a token without the `review` scope (see README, "Offboarding").
    TokenScope,
    /// Deactivating oneself would lock the last admin out as easily as anyone.
    OwnAccount,
}

impl AdminRefusal {
    pub fn message(&self) -> &'static str {
        match self {
            Self::NotAdmin => "managing users is for admins",
            Self::TokenScope => {
                "this access token may not change users or tokens: it lacks the \"review\" scope"
            }
            Self::OwnAccount => "admins cannot deactivate themselves",
        }
    }
}

/// Admins read the user list with any credential.
pub fn may_list_users(actor: &Actor) -> Result<(), AdminRefusal> {
    if actor.admin {
        Ok(())
    } else {
        Err(AdminRefusal::NotAdmin)
    }
}

/// Deactivating or revoking needs an admin, and through a token the `review` scope.
pub fn may_offboard(actor: &Actor) -> Result<(), AdminRefusal> {
    may_list_users(actor)?;
    if actor.scopes.review {
        Ok(())
    } else {
        Err(AdminRefusal::TokenScope)
    }
}

/// As `may_offboard`, and never oneself.
pub fn may_deactivate(actor: &Actor, user_id: i64) -> Result<(), AdminRefusal> {
    may_offboard(actor)?;
    if actor.user_id == user_id {
        Err(AdminRefusal::OwnAccount)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scopes;

    fn actor(admin: bool, scopes: Scopes) -> Actor {
        Actor {
            user_id: 7,
            email: "ada@example.com".into(),
            name: "Ada".into(),
            groups: Vec::new(),
            admin,
            teams: Vec::new(),
            scopes,
        }
    }

    #[test]
    fn only_admins_and_writes_need_the_review_scope() {
        assert_eq!(
            may_list_users(&actor(false, Scopes::ALL)),
            Err(AdminRefusal::NotAdmin)
        );
        assert_eq!(may_list_users(&actor(true, Scopes::READ)), Ok(()));
        assert_eq!(
            may_offboard(&actor(true, Scopes::READ)),
            Err(AdminRefusal::TokenScope)
        );
        assert_eq!(may_deactivate(&actor(true, Scopes::ALL), 8), Ok(()));
        assert_eq!(
            may_deactivate(&actor(true, Scopes::ALL), 7),
            Err(AdminRefusal::OwnAccount)
        );
        assert_eq!(
            may_deactivate(&actor(false, Scopes::ALL), 8),
            Err(AdminRefusal::NotAdmin)
        );
    }

    #[test]
    fn a_search_is_trimmed_bounded_and_escaped() {
        let raw = RawUserQuery {
            q: Some("  Pat_1%  ".into()),
            ..RawUserQuery::default()
        };
        let query = UserQuery::parse(&raw).expect("valid");
        assert_eq!(query.like_pattern().as_deref(), Some("%pat\\_1\\%%"));
        let long = RawUserQuery {
            q: Some("x".repeat(MAX_SEARCH_LEN + 1)),
            page: Some("0".into()),
            ..RawUserQuery::default()
        };
        let errors = UserQuery::parse(&long).expect_err("invalid");
        let paths: Vec<_> = errors.0.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["q", "page"]);
        assert_eq!(
            RawUserQuery {
                q: Some("pat".into()),
                ..RawUserQuery::default()
            }
            .to_query_string(2),
            "q=pat&page=2"
        );
    }
}
