//! Teams: who owns what, and who leads.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_params_map};

use crate::{
    api::{get_team, list_teams},
    components::empty_state::EmptyState,
    components::error_panel::ErrorPanel,
    error::UiError,
    pages::not_found::NotFound,
};

#[component]
pub fn TeamsPage() -> impl IntoView {
    let teams = Resource::new(|| (), |_| list_teams());
    view! {
        <Title text="Teams" />
        <div class="page-header">
            <h1>"Teams"</h1>
            <p class="muted">"Teams own services; their leads review changes."</p>
        </div>
        <Transition fallback=|| view! { <p class="loading">"Loading teams…"</p> }>
            {move || Suspend::new(async move {
                match teams.await {
                    Ok(list) if list.is_empty() => view! { <EmptyState title="No teams yet" hint="Admins add teams and their SSO groups to the portal's configuration." /> }.into_any(),
                    Ok(list) => view! {
                        <div class="grid" data-testid="teams">
                            {list.into_iter().map(|t| view! {
                                <section class="card">
                                    <h2><A href=format!("/teams/{}", t.name)>{t.display_name.clone()}</A></h2>
                                    <p class="muted">{t.description.clone()}</p>
                                    <p class="small">"Namespace " <code>{t.namespace.clone()}</code></p>
                                </section>
                            }).collect_view()}
                        </div>
                    }.into_any(),
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
pub fn TeamPage() -> impl IntoView {
    let params = use_params_map();
    let team = Resource::new(
        move || params.with(|p| p.get("team").unwrap_or_default()),
        get_team,
    );
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading team…"</p> }>
            {move || Suspend::new(async move {
                match team.await {
                    Ok(detail) => {
                        let people = |list: Vec<String>, empty: &'static str| if list.is_empty() {
                            view! { <p class="muted">{empty}</p> }.into_any()
                        } else {
                            view! { <ul>{list.into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}</ul> }.into_any()
                        };
                        view! {
                            <Title text=detail.team.display_name.clone() />
                            <nav class="breadcrumbs" aria-label="Breadcrumb"><A href="/teams">"Teams"</A></nav>
                            <div class="page-header">
                                <h1>{detail.team.display_name.clone()}</h1>
                                <p class="muted">{detail.team.description.clone()}</p>
                            </div>
                            <div class="grid">
                                <section class="card"><h2>"Leads"</h2>{people(detail.leads, "No lead has signed in yet.")}</section>
                                <section class="card"><h2>"Members"</h2>{people(detail.members, "No member has signed in yet.")}</section>
                                <section class="card">
                                    <h2>"Services"</h2>
                                    <p><A href=format!("/services?team={}", detail.team.name)>{format!("{} services", detail.services)}</A></p>
                                    <p class="small">"Namespace " <code>{detail.team.namespace.clone()}</code></p>
                                </section>
                            </div>
                        }.into_any()
                    }
                    Err(UiError::NotFound(_)) => view! { <NotFound /> }.into_any(),
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Transition>
    }
}
