use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::{
    api::list_clusters, components::empty_state::EmptyState, components::error_panel::ErrorPanel,
};

#[component]
pub fn ClustersPage() -> impl IntoView {
    let clusters = Resource::new(|| (), |_| list_clusters());
    view! {
        <Title text="Clusters" />
        <div class="page-header">
            <h1>"Clusters"</h1>
            <p class="muted">"Where approved changes are applied."</p>
        </div>
        <Transition fallback=|| view! { <p class="loading">"Loading clusters…"</p> }>
            {move || Suspend::new(async move {
                match clusters.await {
                    Ok(list) if list.is_empty() => view! { <EmptyState title="No clusters yet" hint="Admins add clusters (a kubeconfig context or an EKS cluster) to the portal's configuration." /> }.into_any(),
                    Ok(list) => view! {
                        <table class="table" data-testid="clusters">
                            <thead><tr><th scope="col">"Cluster"</th><th scope="col">"Kind"</th><th scope="col">"Services"</th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|c| view! {
                                    <tr>
                                        <td><strong>{c.name.clone()}</strong><div class="muted small">{c.description.clone()}</div></td>
                                        <td><code>{c.kind.clone()}</code></td>
                                        <td><A href=format!("/services?cluster={}", c.name)>{c.services}</A></td>
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
