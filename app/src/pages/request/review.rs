//! Reviewing a request: approvals so far, approve and reject (for those who may), and
//! comments for everyone who can read it.

use domain::request::{RequestLive, RequestStatus, view::Approval};
use leptos::prelude::*;

use super::RequestActions;
use crate::{api::CommentOnRequest, components::timestamp::Timestamp, error::action_error};

/// What the review panel shows: it is drawn again only when this changes.
#[derive(Clone, PartialEq)]
pub struct ReviewState {
    pending: bool,
    team: String,
    approvals: Vec<Approval>,
    required_approvals: u32,
    may_review: bool,
    may_retry: bool,
}

impl From<&RequestLive> for ReviewState {
    fn from(live: &RequestLive) -> Self {
        Self {
            pending: live.request.status == RequestStatus::PendingReview,
            team: live.request.team.to_string(),
            approvals: live.approvals.clone(),
            required_approvals: live.required_approvals,
            may_review: live.may_review,
            may_retry: live.may_retry,
        }
    }
}

/// `plan_hash` is the plan the page shows: approving or rejecting binds to it.
#[component]
pub fn ReviewPanel(
    id: i64,
    state: ReviewState,
    plan_hash: String,
    actions: RequestActions,
) -> impl IntoView {
    // Each form's children own their copy.
    let (approve_hash, reject_hash) = (plan_hash.clone(), plan_hash);
    let ReviewState {
        pending,
        team,
        approvals,
        required_approvals,
        may_review,
        may_retry,
    } = state;
    let summary = format!(
        "{} of {} approval{}",
        approvals.len(),
        required_approvals,
        if required_approvals == 1 { "" } else { "s" }
    );
    let approve = actions.approve;
    let reject = actions.reject;
    let busy = move || approve.pending().get() || reject.pending().get();
    let retry = actions.retry;
    let error = move || {
        action_error(approve.value().get())
            .or_else(|| action_error(reject.value().get()))
            .or_else(|| action_error(retry.value().get()))
    };
    view! {
        <section class="card review" data-testid="review">
            <h2>"Review " <span class="muted small" data-testid="approval-count">{summary}</span></h2>
            {(!approvals.is_empty()).then(|| view! {
                <ul class="plain">
                    {approvals.into_iter().map(|a| view! {
                        <li>"✓ " <strong title=a.by.clone()>{a.name.clone()}</strong>" approved "
                            <span class="muted"><Timestamp value=a.at.clone() /></span>
                            {(!a.comment.is_empty()).then(|| view! { <blockquote class="comment">{a.comment.clone()}</blockquote> })}
                        </li>
                    }).collect_view()}
                </ul>
            })}
            {match (may_review, pending) {
                (true, _) => view! {
                    <div class="review-forms">
                        // Both bind to the plan this page shows: a plan that changed
                        // since is refused, and the page shows the new one.
                        <ActionForm action=approve attr:class="review-form">
                            <input type="hidden" name="id" value=id />
                            <input type="hidden" name="plan_hash" value=approve_hash />
                            <label for="approve-comment">"Comment (optional)"</label>
                            <textarea id="approve-comment" name="comment" rows="2"></textarea>
                            <button type="submit" class="button" disabled=busy>"Approve"</button>
                        </ActionForm>
                        <ActionForm action=reject attr:class="review-form">
                            <input type="hidden" name="id" value=id />
                            <input type="hidden" name="plan_hash" value=reject_hash />
                            <label for="reject-comment">"Why reject? (required)"</label>
                            <textarea id="reject-comment" name="comment" rows="2" required></textarea>
                            <button type="submit" class="button secondary danger" disabled=busy>"Reject"</button>
                        </ActionForm>
                    </div>
                }.into_any(),
                (false, true) => view! {
                    <p class="muted">"Waiting for a lead of team "{team}" (not the requester) to review."</p>
                }.into_any(),
                (false, false) => ().into_any(),
            }}
            {may_retry.then(|| view! {
                <ActionForm action=actions.retry attr:class="actions">
                    <input type="hidden" name="id" value=id />
                    <button type="submit" class="button" disabled=move || actions.retry.pending().get()>"Retry"</button>
                    <span class="muted">" Queue the same change again, once the cause is fixed."</span>
                </ActionForm>
            })}
            <p class="field-error" role="alert">{error}</p>
        </section>
    }
}

#[component]
pub fn CommentForm(id: i64, action: ServerAction<CommentOnRequest>) -> impl IntoView {
    // A posted comment shows on the timeline: the box empties for the next one. Only on a
    // new answer (the version moves), so text typed after it is left alone.
    let textarea = NodeRef::<leptos::html::Textarea>::new();
    let posted = action.version();
    Effect::new(move |seen: Option<usize>| {
        let version = posted.get();
        if seen.is_some_and(|seen| seen != version)
            && matches!(action.value().get_untracked(), Some(Ok(_)))
            && let Some(textarea) = textarea.get_untracked()
        {
            textarea.set_value("");
        }
        version
    });
    view! {
        <ActionForm action attr:class="comment-form">
            <input type="hidden" name="id" value=id />
            <label for="comment">"Comment"</label>
            <textarea node_ref=textarea id="comment" name="comment" rows="2" placeholder="Ask a question or leave a note"></textarea>
            <button type="submit" class="button secondary" disabled=move || action.pending().get()>"Comment"</button>
            <p class="field-error" role="alert">{move || action_error(action.value().get())}</p>
        </ActionForm>
    }
}
