//! The service catalog: search, filter by team and status, paginate — all kept in the URL.

use domain::{Page, RawServiceQuery, ServiceQuery, ServiceSort, ServiceStatus, ServiceSummary};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    api::{list_cluster_names, list_services, list_teams},
    components::{
        drift::DriftMark,
        empty_state::EmptyState,
        error_panel::ErrorPanel,
        filter_select::FilterSelect,
        island::{island_ready, replace_url},
        island_preload::PreloadIsland,
        pagination::{Pagination, with_query},
        status_badge::StatusBadge,
        timestamp::Timestamp,
    },
};

#[component]
pub fn CatalogPage() -> impl IntoView {
    let query = use_query_map().with_untracked(|q| RawServiceQuery {
        q: q.get("q"),
        team: q.get("team"),
        cluster: q.get("cluster"),
        status: q.get("status"),
        drift: q.get("drift"),
        sort: q.get("sort"),
        page: q.get("page"),
        per_page: q.get("per_page"),
    });
    view! {
        <PreloadIsland island="catalog" />
        <Title text="Services" />
        <div class="page-header">
            <h1>"Services"</h1>
            <p class="muted">"Every service your teams run, who owns it and where it runs."</p>
        </div>
        <Catalog query />
    }
}

/// The filters and the list: they follow each other in the browser, the URL kept in step.
#[island(lazy)]
fn Catalog(query: RawServiceQuery) -> impl IntoView {
    island_ready();
    let raw = RwSignal::new(query);
    let services = Resource::new(move || raw.get(), list_services);
    let teams = Resource::new(|| (), |_| list_teams());
    let clusters = Resource::new(|| (), |_| list_cluster_names());

    // Filters apply as you type or pick: the URL changes in place (no reload, no history
    // entry per keystroke) and the list follows it.
    let apply = move |change: &dyn Fn(&mut RawServiceQuery)| {
        let mut next = raw.get_untracked();
        change(&mut next);
        next.page = None;
        replace_url(&with_query("/services", &next.to_query_string()));
        raw.set(next);
    };
    let on_search = move |ev| apply(&|q: &mut RawServiceQuery| q.q = Some(event_target_value(&ev)));
    let on_team = move |v: String| apply(&|q: &mut RawServiceQuery| q.team = Some(v.clone()));
    let on_status = move |v: String| apply(&|q: &mut RawServiceQuery| q.status = Some(v.clone()));
    let on_drift = move |v: String| apply(&|q: &mut RawServiceQuery| q.drift = Some(v.clone()));
    let on_cluster = move |v: String| apply(&|q: &mut RawServiceQuery| q.cluster = Some(v.clone()));
    let on_sort = move |v: String| apply(&|q: &mut RawServiceQuery| q.sort = Some(v.clone()));

    let field = move |get: fn(&RawServiceQuery) -> &Option<String>| {
        raw.with(|r| get(r).clone().unwrap_or_default())
    };

    view! {
        <form method="get" action="/services" class="filters" role="search">
            <label class="sr-only" for="catalog-search">"Search services"</label>
            <input
                id="catalog-search"
                type="search"
                name="q"
                placeholder="Search by name, description or host…"
                autocomplete="off"
                maxlength="100"
                value=raw.with_untracked(|r| r.q.clone().unwrap_or_default())
                prop:value=move || field(|r| &r.q)
                on:input=on_search
            />
            <Transition fallback=|| view! {
                <FilterSelect id="catalog-team" name="team" label="Team" any="All teams"
                    options=vec![] current="" on_change=|_| {} disabled=true />
            }>
                {move || {
                    Suspend::new(async move {
                        let options = teams.await.unwrap_or_default().into_iter()
                            .map(|t| (t.name.to_string(), t.display_name)).collect();
                        view! {
                            <FilterSelect id="catalog-team" name="team" label="Team" any="All teams"
                                options current=Signal::derive(move || field(|r| &r.team)) on_change=on_team />
                        }
                    })
                }}
            </Transition>
            <FilterSelect id="catalog-status" name="status" label="Status" any="Any status"
                options=ServiceStatus::ALL.iter().map(|s| (s.as_str().to_owned(), s.label().to_owned())).collect()
                current=Signal::derive(move || field(|r| &r.status)) on_change=on_status />
            <FilterSelect id="catalog-drift" name="drift" label="Drift" any="Drifted or not"
                options=vec![("drifted".to_owned(), "Drifted".to_owned())]
                current=Signal::derive(move || field(|r| &r.drift)) on_change=on_drift />
            <Transition fallback=|| view! {
                <FilterSelect id="catalog-cluster" name="cluster" label="Cluster" any="All clusters"
                    options=vec![] current="" on_change=|_| {} disabled=true />
            }>
                {move || {
                    Suspend::new(async move {
                        let options = clusters.await.unwrap_or_default().into_iter()
                            .map(|name| (name.clone(), name)).collect();
                        view! {
                            <FilterSelect id="catalog-cluster" name="cluster" label="Cluster" any="All clusters"
                                options current=Signal::derive(move || field(|r| &r.cluster)) on_change=on_cluster />
                        }
                    })
                }}
            </Transition>
            <FilterSelect id="catalog-sort" name="sort" label="Sort by"
                options=ServiceSort::ALL.iter().map(|s| (s.as_str().to_owned(), format!("Sort: {}", s.label()))).collect()
                current=Signal::derive(move || {
                    let sort = field(|r| &r.sort);
                    if sort.is_empty() { ServiceSort::Team.as_str().to_owned() } else { sort }
                })
                on_change=on_sort />
            <button type="submit" class="button secondary">"Search"</button>
        </form>
        <Transition fallback=|| view! { <p class="loading" aria-busy="true">"Loading services…"</p> }>
            {move || Suspend::new(async move {
                match services.await {
                    Ok(page) => {
                        let query = ServiceQuery::parse(&raw.get_untracked()).unwrap_or_default();
                        view! { <ServiceTable page query /> }.into_any()
                    }
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ServiceTable(page: Page<ServiceSummary>, query: ServiceQuery) -> impl IntoView {
    if page.items.is_empty() {
        let filtered = query.q.is_some()
            || query.team.is_some()
            || query.status.is_some()
            || query.drifted
            || query.cluster.is_some();
        return if filtered {
            view! {
                <EmptyState title="No services match" hint="Try another search, or clear the filters.">
                    <a href="/services" class="button secondary">"Clear filters"</a>
                </EmptyState>
            }
            .into_any()
        } else {
            view! { <EmptyState title="No services yet" hint="Services appear here once a team requests one and it is applied." /> }
            .into_any()
        };
    }
    let rows = page
        .items
        .clone()
        .into_iter()
        .map(|s| {
            let href = format!("/services/{}/{}", s.team, s.name);
            let what = format!("service {}", s.name);
            let (drift_team, drift_service) = (s.team.to_string(), Some(s.name.to_string()));
            view! {
                <tr>
                    <td>
                        <a href=href class="service-link">{s.name.to_string()}</a>
                        <div class="muted small">{s.description}</div>
                    </td>
                    <td>{s.team.to_string()}</td>
                    <td><code>{s.cluster}</code></td>
                    <td>
                        <StatusBadge status=s.status />" "
                        <DriftMark state=s.drift team=drift_team service=drift_service what />
                    </td>
                    <td class="muted"><Timestamp value=s.updated_at date_only=true /></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="table" data-testid="services">
            <thead>
                <tr>
                    <th scope="col">"Service"</th>
                    <th scope="col">"Team"</th>
                    <th scope="col">"Cluster"</th>
                    <th scope="col">"Status"</th>
                    <th scope="col">"Updated"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        <Pagination page href=move |n| with_query("/services", &query.to_query_string(n)) />
    }
    .into_any()
}
