//! The service catalog: search, filter by team and status, paginate — all kept in the URL.

use domain::{Page, RawServiceQuery, ServiceQuery, ServiceSort, ServiceStatus, ServiceSummary};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    NavigateOptions,
    components::{A, Form},
    hooks::{use_navigate, use_query_map},
};

use crate::{
    api::{list_clusters, list_services, list_teams},
    components::{
        error_panel::ErrorPanel,
        pagination::{Pagination, with_query},
        status_badge::StatusBadge,
        timestamp::Timestamp,
    },
};

#[component]
pub fn CatalogPage() -> impl IntoView {
    let query_map = use_query_map();
    let raw = Memo::new(move |_| {
        query_map.with(|q| RawServiceQuery {
            q: q.get("q"),
            team: q.get("team"),
            cluster: q.get("cluster"),
            status: q.get("status"),
            sort: q.get("sort"),
            page: q.get("page"),
            per_page: q.get("per_page"),
        })
    });
    let services = Resource::new(move || raw.get(), list_services);
    let teams = Resource::new(|| (), |_| list_teams());
    let clusters = Resource::new(|| (), |_| list_clusters());

    // Filters apply as you type or pick: the URL changes in place (no reload, no history
    // entry per keystroke) and the list follows it.
    let navigate = use_navigate();
    let apply = move |change: &dyn Fn(&mut RawServiceQuery)| {
        let mut next = raw.get_untracked();
        change(&mut next);
        next.page = None;
        let qs = next.to_query_string();
        let url = if qs.is_empty() {
            "/services".to_owned()
        } else {
            format!("/services?{qs}")
        };
        navigate(
            &url,
            NavigateOptions {
                replace: true,
                scroll: false,
                ..Default::default()
            },
        );
    };
    let on_search = {
        let apply = apply.clone();
        move |ev| apply(&|q: &mut RawServiceQuery| q.q = Some(event_target_value(&ev)))
    };
    let on_team = {
        let apply = apply.clone();
        move |ev| apply(&|q: &mut RawServiceQuery| q.team = Some(event_target_value(&ev)))
    };
    let on_status = {
        let apply = apply.clone();
        move |ev| apply(&|q: &mut RawServiceQuery| q.status = Some(event_target_value(&ev)))
    };
    let on_cluster = {
        let apply = apply.clone();
        move |ev| apply(&|q: &mut RawServiceQuery| q.cluster = Some(event_target_value(&ev)))
    };
    let on_sort =
        move |ev| apply(&|q: &mut RawServiceQuery| q.sort = Some(event_target_value(&ev)));

    let field = move |get: fn(&RawServiceQuery) -> &Option<String>| {
        raw.with(|r| get(r).clone().unwrap_or_default())
    };

    view! {
        <Title text="Services" />
        <div class="page-header">
            <h1>"Services"</h1>
            <p class="muted">"Every service your teams run, who owns it and where it runs."</p>
        </div>
        <Form method="GET" action="/services" attr:class="filters" attr:role="search">
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
            <label class="sr-only" for="catalog-team">"Team"</label>
            <Transition fallback=|| view! { <select id="catalog-team" name="team" disabled=true><option>"All teams"</option></select> }>
                {move || {
                    let on_team = on_team.clone();
                    Suspend::new(async move {
                    let teams = teams.await.unwrap_or_default();
                    view! {
                        <select id="catalog-team" name="team" on:change=on_team>
                            <option value="">"All teams"</option>
                            {teams.into_iter().map(|t| {
                                let value = t.name.to_string();
                                let selected = {
                                    let value = value.clone();
                                    move || field(|r| &r.team) == value
                                };
                                view! { <option value=value selected=selected>{t.display_name}</option> }
                            }).collect_view()}
                        </select>
                    }
                })}}
            </Transition>
            <label class="sr-only" for="catalog-status">"Status"</label>
            <select id="catalog-status" name="status" on:change=on_status>
                <option value="">"Any status"</option>
                {ServiceStatus::ALL.into_iter().map(|s| {
                    let selected = move || field(|r| &r.status) == s.as_str();
                    view! { <option value=s.as_str() selected=selected>{s.label()}</option> }
                }).collect_view()}
            </select>
            <label class="sr-only" for="catalog-cluster">"Cluster"</label>
            <Transition fallback=|| view! { <select id="catalog-cluster" name="cluster" disabled=true><option>"All clusters"</option></select> }>
                {move || {
                    let on_cluster = on_cluster.clone();
                    Suspend::new(async move {
                    let clusters = clusters.await.unwrap_or_default();
                    view! {
                        <select id="catalog-cluster" name="cluster" on:change=on_cluster>
                            <option value="">"All clusters"</option>
                            {clusters.into_iter().map(|c| {
                                let value = c.name.clone();
                                let selected = {
                                    let value = value.clone();
                                    move || field(|r| &r.cluster) == value
                                };
                                view! { <option value=value selected=selected>{c.name}</option> }
                            }).collect_view()}
                        </select>
                    }
                })}}
            </Transition>
            <label class="sr-only" for="catalog-sort">"Sort by"</label>
            <select id="catalog-sort" name="sort" on:change=on_sort>
                {ServiceSort::ALL.into_iter().map(|s| {
                    let selected = move || {
                        let current = field(|r| &r.sort);
                        current == s.as_str() || (current.is_empty() && s == ServiceSort::Team)
                    };
                    view! { <option value=s.as_str() selected=selected>{format!("Sort: {}", s.label())}</option> }
                }).collect_view()}
            </select>
            <button type="submit" class="button secondary">"Search"</button>
        </Form>
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
            || query.cluster.is_some();
        return if filtered {
            view! {
                <section class="empty-state" data-testid="empty-state">
                    <h2>"No services match"</h2>
                    <p class="muted">"Try another search, or clear the filters."</p>
                    <A href="/services" attr:class="button secondary">"Clear filters"</A>
                </section>
            }
            .into_any()
        } else {
            view! {
                <section class="empty-state" data-testid="empty-state">
                    <h2>"No services yet"</h2>
                    <p class="muted">
                        "Services appear here once a team requests one and it is applied."
                    </p>
                </section>
            }
            .into_any()
        };
    }
    let rows = page
        .items
        .clone()
        .into_iter()
        .map(|s| {
            let href = format!("/services/{}/{}", s.team, s.name);
            view! {
                <tr>
                    <td>
                        <A href=href attr:class="service-link">{s.name.to_string()}</A>
                        <div class="muted small">{s.description}</div>
                    </td>
                    <td>{s.team.to_string()}</td>
                    <td><code>{s.cluster}</code></td>
                    <td><StatusBadge status=s.status /></td>
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
