//! `/login`, `/auth/callback`, `/auth/dev`, `/logout`, `/signed-out`.

use std::{sync::Arc, time::Duration};

use axum::{
    Form,
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::CookieJar;
use domain::{Actor, auth::safe_return_to};
use serde::Deserialize;

use super::{
    Auth,
    flow_bound::Room,
    pages::{escape, page},
    secret::hash_secret,
};
use crate::{
    config::AuthMode,
    http::client_addr::ClientAddr,
    store::{SignIn, now_plus},
};

/// How long a sign-in at the IdP may take.
const LOGIN_FLOW_TTL: Duration = Duration::from_secs(10 * 60);

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("This sign-in link is not valid or has expired. Please sign in again.")]
    BadState,
    #[error("The identity provider reported: {0}")]
    Provider(String),
    #[error("{0}")]
    Oidc(#[from] super::OidcError),
    #[error("Too many failed sign-in attempts from your address. Wait a minute and try again.")]
    RateLimited,
    #[error("Too many sign-ins started from your address. Wait a minute and try again.")]
    TooManyStarts,
    #[error("Too many refused sign-ins for this account. Wait a quarter of an hour and try again.")]
    AccountRateLimited,
    #[error(
        "Too many sign-ins are in progress right now. Wait a few minutes and try again; if it persists, tell the portal's administrators."
    )]
    TooManyFlows,
    #[error("Unknown demo user.")]
    UnknownDevUser,
    #[error(
        "The email address {0} already belongs to another account. Ask a portal admin \
         if it should be yours."
    )]
    EmailHeld(String),
    #[error(
        "Your Stargate account ({0}) has been deactivated by an admin, so you cannot sign in. \
         Ask the platform team if you think this is a mistake."
    )]
    Deactivated(String),
    #[error("The portal could not complete the sign-in. Try again shortly.")]
    Store(crate::store::StoreError),
}

impl From<crate::store::StoreError> for SignInError {
    fn from(error: crate::store::StoreError) -> Self {
        match error {
            crate::store::StoreError::EmailHeld(email) => Self::EmailHeld(email),
            crate::store::StoreError::Deactivated(email) => Self::Deactivated(email),
            other => Self::Store(other),
        }
    }
}

impl SignInError {
    /// The error as a page. `dev_banner` is the development sign-in's banner, which every
    /// page carries in that mode, error pages included.
    fn into_page(self, dev_banner: bool) -> Response {
        let status = match &self {
            Self::BadState | Self::Provider(_) | Self::UnknownDevUser => StatusCode::BAD_REQUEST,
            Self::Oidc(super::OidcError::Discovery(_)) => StatusCode::BAD_GATEWAY,
            Self::Oidc(_) => StatusCode::UNAUTHORIZED,
            Self::RateLimited | Self::TooManyStarts | Self::AccountRateLimited => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Self::TooManyFlows => StatusCode::SERVICE_UNAVAILABLE,
            Self::EmailHeld(_) => StatusCode::FORBIDDEN,
            Self::Deactivated(_) => StatusCode::FORBIDDEN,
            Self::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        tracing::warn!(error = %self, status = status.as_u16(), "sign-in refused");
        let body = format!(
            r#"<p class="panel panel-error" role="alert">{}</p><p><a class="button" href="/login">Sign in again</a></p>"#,
            escape(&self.to_string())
        );
        page(status, "Sign-in failed", &body, dev_banner)
    }
}

/// What a sign-in handler answers: its response, or its error as a page.
fn respond(auth: &Auth, result: Result<Response, SignInError>) -> Response {
    result.unwrap_or_else(|error| error.into_page(auth.mode == AuthMode::Dev))
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    return_to: Option<String>,
}

fn return_target(requested: Option<&str>) -> String {
    requested
        .and_then(safe_return_to)
        .unwrap_or("/services")
        .to_owned()
}

pub async fn login(
    State(auth): State<Arc<Auth>>,
    client: ClientAddr,
    actor: Option<axum::Extension<Actor>>,
    jar: CookieJar,
    Query(query): Query<LoginQuery>,
) -> Response {
    let result = begin_sign_in(&auth, client, actor.is_some(), jar, query).await;
    respond(&auth, result)
}

async fn begin_sign_in(
    auth: &Auth,
    client: ClientAddr,
    signed_in: bool,
    jar: CookieJar,
    query: LoginQuery,
) -> Result<Response, SignInError> {
    let return_to = return_target(query.return_to.as_deref());
    if signed_in {
        return Ok(Redirect::to(&return_to).into_response());
    }
    let Some(oidc) = auth.oidc.as_ref() else {
        return Ok(dev_sign_in_page(auth, &return_to));
    };
    // Each start writes a row before anyone has signed in: limited per client, and the
    // table as a whole is bounded.
    if !auth.limits.starts.take(&client.0) {
        return Err(SignInError::TooManyStarts);
    }
    let (url, state, flow) = oidc.begin(&return_to).await?;
    let expires =
        now_plus(time::Duration::try_from(LOGIN_FLOW_TTL).unwrap_or(time::Duration::MINUTE));
    let room = match auth.flows.reserve() {
        Room::Yes => true,
        Room::Count => auth.flows.counted(auth.store.live_login_flows().await?),
    };
    if !room {
        tracing::error!(
            max_login_flows = auth.flows.max(),
            "sign-ins in flight are at auth.max_login_flows; refusing new ones"
        );
        return Err(SignInError::TooManyFlows);
    }
    auth.store
        .create_login_flow(&hash_secret(&state), &flow, &expires)
        .await?;
    // The state also rides in a cookie, so a callback only completes in the browser that
    // started it (no login CSRF).
    let jar = jar.add(auth.cookie(auth.login_cookie(), state, "/auth", LOGIN_FLOW_TTL));
    Ok((jar, Redirect::to(&url)).into_response())
}

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

pub async fn callback(
    State(auth): State<Arc<Auth>>,
    client: ClientAddr,
    jar: CookieJar,
    Query(query): Query<CallbackQuery>,
) -> Response {
    if auth.limits.failures.is_blocked(&client.0) {
        return respond(&auth, Err(SignInError::RateLimited));
    }
    let result = finish_sign_in(&auth, client, &jar, query).await;
    let jar = jar.remove(auth.removal(auth.login_cookie(), "/auth"));
    match result {
        Ok((session, return_to)) => (jar.add(session), Redirect::to(&return_to)).into_response(),
        Err(error) => {
            if error.is_the_clients() {
                auth.limits.failures.record(&client.0);
            }
            (jar, respond(&auth, Err(error))).into_response()
        }
    }
}

impl SignInError {
    /// Whether the failure counts against the client: not our outage or the IdP's.
    fn is_the_clients(&self) -> bool {
        !matches!(
            self,
            Self::Store(_) | Self::Oidc(super::OidcError::Discovery(_))
        )
    }
}

/// A sign-in the identity provider vouched for as `account` but we refuse: audited with
/// the client, at most as often as the per-account limit allows; past it, 429.
async fn refused_for_account(
    auth: &Auth,
    account: &str,
    client: ClientAddr,
    error: super::OidcError,
) -> SignInError {
    // Addresses differ in case from one IdP to another; the limit counts one account.
    if !auth.limits.refusals.record(&account.to_lowercase()) {
        tracing::warn!(%account, %client, "refused sign-ins for this account are over the limit");
        return SignInError::AccountRateLimited;
    }
    let client = client.to_string();
    if let Err(store) = auth
        .store
        .record_refused_sign_in(account, &error.to_string(), &client)
        .await
    {
        return store.into();
    }
    error.into()
}

async fn finish_sign_in(
    auth: &Auth,
    client: ClientAddr,
    jar: &CookieJar,
    query: CallbackQuery,
) -> Result<(axum_extra::extract::cookie::Cookie<'static>, String), SignInError> {
    if let Some(error) = query.error {
        let detail = query.error_description.unwrap_or_default();
        return Err(SignInError::Provider(
            format!("{error} {detail}").trim().to_owned(),
        ));
    }
    let (Some(code), Some(state)) = (query.code, query.state) else {
        return Err(SignInError::BadState);
    };
    let cookie_state = jar.get(auth.login_cookie()).map(|c| c.value().to_owned());
    if cookie_state.as_deref() != Some(state.as_str()) {
        return Err(SignInError::BadState);
    }
    // Taking the flow deletes it: a replayed callback finds nothing.
    let flow = auth
        .store
        .take_login_flow(&hash_secret(&state))
        .await?
        .ok_or(SignInError::BadState)?;
    let oidc = auth.oidc.as_ref().ok_or(SignInError::BadState)?;
    let who = match oidc.finish(code, &flow).await {
        Ok(who) => who,
        Err(error) => match error.account().map(str::to_owned) {
            Some(account) => return Err(refused_for_account(auth, &account, client, error).await),
            None => return Err(error.into()),
        },
    };
    let sealed_refresh =
        who.refresh_token
            .as_ref()
            .zip(auth.sealer.as_ref())
            .map(|(token, sealer)| {
                use secrecy::ExposeSecret;
                sealer.seal(token.expose_secret())
            });
    let client_text = client.to_string();
    let user = auth
        .store
        .sign_in_user(SignIn {
            identity: Some((&who.issuer, &who.subject)),
            email: &who.email,
            name: &who.name,
            groups: &who.groups,
            via: "oidc",
            client: &client_text,
            refresh_token_sealed: sealed_refresh.as_deref(),
        })
        .await?;
    tracing::info!(email = %user.email, groups = ?user.groups, %client, "signed in");
    Ok((auth.start_session(&user).await?, flow.return_to))
}

#[derive(Debug, Deserialize)]
pub struct DevSignIn {
    email: String,
    return_to: Option<String>,
}

pub async fn dev_sign_in(
    State(auth): State<Arc<Auth>>,
    client: ClientAddr,
    jar: CookieJar,
    Form(form): Form<DevSignIn>,
) -> Response {
    let result = sign_in_as_demo_user(&auth, client, jar, form).await;
    respond(&auth, result)
}

async fn sign_in_as_demo_user(
    auth: &Auth,
    client: ClientAddr,
    jar: CookieJar,
    form: DevSignIn,
) -> Result<Response, SignInError> {
    if auth.mode != AuthMode::Dev {
        return Ok(StatusCode::NOT_FOUND.into_response());
    }
    let dev = auth
        .dev_users
        .iter()
        .find(|u| u.email == form.email)
        .ok_or(SignInError::UnknownDevUser)?;
    let user = auth
        .store
        .sign_in_user(SignIn {
            identity: None,
            email: &dev.email,
            name: &dev.name,
            groups: &dev.groups,
            via: "dev",
            client: &client.to_string(),
            refresh_token_sealed: None,
        })
        .await?;
    let session = auth.start_session(&user).await?;
    Ok((
        jar.add(session),
        Redirect::to(&return_target(form.return_to.as_deref())),
    )
        .into_response())
}

fn dev_sign_in_page(auth: &Auth, return_to: &str) -> Response {
    let users: String = auth
        .dev_users
        .iter()
        .map(|u| {
            format!(
                r#"<li><form method="post" action="/auth/dev"><input type="hidden" name="email" value="{email}"><input type="hidden" name="return_to" value="{return_to}"><button class="button secondary dev-user" type="submit"><strong>{name}</strong><span class="muted">{description} · {email}</span></button></form></li>"#,
                email = escape(&u.email),
                name = escape(&u.name),
                description = escape(&u.description),
                return_to = escape(return_to),
            )
        })
        .collect();
    let body = if users.is_empty() {
        "<p>No teams or admin groups are configured, so there are no demo users. Start with <code>stargate serve --demo</code>.</p>".to_owned()
    } else {
        format!(
            r#"<p class="muted">Pick who to be. This page exists only in development mode.</p><ul class="dev-users">{users}</ul>"#
        )
    };
    page(StatusCode::OK, "Sign in", &body, true)
}

pub async fn logout(State(auth): State<Arc<Auth>>, jar: CookieJar) -> Response {
    let result = sign_out(&auth, jar).await;
    respond(&auth, result)
}

async fn sign_out(auth: &Auth, jar: CookieJar) -> Result<Response, SignInError> {
    if let Some(session) = jar.get(auth.session_cookie()) {
        auth.end_session(session.value()).await?;
    }
    let jar = jar.remove(auth.removal(auth.session_cookie(), "/"));
    Ok((jar, Redirect::to("/signed-out")).into_response())
}

pub async fn signed_out(State(auth): State<Arc<Auth>>) -> Response {
    page(
        StatusCode::OK,
        "Signed out",
        r#"<p>You have signed out of Stargate.</p><p><a class="button" href="/login">Sign in again</a></p>"#,
        auth.mode == AuthMode::Dev,
    )
}
