//! The request page as the server draws it: the plan and manifests stay as drawn (a new
//! plan is announced, not swapped in under a reviewer's eyes), the rest is live. Server
//! only: the plan's types are not in the wasm bundle.

use domain::request::{RequestDetail, RequestLive};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::LiveRequest;
use crate::{
    api::get_request,
    components::{error_panel::ErrorPanel, island_preload::PreloadIsland, plan::PlanView},
    error::UiError,
};

/// The request page.
#[component]
pub fn RequestPage() -> impl IntoView {
    let id = use_params_map().with_untracked(|p| p.get("id").and_then(|id| id.parse::<i64>().ok()));
    let request = Resource::new(
        move || id,
        |id| async move {
            match id {
                Some(id) => get_request(id).await,
                None => Err(UiError::NotFound("request".into())),
            }
        },
    );
    view! {
        <PreloadIsland island="live_request" />
        <Suspense fallback=|| view! { <p class="loading">"Loading request…"</p> }>
            {move || Suspend::new(async move {
                match request.await {
                    Ok(detail) => view! { <RequestView detail /> }.into_any(),
                    Err(error) => view! { <Title text="Request" /><ErrorPanel error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn RequestView(detail: RequestDetail) -> impl IntoView {
    let r = &detail.request;
    let heading = format!("#{} {}", r.id, r.title);
    let manifests_url = format!("/api/v1/requests/{}/manifests", r.id);
    let plan = detail.plan.clone();
    let manifests = detail.manifests.clone();
    view! {
        <Title text=heading />
        <LiveRequest live=RequestLive::from(detail)>
            <section class="card">
                <h2>"Plan"</h2>
                <PlanView objects=plan.objects />
                <p class="muted small">"Plan hash "<code data-testid="plan-hash" title=plan.hash.clone()>{plan.hash.get(..12).unwrap_or_default().to_owned()}</code></p>
            </section>
        </LiveRequest>
        <section class="card">
            <h2>"Manifests "<a class="small" href=manifests_url rel="external">"raw YAML"</a></h2>
            <pre class="yaml" data-testid="manifests"><code>{manifests}</code></pre>
        </section>
    }
}
