//! The review queue: pending requests of the teams you lead (every team for admins),
//! oldest first, never your own.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::{
    api::review_queue,
    components::{empty_state::EmptyState, error_panel::ErrorPanel, timestamp::Timestamp},
};

#[component]
pub fn ReviewsPage() -> impl IntoView {
    let queue = Resource::new(|| (), |_| review_queue());
    view! {
        <Title text="Reviews" />
        <div class="page-header">
            <h1>"Reviews"</h1>
            <p class="muted">"Requests waiting for you, oldest first. Read the plan, then approve or reject."</p>
        </div>
        <Transition fallback=|| view! { <p class="loading">"Loading the queue…"</p> }>
            {move || Suspend::new(async move {
                match queue.await {
                    Ok(items) if items.is_empty() => view! {
                        <EmptyState title="Nothing to review" hint="Requests from your teams show up here while they wait for a lead." />
                    }.into_any(),
                    Ok(items) => view! {
                        <table class="table" data-testid="review-queue">
                            <thead><tr>
                                <th scope="col">"Request"</th><th scope="col">"Team"</th>
                                <th scope="col">"Asked by"</th><th scope="col">"Waiting since"</th>
                            </tr></thead>
                            <tbody>
                                {items.into_iter().map(|item| item.request).map(|r| view! {
                                    <tr>
                                        <td><A href=format!("/requests/{}", r.id)>{format!("#{} {}", r.id, r.title)}</A></td>
                                        <td>{r.team.to_string()}</td>
                                        <td title=r.requester.clone()>{r.requester_name.clone()}</td>
                                        <td><Timestamp value=r.created_at.clone() /></td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Transition>
    }
}
