//! Requests: the caller's own by default, or everyone's; filtered by status and team.

use domain::{
    Page,
    request::{RequestStatus, RequestSummary, view::RawRequestQuery},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use crate::{
    api::list_requests,
    components::{
        empty_state::EmptyState,
        error_panel::ErrorPanel,
        pagination::{Pagination, with_query},
        status_badge::RequestStatusBadge,
        timestamp::Timestamp,
    },
};

#[component]
pub fn RequestsPage() -> impl IntoView {
    let query_map = use_query_map();
    // "Mine" unless the address says otherwise.
    let raw = Memo::new(move |_| {
        query_map.with(|q| RawRequestQuery {
            status: q.get("status"),
            team: q.get("team"),
            mine: Some(q.get("mine").unwrap_or_else(|| "true".into())),
            page: q.get("page"),
            per_page: q.get("per_page"),
        })
    });
    let requests = Resource::new(move || raw.get(), list_requests);
    let tab = move |mine: &'static str, label: &'static str| {
        let href = move || {
            let mut next = raw.get();
            next.mine = Some(mine.into());
            with_query("/requests", &next.to_query_string(1))
        };
        let current = move || raw.with(|r| r.mine.as_deref() == Some(mine));
        view! { <A href=href attr:class="tab" attr:aria-current=move || current().then_some("page")>{label}</A> }
    };
    let status_link = move |status: Option<RequestStatus>| {
        let href = move || {
            let mut next = raw.get();
            next.status = status.map(|s| s.as_str().to_owned());
            with_query("/requests", &next.to_query_string(1))
        };
        let label = status.map_or("Any status", |s| s.label());
        let current = move || {
            raw.with(|r| r.status.as_deref().unwrap_or("") == status.map_or("", |s| s.as_str()))
        };
        view! { <A href=href attr:class="chip-link" attr:aria-current=move || current().then_some("page")>{label}</A> }
    };
    view! {
        <Title text="Requests" />
        <div class="page-header row">
            <div>
                <h1>"Requests"</h1>
                <p class="muted">"Changes asked for, under review, and applied."</p>
            </div>
            <A href="/requests/new" attr:class="button">"New request"</A>
        </div>
        <nav class="tabs" aria-label="Whose requests">
            {tab("true", "Mine")}
            {tab("false", "Everyone's")}
        </nav>
        <nav class="chips" aria-label="Status">
            {status_link(None)}
            {RequestStatus::ALL.into_iter().map(|s| status_link(Some(s))).collect_view()}
        </nav>
        <Transition fallback=|| view! { <p class="loading">"Loading requests…"</p> }>
            {move || Suspend::new(async move {
                match requests.await {
                    Ok(page) if page.items.is_empty() => view! {
                        <EmptyState title="No requests here" hint="Ask for a service, an ingress host or a certificate: a lead reviews it and Stargate applies it.">
                            <A href="/requests/new" attr:class="button">"Make your first request"</A>
                        </EmptyState>
                    }.into_any(),
                    Ok(page) => view! { <RequestTable page raw=raw.get_untracked() /> }.into_any(),
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn RequestTable(page: Page<RequestSummary>, raw: RawRequestQuery) -> impl IntoView {
    let rows = page.items.clone();
    view! {
        <table class="table" data-testid="requests">
            <thead><tr>
                <th scope="col">"Request"</th><th scope="col">"Team"</th><th scope="col">"Cluster"</th>
                <th scope="col">"Status"</th><th scope="col">"Asked by"</th><th scope="col">"Created"</th>
            </tr></thead>
            <tbody>
                {rows.into_iter().map(|r| view! {
                    <tr>
                        <td><A href=format!("/requests/{}", r.id)>{format!("#{} {}", r.id, r.title)}</A></td>
                        <td>{r.team.to_string()}</td>
                        <td>{r.cluster.clone()}</td>
                        <td><RequestStatusBadge status=r.status /></td>
                        <td title=r.requester.clone()>{r.requester_name.clone()}</td>
                        <td><Timestamp value=r.created_at.clone() /></td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        <Pagination page href=move |n| with_query("/requests", &raw.to_query_string(n)) />
    }
}
