//! Who is asking: OIDC sign-in, browser sessions, personal access tokens, development
//! sign-in, and the roles SSO groups grant.

mod credential;
pub mod flow_bound;
pub mod middleware;
mod oidc;
mod pages;
pub mod rate_limit;
pub mod refresh;
pub mod routes;
mod sealed;
pub mod secret;
mod token_cache;

use std::{
    net::IpAddr,
    time::{Duration, Instant},
};

use axum_extra::extract::cookie::{Cookie, SameSite};
use domain::{Actor, Scopes, TeamAccess, TeamName};

use crate::{
    config::{AuthMode, Settings},
    store::{Store, StoreError, UserRecord, now_plus},
};
pub use credential::Credential;
use flow_bound::FlowBound;
pub use oidc::{OidcClient, OidcError};
use rate_limit::RateLimit;
use secret::{hash_secret, new_access_token, random_secret};
use token_cache::TokenCache;

/// The session cookie on http (development, tests on loopback).
const SESSION_COOKIE: &str = "stargate_session";
/// On https: the `__Host-` prefix makes browsers refuse it unless `Secure`, for `/` and
/// without `Domain`, so a tenant app on a sibling host (same-site with the portal) cannot
/// plant or overwrite it.
const SESSION_COOKIE_HTTPS: &str = "__Host-stargate_session";
const LOGIN_COOKIE: &str = "stargate_login";
/// `__Secure-` (not `__Host-`: it lives under `/auth` only).
const LOGIN_COOKIE_HTTPS: &str = "__Secure-stargate_login";

/// A demo identity offered by the development sign-in page.
#[derive(Debug, Clone)]
pub struct DevUser {
    pub email: String,
    pub name: String,
    pub groups: Vec<String>,
    pub description: String,
}

pub struct Auth {
    pub store: Store,
    pub mode: AuthMode,
    pub oidc: Option<OidcClient>,
    admin_groups: Vec<String>,
    teams: Vec<TeamAccess>,
    idle: Duration,
    max_age: Duration,
    secure_cookies: bool,
    /// `scheme://host[:port]` of the public URL: browsers' `Origin` must match it.
    pub public_origin: String,
    pub limits: SignInLimits,
    /// Sign-ins in flight (login flows) the database holds at most (`auth.max_login_flows`).
    pub flows: FlowBound,
    pub dev_users: Vec<DevUser>,
    tokens: TokenCache,
    /// SHA-256 of `metrics.token`, when `/metrics` needs one.
    metrics_token: Option<String>,
    token_max_days: u32,
    /// Groups older than this (`auth.groups_max_age_hours`) no longer count.
    groups_max_age: time::Duration,
    /// Seals the provider's refresh tokens at rest (OIDC mode only).
    pub sealer: Option<sealed::Sealer>,
}

/// What a bearer token turned out to be.
pub enum TokenCheck {
    Valid(Actor, Credential),
    /// Unknown, expired or revoked.
    Invalid,
    /// Valid, but its user's groups are older than `auth.groups_max_age_hours`.
    StaleGroups {
        max_age_hours: i64,
    },
}

/// What unauthenticated callers may spend. Counted per client address (as
/// `http::client_addr` works it out, so clients behind one trusted proxy count apart) and,
/// where the identity provider has named one, per account.
pub struct SignInLimits {
    /// Failed token uses and sign-in callbacks per client: 10 a minute, then 429 until
    /// the minute is over. A valid token or a good callback is never refused by it.
    pub failures: RateLimit<IpAddr>,
    /// Sign-ins refused after the identity provider named the account (an unverified
    /// address), per account from any client: 5 in 15 minutes, each audited; past that,
    /// 429 and no more audit events for it. A sign-in that passes every check is never
    /// refused by it, so whoever can make refusals for an address cannot lock its owner out.
    pub refusals: RateLimit<String>,
    /// Sign-ins started (each writes a login flow) per client: 30 a minute.
    pub starts: RateLimit<IpAddr>,
}

impl Default for SignInLimits {
    fn default() -> Self {
        Self {
            failures: RateLimit::new(10, Duration::from_secs(60)),
            refusals: RateLimit::new(5, Duration::from_secs(15 * 60)),
            starts: RateLimit::new(30, Duration::from_secs(60)),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthSetupError {
    #[error("auth.oidc: {0}")]
    Oidc(#[from] OidcError),
    #[error("public_url {0:?} is not an http(s) URL")]
    PublicUrl(String),
}

/// The origin browsers send for pages of `url`: lower-case, default port left out.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let host = rest.split(['/', '?', '#']).next()?.to_ascii_lowercase();
    let host = match scheme.as_str() {
        "https" => host.strip_suffix(":443").unwrap_or(&host).to_owned(),
        "http" => host.strip_suffix(":80").unwrap_or(&host).to_owned(),
        _ => return None,
    };
    (!host.is_empty()).then(|| format!("{scheme}://{host}"))
}

impl Auth {
    pub fn new(
        settings: &Settings,
        public_url: &str,
        store: Store,
    ) -> Result<Self, AuthSetupError> {
        let public_origin = origin_of(public_url)
            .ok_or_else(|| AuthSetupError::PublicUrl(public_url.to_owned()))?;
        let oidc = match settings.auth.mode {
            AuthMode::Oidc => Some(OidcClient::new(settings.auth.oidc.clone(), public_url)?),
            AuthMode::Dev => None,
        };
        let teams: Vec<TeamAccess> = settings
            .teams
            .iter()
            .filter_map(|t| {
                Some(TeamAccess {
                    team: TeamName::parse("teams.name", &t.name).ok()?,
                    member_groups: t.member_groups.clone(),
                    lead_groups: t.lead_groups.clone(),
                })
            })
            .collect();
        let dev_users = dev_users(&settings.auth.admin_groups, &teams);
        Ok(Self {
            store,
            mode: settings.auth.mode,
            oidc,
            admin_groups: settings.auth.admin_groups.clone(),
            teams,
            idle: Duration::from_secs(u64::from(settings.auth.session_idle_minutes) * 60),
            max_age: Duration::from_secs(u64::from(settings.auth.session_max_hours) * 3600),
            secure_cookies: public_url.starts_with("https://"),
            public_origin,
            limits: SignInLimits::default(),
            flows: FlowBound::new(settings.auth.max_login_flows),
            dev_users,
            tokens: TokenCache::default(),
            token_max_days: settings.auth.token_max_days,
            groups_max_age: time::Duration::hours(i64::from(settings.auth.groups_max_age_hours)),
            sealer: (settings.auth.mode == AuthMode::Oidc).then(|| {
                use secrecy::ExposeSecret;
                sealed::Sealer::new(settings.auth.oidc.client_secret.expose_secret())
            }),
            metrics_token: settings.metrics.token.as_ref().map(|token| {
                use secrecy::ExposeSecret;
                hash_secret(token.expose_secret())
            }),
        })
    }

    /// Whether a request with `authorization` may read `/metrics`. Hashes are compared,
    /// so the comparison takes as long whatever the guess.
    pub fn may_read_metrics(&self, authorization: Option<&str>) -> bool {
        let Some(expected) = &self.metrics_token else {
            return true;
        };
        authorization
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .is_some_and(|(_, token)| &hash_secret(token.trim()) == expected)
    }

    /// SSO groups whose members lead `team` (empty for unknown teams).
    pub fn lead_groups(&self, team: &TeamName) -> Vec<String> {
        self.teams
            .iter()
            .find(|t| &t.team == team)
            .map(|t| t.lead_groups.clone())
            .unwrap_or_default()
    }

    pub fn member_groups(&self, team: &TeamName) -> Vec<String> {
        self.teams
            .iter()
            .find(|t| &t.team == team)
            .map(|t| t.member_groups.clone())
            .unwrap_or_default()
    }

    pub fn secure_cookies(&self) -> bool {
        self.secure_cookies
    }

    /// The longest a personal access token may live (`auth.token_max_days`).
    pub fn token_max_days(&self) -> u32 {
        self.token_max_days
    }

    /// The session cookie's name (prefixed on https).
    pub fn session_cookie(&self) -> &'static str {
        if self.secure_cookies {
            SESSION_COOKIE_HTTPS
        } else {
            SESSION_COOKIE
        }
    }

    /// The sign-in-in-flight cookie's name (prefixed on https).
    pub fn login_cookie(&self) -> &'static str {
        if self.secure_cookies {
            LOGIN_COOKIE_HTTPS
        } else {
            LOGIN_COOKIE
        }
    }

    /// The roles the user's groups grant now (config may have changed since sign-in).
    pub fn actor(&self, user: UserRecord) -> Actor {
        let (admin, teams) = domain::auth::roles_for(&user.groups, &self.admin_groups, &self.teams);
        Actor {
            user_id: user.id,
            email: user.email,
            name: user.name,
            groups: user.groups,
            admin,
            teams,
            // A browser session may do all its person may; tokens narrow it.
            scopes: Scopes::ALL,
        }
    }

    /// Sessions not used since this instant have ended (`auth.session_idle_minutes`).
    pub fn idle_cutoff(&self) -> String {
        now_plus(-time::Duration::try_from(self.idle).unwrap_or(time::Duration::ZERO))
    }

    /// The session's user, and the session as a credential to check again later.
    pub async fn from_session(
        &self,
        session_id: &str,
    ) -> Result<Option<(Actor, Credential)>, StoreError> {
        let idle_cutoff = self.idle_cutoff();
        let touch_before = now_plus(time::Duration::minutes(-1));
        let hash = hash_secret(session_id);
        let user = self
            .store
            .session_user(&hash, &idle_cutoff, &touch_before)
            .await?;
        // Stale groups send the person through sign-in again, which refreshes them.
        Ok(user
            .filter(|u| !self.groups_are_stale(u))
            .map(|u| (self.actor(u), Credential::Session { hash })))
    }

    /// Whether the groups an identity provider vouched for are too old to act on: a lead
    /// removed from a lead group must not keep approving through a long session or token.
    fn groups_are_stale(&self, user: &UserRecord) -> bool {
        let cutoff = now_plus(-self.groups_max_age);
        user.groups_at
            .as_deref()
            .is_some_and(|at| at < cutoff.as_str())
    }

    /// The token's user, and the token as a credential to check again later.
    pub async fn from_token(&self, token: &str) -> Result<TokenCheck, StoreError> {
        if !token.starts_with(secret::TOKEN_PREFIX) {
            return Ok(TokenCheck::Invalid);
        }
        let hash = hash_secret(token);
        let now = Instant::now();
        // No version while the change watcher is blind: then every call asks the database.
        let version = self.store.data_version().current();
        if let Some(version) = version
            && let Some(actor) = self.tokens.get(&hash, now, version)
        {
            return Ok(TokenCheck::Valid(actor, Credential::Token { hash }));
        }
        // Taken before asking the database: a revocation that lands while we ask forgets
        // the cache (here) or moves the version (anywhere), and this answer, older than
        // the revocation, is then not kept.
        let generation = self.tokens.generation();
        let Some((user, expires_at, scopes)) = self.store.token_user(&hash).await? else {
            return Ok(TokenCheck::Invalid);
        };
        if self.groups_are_stale(&user) {
            return Ok(TokenCheck::StaleGroups {
                max_age_hours: self.groups_max_age.whole_hours(),
            });
        }
        let actor = Actor {
            scopes,
            ..self.actor(user)
        };
        // A token about to expire is checked each time, so it stops working on the dot.
        let ttl = time::Duration::try_from(token_cache::TTL).unwrap_or(time::Duration::ZERO);
        if let Some(version) = version
            && expires_at.is_none_or(|at| at > now_plus(ttl))
        {
            let seen = token_cache::Seen {
                generation,
                version,
            };
            self.tokens.insert(
                hash.clone(),
                actor.clone(),
                seen,
                now,
                now + token_cache::TTL,
            );
        }
        Ok(TokenCheck::Valid(actor, Credential::Token { hash }))
    }

    /// Forgets every verified token, so a revocation holds from the next call on (other
    /// processes forget theirs when the revocation's commit reaches their change watcher).
    pub fn forget_verified_tokens(&self) {
        self.tokens.clear();
    }

    /// Starts a browser session; returns the cookie that carries its id.
    pub async fn start_session(&self, user: &UserRecord) -> Result<Cookie<'static>, StoreError> {
        let id = random_secret();
        let expires =
            now_plus(time::Duration::try_from(self.max_age).unwrap_or(time::Duration::DAY));
        self.store
            .create_session(&hash_secret(&id), user.id, &expires)
            .await?;
        Ok(self.cookie(self.session_cookie(), id, "/", self.max_age))
    }

    pub async fn end_session(&self, session_id: &str) -> Result<(), StoreError> {
        self.store.delete_session(&hash_secret(session_id)).await
    }

    /// A new personal access token: the secret is returned once and stored only hashed.
    pub async fn issue_token(
        &self,
        user: &UserRecord,
        name: &str,
        expires_in: Duration,
        scopes: Scopes,
    ) -> Result<(i64, String), StoreError> {
        let token = new_access_token();
        let expires_at =
            now_plus(time::Duration::try_from(expires_in).unwrap_or(time::Duration::DAY));
        let id = self
            .store
            .create_token(user, name, &hash_secret(&token), &expires_at, scopes)
            .await?;
        Ok((id, token))
    }

    /// `HttpOnly`, `SameSite=Lax`, `Secure` on https.
    pub fn cookie(
        &self,
        name: &'static str,
        value: String,
        path: &'static str,
        max_age: Duration,
    ) -> Cookie<'static> {
        Cookie::build((name, value))
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure_cookies)
            .path(path)
            .max_age(time::Duration::try_from(max_age).unwrap_or(time::Duration::HOUR))
            .build()
    }

    pub fn removal(&self, name: &'static str, path: &'static str) -> Cookie<'static> {
        let mut cookie = self.cookie(name, String::new(), path, Duration::ZERO);
        cookie.make_removal();
        cookie
    }
}

/// An engineer and a lead per configured team, and an admin.
fn dev_users(admin_groups: &[String], teams: &[TeamAccess]) -> Vec<DevUser> {
    let mut users = Vec::new();
    for access in teams {
        let team = access.team.as_str();
        users.push(DevUser {
            email: format!("{team}-engineer@example.com"),
            name: format!("{} Engineer", capitalised(team)),
            groups: access.member_groups.iter().take(1).cloned().collect(),
            description: format!("member of {team}"),
        });
        users.push(DevUser {
            email: format!("{team}-lead@example.com"),
            name: format!("{} Lead", capitalised(team)),
            groups: access
                .member_groups
                .iter()
                .chain(&access.lead_groups)
                .take(2)
                .cloned()
                .collect(),
            description: format!("lead of {team}"),
        });
    }
    if let Some(group) = admin_groups.first() {
        users.push(DevUser {
            email: "admin@example.com".into(),
            name: "Platform Admin".into(),
            groups: vec![group.clone()],
            description: "portal admin".into(),
        });
    }
    users
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_keeps_scheme_host_and_port() {
        assert_eq!(
            origin_of("https://portal.example.com/x").as_deref(),
            Some("https://portal.example.com")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:3000").as_deref(),
            Some("http://127.0.0.1:3000")
        );
        assert_eq!(origin_of("ftp://x"), None);
        assert_eq!(
            origin_of("HTTPS://Portal.Example.com:443/").as_deref(),
            Some("https://portal.example.com")
        );
        assert_eq!(
            origin_of("http://localhost:80").as_deref(),
            Some("http://localhost")
        );
    }

    #[test]
    fn dev_users_cover_each_role() {
        let teams = vec![TeamAccess {
            team: TeamName::parse("t", "payments").unwrap(),
            member_groups: vec!["payments".into()],
            lead_groups: vec!["payments-leads".into()],
        }];
        let users = dev_users(&["platform-admins".into()], &teams);
        let emails: Vec<&str> = users.iter().map(|u| u.email.as_str()).collect();
        assert_eq!(
            emails,
            [
                "payments-engineer@example.com",
                "payments-lead@example.com",
                "admin@example.com"
            ]
        );
        assert_eq!(users[1].groups, ["payments", "payments-leads"]);
    }
}
