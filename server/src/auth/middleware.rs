//! Per request: who is asking (bearer token or session cookie), CSRF defence for browser
//! writes, and the sign-in requirement of protected routes. A signed-in request carries
//! its `Actor`, its `AuthMethod` and its `Credential` (for event streams, which end when
//! it stops working) as extensions.

use std::sync::Arc;

use axum::{
    Json,
    extract::{Request, State},
    http::{HeaderMap, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::CookieJar;
use domain::{Actor, AuthMethod};
use serde_json::json;

use super::{Auth, TokenCheck};
use crate::http::client_addr::ClientAddr;

fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": code, "message": message, "fields": [] })),
    )
        .into_response()
}

/// Whether a browser request comes from our own pages: `Origin` (or, failing that,
/// `Referer`) must be the portal's public origin.
fn same_origin(headers: &HeaderMap, public_origin: &str) -> bool {
    if let Some(origin) = headers.get(header::ORIGIN) {
        return origin.to_str().is_ok_and(|o| o == public_origin);
    }
    headers
        .get(header::REFERER)
        .and_then(|r| r.to_str().ok())
        .is_some_and(|r| r == public_origin || r.starts_with(&format!("{public_origin}/")))
}

pub async fn resolve_actor(
    State(auth): State<Arc<Auth>>,
    jar: CookieJar,
    mut request: Request,
    next: Next,
) -> Response {
    let client = request
        .extensions()
        .get::<ClientAddr>()
        .map_or([127, 0, 0, 1].into(), |c| c.0);
    let unsafe_method = !request.method().is_safe();
    // `/metrics` has its own bearer token (`metrics.token`), not an access token: a scraper
    // presenting it must not count as a failed sign-in.
    if request.uri().path() == "/metrics" {
        return next.run(request).await;
    }

    // Only `Bearer` is ours; other schemes (e.g. a proxy's Basic auth) are not tokens.
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned());
    if let Some(token) = bearer {
        match auth.from_token(&token).await {
            Ok(TokenCheck::Valid(actor, credential)) => {
                request.extensions_mut().insert(actor);
                request.extensions_mut().insert(AuthMethod::Token);
                request.extensions_mut().insert(credential);
            }
            // A valid token always works; only failures count, and only they are refused
            // once an address failed too often.
            Ok(TokenCheck::StaleGroups { max_age_hours }) => {
                return json_error(
                    StatusCode::UNAUTHORIZED,
                    "groups_expired",
                    &format!(
                        "this token's groups were last confirmed by the identity provider over \
                         {max_age_hours} hours ago (auth.groups_max_age_hours); sign in to the \
                         portal once to confirm them and the token works again"
                    ),
                );
            }
            Ok(TokenCheck::Invalid) if auth.limits.failures.is_blocked(&client) => {
                return json_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    "too many failed attempts; wait a minute",
                );
            }
            Ok(TokenCheck::Invalid) => {
                auth.limits.failures.record(&client);
                tracing::warn!(%client, "rejected an invalid, expired or revoked access token");
                return json_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_token",
                    "the access token is invalid, expired or revoked",
                );
            }
            Err(error) => {
                tracing::error!(%error, "token lookup failed");
                return json_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "try again shortly",
                );
            }
        }
    } else {
        // Browser writes must come from our own pages (SameSite=Lax plus this check). An
        // API call that carries no credentials at all is not a forgery risk: it goes on
        // and gets its 401.
        let credential_free_api =
            jar.get(auth.session_cookie()).is_none() && request.uri().path().starts_with("/api/");
        if unsafe_method
            && !credential_free_api
            && !same_origin(request.headers(), &auth.public_origin)
        {
            return json_error(
                StatusCode::FORBIDDEN,
                "cross_origin",
                "cross-site request refused",
            );
        }
        if let Some(session) = jar.get(auth.session_cookie()) {
            match auth.from_session(session.value()).await {
                Ok(Some((actor, credential))) => {
                    request.extensions_mut().insert(actor);
                    request.extensions_mut().insert(AuthMethod::Session);
                    request.extensions_mut().insert(credential);
                }
                // Expired, ended or forged: carry on as anonymous.
                Ok(None) => {}
                Err(error) => {
                    tracing::error!(%error, "session lookup failed");
                    return json_error(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "unavailable",
                        "try again shortly",
                    );
                }
            }
        }
    }
    next.run(request).await
}

/// Protected routes: the API answers 401, pages send the browser to sign in and back.
pub async fn require_actor(request: Request, next: Next) -> Response {
    if request.extensions().get::<Actor>().is_some() {
        return next.run(request).await;
    }
    let path = request.uri().path();
    if path.starts_with("/api/") || path.starts_with("/rpc/") {
        return json_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "sign in or send a personal access token",
        );
    }
    let target = request.uri().path_and_query().map_or("/", |p| p.as_str());
    Redirect::to(&format!("/login?return_to={}", urlencoding_path(target))).into_response()
}

fn urlencoding_path(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(k.clone(), v.parse().unwrap());
        }
        map
    }

    #[test]
    fn origin_must_match_exactly() {
        let ours = "http://127.0.0.1:3000";
        assert!(same_origin(&headers(&[(header::ORIGIN, ours)]), ours));
        assert!(!same_origin(
            &headers(&[(header::ORIGIN, "http://127.0.0.1:3000.evil.example")]),
            ours
        ));
        assert!(!same_origin(&headers(&[(header::ORIGIN, "null")]), ours));
        assert!(same_origin(
            &headers(&[(header::REFERER, "http://127.0.0.1:3000/services")]),
            ours
        ));
        assert!(!same_origin(
            &headers(&[(header::REFERER, "http://127.0.0.1:30001/")]),
            ours
        ));
        assert!(!same_origin(&HeaderMap::new(), ours));
    }

    #[test]
    fn return_target_is_percent_encoded() {
        assert_eq!(
            urlencoding_path("/services?q=a b&team=x"),
            "/services%3Fq%3Da%20b%26team%3Dx"
        );
    }
}
