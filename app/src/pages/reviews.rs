//! The review queue: pending requests of the teams you lead (every team for admins),
//! oldest first, never your own. Tick several and approve them at once: each is still its
//! own approval, bound to the plan hash shown beside it here. Before the wasm bundle
//! arrives (or without it) the form is a plain post to `/reviews`, which the server answers
//! with this page, the results above the queue.

use std::collections::BTreeSet;

use domain::request::bulk::{ApprovalItem, ApprovalResult, ReviewItem};
use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    api::{ApproveSelected, review_queue},
    components::{
        empty_state::EmptyState, error_panel::ErrorPanel, island::island_ready,
        island_preload::PreloadIsland, timestamp::Timestamp,
    },
    error::action_error,
};

/// What a plain form post of "Approve selected" came to, rendered into the page.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PostedApprovals {
    pub results: Vec<ApprovalResult>,
    /// Why nothing was approved (nothing selected, a comment too long, ...).
    pub message: Option<String>,
}

/// The server puts a plain post's answer in context; the browser gets it with the page.
fn posted_approvals() -> Option<PostedApprovals> {
    #[cfg(feature = "ssr")]
    {
        use_context::<PostedApprovals>()
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}

/// A row's checkbox value: the request and the plan hash the row was shown with.
fn checkbox_value(item: &ReviewItem) -> String {
    format!("{}:{}", item.request.id, item.plan_hash)
}

/// The approvals and comment of a plain form post: each ticked `approve` box as
/// `checkbox_value` wrote it. A value that is not one becomes an item the list's check
/// names (request id 0).
pub fn approvals_from_form(fields: &[(String, String)]) -> (Vec<ApprovalItem>, String) {
    let items = fields
        .iter()
        .filter(|(name, _)| name == "approve")
        .map(|(_, value)| {
            let (id, hash) = value.split_once(':').unwrap_or((value, ""));
            ApprovalItem {
                request_id: id.trim().parse().unwrap_or(0),
                plan_hash: hash.trim().to_owned(),
            }
        })
        .collect();
    let comment = fields
        .iter()
        .find(|(name, _)| name == "comment")
        .map(|(_, value)| value.clone())
        .unwrap_or_default();
    (items, comment)
}

#[component]
pub fn ReviewsPage() -> impl IntoView {
    view! {
        <PreloadIsland island="review_queue" />
        <Title text="Reviews" />
        <div class="page-header">
            <h1>"Reviews"</h1>
            <p class="muted">"Requests waiting for you, oldest first. Read each plan, then approve or reject it, or tick several and approve them at once."</p>
        </div>
        <ReviewQueue posted=posted_approvals() />
    }
}

/// The queue with its selection, and what the last bulk approval did.
#[island(lazy)]
fn ReviewQueue(posted: Option<PostedApprovals>) -> impl IntoView {
    island_ready();
    let approve = ServerAction::<ApproveSelected>::new();
    // Reloaded after every bulk approval: approved requests leave the queue.
    let queue = Resource::new(move || approve.version().get(), |_| review_queue());
    let selected = RwSignal::new(BTreeSet::<i64>::new());
    // Controls that need the bundle (team selection, the live count) appear once it runs.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let results_panel = NodeRef::<leptos::html::Section>::new();
    Effect::new(move |seen: Option<usize>| {
        let version = approve.version().get();
        if seen.is_some_and(|seen| seen != version) {
            selected.set(BTreeSet::new());
            // The form is drawn afresh: keyboard focus goes to what happened.
            if let Some(panel) = results_panel.get_untracked() {
                let _ = panel.focus();
            }
        }
        version
    });

    view! {
        <section node_ref=results_panel class="approval-results" aria-live="polite" aria-label="Approval results"
            tabindex="-1" data-testid="approval-results">
            {move || approve.pending().get().then(|| view! { <p class="loading">"Approving the selected requests…"</p> })}
            {move || match approve.value().get() {
                Some(Ok(results)) => Some(view! { <ResultList results /> }.into_any()),
                Some(Err(error)) => Some(view! {
                    <p class="field-error" role="alert">"Nothing was approved: "{action_error::<()>(Some(Err(error)))}</p>
                }.into_any()),
                None => None,
            }}
        </section>
        <Transition fallback=|| view! { <p class="loading">"Loading the queue…"</p> }>
            {move || {
                let posted = posted.clone();
                Suspend::new(async move {
                // A plain post's answer, until the page makes answers of its own.
                let posted = posted.filter(|_| approve.value().with_untracked(Option::is_none));
                let posted = posted.map(|p| match p.message {
                    Some(message) => view! {
                        <p class="field-error" role="alert">"Nothing was approved: "{message}</p>
                    }.into_any(),
                    None => view! { <ResultList results=p.results /> }.into_any(),
                });
                let queue = match queue.await {
                    Ok(items) if items.is_empty() => view! {
                        <EmptyState title="Nothing to review" hint="Requests from your teams show up here while they wait for a lead." />
                    }.into_any(),
                    Ok(items) => view! { <QueueForm items approve selected hydrated /> }.into_any(),
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                };
                view! { {posted} {queue} }
            })}}
        </Transition>
    }
}

/// The queue as a form: a checkbox per request, "select all" per team, one comment and
/// "Approve selected".
#[component]
fn QueueForm(
    items: Vec<ReviewItem>,
    approve: ServerAction<ApproveSelected>,
    selected: RwSignal<BTreeSet<i64>>,
    hydrated: RwSignal<bool>,
) -> impl IntoView {
    let comment = NodeRef::<leptos::html::Textarea>::new();
    let shown: Vec<ApprovalItem> = items
        .iter()
        .map(|i| ApprovalItem {
            request_id: i.request.id,
            plan_hash: i.plan_hash.clone(),
        })
        .collect();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let chosen = selected.get_untracked();
        let approvals: Vec<ApprovalItem> = shown
            .iter()
            .filter(|item| chosen.contains(&item.request_id))
            .cloned()
            .collect();
        let comment = comment
            .get_untracked()
            .map(|c| c.value())
            .unwrap_or_default();
        approve.dispatch(ApproveSelected { approvals, comment });
    };
    // Teams in queue order, each with its requests.
    let mut teams: Vec<(String, Vec<i64>)> = Vec::new();
    for item in &items {
        let team = item.request.team.to_string();
        match teams.iter_mut().find(|(name, _)| *name == team) {
            Some((_, ids)) => ids.push(item.request.id),
            None => teams.push((team, vec![item.request.id])),
        }
    }
    let count = move || selected.with(BTreeSet::len);
    let busy = move || approve.pending().get();
    view! {
        <form method="post" action="/reviews" on:submit=on_submit data-testid="bulk-approve">
            {move || hydrated.get().then(|| {
                let buttons = teams.clone().into_iter()
                    .map(|(team, ids)| view! { <SelectTeam team ids selected /> })
                    .collect_view();
                view! { <div class="bulk-select" role="group" aria-label="Select by team">{buttons}</div> }
            })}
            <table class="table" data-testid="review-queue">
                <thead><tr>
                    <th scope="col"><span class="sr-only">"Select"</span></th>
                    <th scope="col">"Request"</th><th scope="col">"Team"</th>
                    <th scope="col">"Asked by"</th><th scope="col">"Waiting since"</th>
                </tr></thead>
                <tbody>
                    {items.into_iter().map(|r| {
                        let id = r.request.id;
                        let input = format!("select-{id}");
                        view! {
                            <tr>
                                <td>
                                    <input type="checkbox" id=input.clone() name="approve" value=checkbox_value(&r)
                                        prop:checked=move || selected.with(|s| s.contains(&id))
                                        on:change=move |ev| {
                                            let on = event_target_checked(&ev);
                                            selected.update(|s| { if on { s.insert(id); } else { s.remove(&id); } });
                                        } />
                                    <label for=input class="sr-only">{format!("Select #{} {}", id, r.request.title)}</label>
                                </td>
                                <td><a href=format!("/requests/{id}")>{format!("#{} {}", id, r.request.title)}</a></td>
                                <td>{r.request.team.to_string()}</td>
                                <td title=r.request.requester.clone()>{r.request.requester_name.clone()}</td>
                                <td><Timestamp value=r.request.created_at.clone() /></td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            <div class="card bulk-actions">
                <label for="bulk-comment">"Comment on every approval (optional)"</label>
                <textarea node_ref=comment id="bulk-comment" name="comment" rows="2"></textarea>
                <button type="submit" class="button" disabled=move || hydrated.get() && (busy() || count() == 0)>
                    {move || match (busy(), hydrated.get()) {
                        (true, _) => "Approving…".to_owned(),
                        (false, true) => format!("Approve selected ({})", count()),
                        (false, false) => "Approve selected".to_owned(),
                    }}
                </button>
                <p class="muted small">"Each request is approved on its own, bound to the plan it had when this page loaded: one whose plan changed since is left for you to read again."</p>
            </div>
        </form>
    }
}

/// Selects every request of one team, or clears them when all are selected.
#[component]
fn SelectTeam(team: String, ids: Vec<i64>, selected: RwSignal<BTreeSet<i64>>) -> impl IntoView {
    let ids = StoredValue::new(ids);
    let all = move || selected.with(|s| ids.with_value(|ids| ids.iter().all(|id| s.contains(id))));
    let toggle = move |_| {
        let clear = all();
        selected.update(|s| {
            ids.with_value(|ids| {
                for id in ids {
                    if clear {
                        s.remove(id);
                    } else {
                        s.insert(*id);
                    }
                }
            });
        });
    };
    view! {
        <button type="button" class="button secondary small" on:click=toggle>
            {move || if all() { format!("Clear team {team}") } else { format!("Select all of team {team}") }}
        </button>
    }
}

/// Per request, what became of its approval.
#[component]
fn ResultList(results: Vec<ApprovalResult>) -> impl IntoView {
    let approved = results.iter().filter(|r| r.approved).count();
    let total = results.len();
    let class = if approved == total {
        "panel panel-success approval-summary"
    } else {
        "panel panel-note approval-summary"
    };
    view! {
        <div class=class>
            <p><strong>{format!("Approved {approved} of {total}.")}</strong></p>
            <ul class="plain" data-testid="approval-result-list">
                {results.into_iter().map(|r| {
                    let id = r.request_id;
                    let (mark, verdict) = if r.approved { ("✓", "") } else { ("✗", "not approved: ") };
                    view! {
                        <li data-request=id data-outcome=r.outcome.as_str()>
                            <span aria-hidden="true">{mark}" "</span>
                            <a href=format!("/requests/{id}")>{format!("#{id}")}</a>
                            " "{verdict}{r.message}
                        </li>
                    }
                }).collect_view()}
            </ul>
        </div>
    }
}
