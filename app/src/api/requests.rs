//! Server functions for requests: preview, submit, list, read, cancel, review.

use domain::{
    Page,
    request::{
        RequestLive, RequestSummary,
        bulk::{ApprovalItem, ApprovalResult, ReviewItem},
        view::RawRequestQuery,
    },
};
use leptos::{prelude::*, server_fn::codec::Json};
use serde_json::Value;

#[cfg(feature = "ssr")]
use super::{actor, answer, portal};
use crate::error::UiError;

/// The form's live preview: the same checks, rendering and plan as a submit, nothing stored.
/// It comes as HTML drawn by the server (notes, plan, manifests), so the bundle carries none
/// of the plan's types or their drawing.
#[server(prefix = "/rpc", endpoint = "requests/preview", input = Json)]
pub async fn preview_request(input: Value) -> Result<String, UiError> {
    answer(
        async move {
            let change = portal()?.preview_request(&actor()?, &input).await?;
            Ok(crate::components::plan::preview_html(change))
        }
        .await,
    )
}

/// The request body that would submit the approved state of an object again (`kind`
/// service, ingress or certificate; `name` the service, host or certificate): what
/// "Change" fills the form with. `None` when no applied request made it.
#[server(prefix = "/rpc", endpoint = "requests/approved", input = Json)]
pub async fn approved_input(
    kind: String,
    team: String,
    name: String,
) -> Result<Option<Value>, UiError> {
    answer(
        async move {
            let kind = domain::request::RequestKind::parse("kind", &kind)
                .map_err(|e| UiError::Invalid(domain::FieldErrors(vec![e])))?;
            Ok(portal()?
                .approved_input(&actor()?, kind, &team, &name)
                .await?)
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "requests/submit", input = Json)]
pub async fn submit_request(input: Value) -> Result<i64, UiError> {
    // The form only goes on to the new request's page: its number is all it needs.
    answer(
        async move {
            Ok(portal()?
                .submit_request(&actor()?, &input)
                .await?
                .request
                .id)
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "requests", input = Json)]
pub async fn list_requests(query: RawRequestQuery) -> Result<Page<RequestSummary>, UiError> {
    answer(
        async move {
            let query = domain::request::RequestQuery::parse(&query).map_err(UiError::Invalid)?;
            Ok(portal()?.list_requests(&actor()?, &query).await?)
        }
        .await,
    )
}

/// A request whole, plan included: for pages the server draws (the wasm has no plan types).
#[cfg(feature = "ssr")]
#[server(prefix = "/rpc", endpoint = "request", input = Json)]
pub async fn get_request(id: i64) -> Result<domain::request::RequestDetail, UiError> {
    answer(async move { Ok(portal()?.request(&actor()?, id).await?) }.await)
}

/// What a request page follows live (the plan by its hash only). The actions below answer
/// with it too.
#[server(prefix = "/rpc", endpoint = "request/live", input = Json)]
pub async fn get_request_live(id: i64) -> Result<RequestLive, UiError> {
    answer(async move { Ok(portal()?.request(&actor()?, id).await?.into()) }.await)
}

/// Form-encoded, so the cancel button works before the page is interactive.
#[server(prefix = "/rpc", endpoint = "requests/cancel")]
pub async fn cancel_request(id: i64) -> Result<RequestLive, UiError> {
    answer(async move { Ok(portal()?.cancel_request(&actor()?, id).await?.into()) }.await)
}

/// Form-encoded: approving works from a plain form post too. `plan_hash` is the plan the
/// page showed: the approval binds to it, and is refused if the plan has changed since.
#[server(prefix = "/rpc", endpoint = "requests/approve")]
pub async fn approve_request(
    id: i64,
    comment: String,
    plan_hash: String,
) -> Result<RequestLive, UiError> {
    answer(
        async move {
            let review = domain::Review { comment, plan_hash };
            Ok(portal()?
                .approve_request(&actor()?, id, &review)
                .await?
                .into())
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "requests/reject")]
pub async fn reject_request(
    id: i64,
    comment: String,
    plan_hash: String,
) -> Result<RequestLive, UiError> {
    answer(
        async move {
            let review = domain::Review { comment, plan_hash };
            Ok(portal()?
                .reject_request(&actor()?, id, &review)
                .await?
                .into())
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "requests/comment")]
pub async fn comment_on_request(id: i64, comment: String) -> Result<RequestLive, UiError> {
    answer(
        async move {
            Ok(portal()?
                .comment_on_request(&actor()?, id, &comment)
                .await?
                .into())
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "reviews", input = Json)]
pub async fn review_queue() -> Result<Vec<ReviewItem>, UiError> {
    answer(async move { Ok(portal()?.review_queue(&actor()?).await?) }.await)
}

/// The review queue's "Approve selected": each request bound to the plan hash the queue
/// showed. Without wasm the page posts the same form to `POST /reviews` instead.
#[server(prefix = "/rpc", endpoint = "reviews/approve", input = Json)]
pub async fn approve_selected(
    approvals: Vec<ApprovalItem>,
    comment: String,
) -> Result<Vec<ApprovalResult>, UiError> {
    answer(
        async move {
            let bulk = domain::request::bulk::BulkApproval::new(approvals, &comment)
                .map_err(UiError::Invalid)?;
            Ok(portal()?.approve_requests(&actor()?, &bulk).await?)
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "requests/retry")]
pub async fn retry_request(id: i64) -> Result<RequestLive, UiError> {
    answer(async move { Ok(portal()?.retry_request(&actor()?, id).await?.into()) }.await)
}
