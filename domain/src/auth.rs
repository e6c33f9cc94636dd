//! Who is asking and what they may do: roles from SSO groups, and the rules on top.

use serde::{Deserialize, Serialize};

use crate::TeamName;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TeamRole {
    /// Requests changes for the team.
    Member,
    /// Also reviews the team's requests.
    Lead,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TeamMembership {
    pub team: TeamName,
    pub role: TeamRole,
}

/// Which SSO groups make someone a member or a lead of a team (from configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamAccess {
    pub team: TeamName,
    pub member_groups: Vec<String>,
    pub lead_groups: Vec<String>,
}

/// The roles a set of groups grants: admin, and per team the highest role.
pub fn roles_for(
    groups: &[String],
    admin_groups: &[String],
    teams: &[TeamAccess],
) -> (bool, Vec<TeamMembership>) {
    let has = |wanted: &[String]| wanted.iter().any(|g| groups.contains(g));
    let admin = has(admin_groups);
    let memberships = teams
        .iter()
        .filter_map(|access| {
            let role = if has(&access.lead_groups) {
                TeamRole::Lead
            } else if has(&access.member_groups) {
                TeamRole::Member
            } else {
                return None;
            };
            Some(TeamMembership {
                team: access.team.clone(),
                role,
            })
        })
        .collect();
    (admin, memberships)
}

/// How a request proved who it is. Managing tokens needs a browser session, so a leaked
/// token cannot mint itself a longer-lived successor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthMethod {
    Session,
    Token,
}

/// A signed-in person (through a browser session or a personal access token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user_id: i64,
    pub email: String,
    pub name: String,
    pub groups: Vec<String>,
    pub admin: bool,
    pub teams: Vec<TeamMembership>,
    /// What the credential in use allows: everything for a browser session, a token's own
    /// scopes otherwise (a CI token without `review` approves nothing, even for a lead).
    #[serde(default)]
    pub scopes: crate::Scopes,
}

impl Actor {
    pub fn role_in(&self, team: &TeamName) -> Option<TeamRole> {
        self.teams.iter().find(|m| &m.team == team).map(|m| m.role)
    }

    /// Members and leads request for their own teams.
    pub fn may_request_for(&self, team: &TeamName) -> bool {
        self.role_in(team).is_some()
    }

    /// Leads of the team and admins review its requests.
    pub fn may_review_for(&self, team: &TeamName) -> bool {
        self.admin || self.role_in(team) == Some(TeamRole::Lead)
    }

    /// Admins manage clusters, teams, retries and read the audit log.
    pub fn may_administer(&self) -> bool {
        self.admin
    }
}

/// What `GET /api/v1/me` and the page header show of the signed-in person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    pub email: String,
    pub name: String,
    pub groups: Vec<String>,
    pub admin: bool,
    pub teams: Vec<TeamMembership>,
}

impl From<&Actor> for Me {
    fn from(actor: &Actor) -> Self {
        Self {
            email: actor.email.clone(),
            name: actor.name.clone(),
            groups: actor.groups.clone(),
            admin: actor.admin,
            teams: actor.teams.clone(),
        }
    }
}

/// Accepts a return target after sign-in only when it is a path on this site, so a link
/// like `/login?return_to=https://evil.example` cannot send people elsewhere.
pub fn safe_return_to(target: &str) -> Option<&str> {
    let is_local_path = target.starts_with('/')
        && !target.starts_with("//")
        && !target.starts_with("/\\")
        && !target.chars().any(|c| c.is_control() || c == '\\')
        && target.len() <= 2048;
    is_local_path.then_some(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn team(name: &str) -> TeamName {
        TeamName::parse("team", name).unwrap()
    }

    fn access() -> Vec<TeamAccess> {
        vec![
            TeamAccess {
                team: team("payments"),
                member_groups: vec!["payments".into()],
                lead_groups: vec!["payments-leads".into()],
            },
            TeamAccess {
                team: team("search"),
                member_groups: vec!["search".into(), "search-contractors".into()],
                lead_groups: vec!["search-leads".into()],
            },
        ]
    }

    fn groups(list: &[&str]) -> Vec<String> {
        list.iter().map(|g| g.to_string()).collect()
    }

    fn actor(list: &[&str]) -> Actor {
        let (admin, teams) = roles_for(&groups(list), &groups(&["platform-admins"]), &access());
        Actor {
            user_id: 1,
            email: "x@example.com".into(),
            name: "X".into(),
            groups: groups(list),
            admin,
            teams,
            scopes: crate::Scopes::ALL,
        }
    }

    #[test]
    fn member_group_makes_a_member() {
        let a = actor(&["payments"]);
        assert_eq!(a.role_in(&team("payments")), Some(TeamRole::Member));
        assert_eq!(a.role_in(&team("search")), None);
        assert!(!a.admin);
    }

    #[test]
    fn lead_group_wins_over_member_group() {
        let a = actor(&["payments", "payments-leads"]);
        assert_eq!(a.role_in(&team("payments")), Some(TeamRole::Lead));
        // A lead group alone is enough to be a lead (and so to request).
        let b = actor(&["payments-leads"]);
        assert!(b.may_request_for(&team("payments")));
    }

    #[test]
    fn any_listed_member_group_counts() {
        let a = actor(&["search-contractors"]);
        assert_eq!(a.role_in(&team("search")), Some(TeamRole::Member));
    }

    #[test]
    fn unmapped_groups_grant_nothing() {
        let a = actor(&["marketing", "Payments"]);
        assert!(a.teams.is_empty());
        assert!(!a.may_request_for(&team("payments")));
        assert!(!a.may_review_for(&team("payments")));
        assert!(!a.may_administer());
    }

    #[test]
    fn review_needs_lead_of_that_team_or_admin() {
        assert!(!actor(&["payments"]).may_review_for(&team("payments")));
        assert!(actor(&["payments-leads"]).may_review_for(&team("payments")));
        assert!(!actor(&["payments-leads"]).may_review_for(&team("search")));
        let admin = actor(&["platform-admins"]);
        assert!(admin.may_review_for(&team("search")));
        assert!(admin.may_administer());
        assert!(
            !admin.may_request_for(&team("search")),
            "admin is not a member"
        );
    }

    #[test]
    fn return_targets_must_be_local_paths() {
        for ok in ["/", "/services?q=a", "/services/payments/ledger#top"] {
            assert_eq!(safe_return_to(ok), Some(ok));
        }
        for bad in [
            "https://evil.example/",
            "//evil.example/x",
            "/\\evil.example",
            "javascript:alert(1)",
            "services",
            "/a\nSet-Cookie: x",
            "",
        ] {
            assert_eq!(safe_return_to(bad), None, "{bad:?}");
        }
    }
}
