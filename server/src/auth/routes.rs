//! `/login`, `/auth/callback`, `/auth/dev`, `/logout`, `/signed-out`.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    Form,
    extract::{ConnectInfo, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::CookieJar;
use domain::{Actor, auth::safe_return_to};
use serde::Deserialize;

use super::{
    Auth,
    pages::{escape, page},
    secret::hash_secret,
};
use crate::{config::AuthMode, store::now_plus};

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
    #[error("Unknown demo user.")]
    UnknownDevUser,
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
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::Deactivated(_) => StatusCode::FORBIDDEN,
            Self::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        tracing::warn!(error = %self, "sign-in refused");
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
    actor: Option<axum::Extension<Actor>>,
    jar: CookieJar,
    Query(query): Query<LoginQuery>,
) -> Response {
    let result = begin_sign_in(&auth, actor.is_some(), jar, query).await;
    respond(&auth, result)
}

async fn begin_sign_in(
    auth: &Auth,
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
    let (url, state, flow) = oidc.begin(&return_to).await?;
    let expires =
        now_plus(time::Duration::try_from(LOGIN_FLOW_TTL).unwrap_or(time::Duration::MINUTE));
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
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    jar: CookieJar,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let client = client.ip();
    if auth.failures.is_blocked(client) {
        return respond(&auth, Err(SignInError::RateLimited));
    }
    let result = finish_sign_in(&auth, &jar, query).await;
    let jar = jar.remove(auth.removal(auth.login_cookie(), "/auth"));
    match result {
        Ok((session, return_to)) => (jar.add(session), Redirect::to(&return_to)).into_response(),
        Err(error) => {
            auth.failures.record_failure(client);
            (jar, respond(&auth, Err(error))).into_response()
        }
    }
}

async fn finish_sign_in(
    auth: &Auth,
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
    let who = oidc.finish(code, &flow).await?;
    let user = auth
        .store
        .sign_in_user(&who.email, &who.name, &who.groups, "oidc")
        .await?;
    tracing::info!(email = %user.email, groups = ?user.groups, "signed in");
    Ok((auth.start_session(&user).await?, flow.return_to))
}

#[derive(Debug, Deserialize)]
pub struct DevSignIn {
    email: String,
    return_to: Option<String>,
}

pub async fn dev_sign_in(
    State(auth): State<Arc<Auth>>,
    jar: CookieJar,
    Form(form): Form<DevSignIn>,
) -> Response {
    let result = sign_in_as_demo_user(&auth, jar, form).await;
    respond(&auth, result)
}

async fn sign_in_as_demo_user(
    auth: &Auth,
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
        .sign_in_user(&dev.email, &dev.name, &dev.groups, "dev")
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
