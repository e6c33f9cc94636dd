//! Plain form posts from pages the wasm bundle has not taken over (slow, broken or turned
//! off): the same portal operation as the page's JSON call, answered with a redirect to
//! the result or with the page again, the inputs as typed and the errors in place.

use app::{
    PostedApprovals, PostedRequest, PostedToken, approvals_from_form,
    error::{UiError, action_error},
    request_input, shell, token_form,
};
use axum::{
    Form,
    body::Body,
    extract::{FromRequest, Request, State},
    http::{HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Redirect, Response},
};
use domain::{
    Actor, AuthMethod, PortalError,
    portal::require_session,
    request::{RequestKind, bulk::BulkApproval},
};
use leptos::prelude::provide_context;

use super::{AppState, error::ApiError};

/// `POST /requests/new`: the new-request form. A request that passes goes to its page
/// (303); one that does not gets the form back with the status the API would answer.
pub async fn submit_request(State(state): State<AppState>, request: Request) -> Response {
    let (actor, parts, fields) = match posted_form(&state, request, "submit a request").await {
        Ok(posted) => posted,
        Err(refused) => return refused,
    };
    let field = |name: &str| form_value(&fields, name).unwrap_or_default().to_owned();
    let kind = RequestKind::parse("kind", &field("kind")).unwrap_or(RequestKind::Service);
    let input = request_input(kind, field);
    let error = match state.portal.submit_request(&actor, &input).await {
        Ok(detail) => {
            return Redirect::to(&format!("/requests/{}", detail.request.id)).into_response();
        }
        Err(error) => error,
    };
    let status = ApiError::from(error.clone()).status();
    let posted = match error {
        PortalError::Invalid(errors) => PostedRequest {
            fields,
            errors: errors.0,
            message: None,
        },
        other => PostedRequest {
            fields,
            errors: Vec::new(),
            message: Some(UiError::from(other).to_string()),
        },
    };
    render_page(&state, parts, status, posted).await
}

/// `POST /reviews`: "Approve selected" in the review queue. The queue comes back with each
/// request's result above it (200), or with why nothing was approved (the API's status).
pub async fn approve_selected(State(state): State<AppState>, request: Request) -> Response {
    let (actor, parts, fields) = match posted_form(&state, request, "approve requests").await {
        Ok(posted) => posted,
        Err(refused) => return refused,
    };
    let (items, comment) = approvals_from_form(&fields);
    let answer = match BulkApproval::new(items, &comment) {
        Ok(approvals) => state.portal.approve_requests(&actor, &approvals).await,
        Err(errors) => Err(PortalError::Invalid(errors)),
    };
    let (status, posted) = match answer {
        Ok(results) => (
            StatusCode::OK,
            PostedApprovals {
                results,
                message: None,
            },
        ),
        Err(error) => (
            ApiError::from(error.clone()).status(),
            PostedApprovals {
                results: Vec::new(),
                message: action_error::<()>(Some(Err(UiError::from(error)))),
            },
        ),
    };
    render_page(&state, parts, status, posted).await
}

/// `POST /settings/tokens`: "Create token". The tokens page comes back with the new secret
/// shown this once (201, never stored by a cache), or with why it was refused.
pub async fn create_token(State(state): State<AppState>, request: Request) -> Response {
    let (actor, parts, fields) = match posted_form(&state, request, "create a token").await {
        Ok(posted) => posted,
        Err(refused) => return refused,
    };
    if let Err(refused) = require_session(parts.extensions.get::<AuthMethod>().copied()) {
        return ApiError::from(refused).into_response();
    }
    let value = |name: &str| form_value(&fields, name);
    let name = value("name").unwrap_or_default().to_owned();
    let form = token_form(
        name.clone(),
        value("expires_in_days").unwrap_or_default().to_owned(),
        value("scope_request").is_some(),
        value("scope_review").is_some(),
    );
    let answer = state.portal.create_token(&actor, &form).await;
    let status = match &answer {
        Ok(_) => StatusCode::CREATED,
        Err(error) => ApiError::from(error.clone()).status(),
    };
    let posted = PostedToken::answered(answer.map_err(UiError::from), name);
    let mut response = render_page(&state, parts, status, posted).await;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The first value posted for `name`.
fn form_value<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// Who posted, the request's parts (to render the page again) and the form's fields;
/// or the answer to a post nobody signed in made, or one that is not a form.
async fn posted_form(
    state: &AppState,
    request: Request,
    what: &str,
) -> Result<(Actor, Parts, Vec<(String, String)>), Response> {
    let (parts, body) = request.into_parts();
    let Some(actor) = parts.extensions.get::<Actor>().cloned() else {
        return Err(ApiError::Forbidden(format!("sign in to {what}")).into_response());
    };
    match Form::<Vec<(String, String)>>::from_request(
        Request::from_parts(parts.clone(), body),
        state,
    )
    .await
    {
        Ok(Form(fields)) => Ok((actor, parts, fields)),
        Err(rejection) => Err(rejection.into_response()),
    }
}

/// The page the form was on, rendered with `posted` (what the post came to) in context.
async fn render_page<T>(state: &AppState, parts: Parts, status: StatusCode, posted: T) -> Response
where
    T: Clone + Send + Sync + 'static,
{
    let context = state.page_context();
    let options = state.leptos_options.clone();
    let render = leptos_axum::render_app_async_with_context(
        move || {
            provide_context(context.clone());
            provide_context(posted.clone());
        },
        move || shell(options.clone()),
    );
    let mut response = render(Request::from_parts(parts, Body::empty())).await;
    *response.status_mut() = status;
    response
}
