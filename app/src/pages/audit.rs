//! The audit log (admins): every change, who made it and when, newest first; filtered by
//! team, actor, request and time, all kept in the URL by a plain GET form.

use domain::{AuditEvent, Page, RawAuditQuery};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{A, Form},
    hooks::use_query_map,
};

use crate::{
    api::audit_log,
    components::{
        empty_state::EmptyState,
        error_panel::ErrorPanel,
        pagination::{Pagination, with_query},
    },
};

#[component]
pub fn AuditPage() -> impl IntoView {
    let query_map = use_query_map();
    let raw = Memo::new(move |_| {
        query_map.with(|q| RawAuditQuery {
            team: q.get("team"),
            actor: q.get("actor"),
            request: q.get("request"),
            since: q.get("since"),
            until: q.get("until"),
            page: q.get("page"),
            per_page: q.get("per_page"),
        })
    });
    let events = Resource::new(move || raw.get(), audit_log);
    view! {
        <Title text="Audit log" />
        <div class="page-header">
            <h1>"Audit log"</h1>
            <p class="muted">"Every change, who made it and when, newest first. Nothing here is ever edited or removed."</p>
        </div>
        <Form method="GET" action="/audit" attr:class="filters audit-filters" attr:role="search">
            <FilterInput raw id="audit-team" name="team" label="Team" placeholder="payments"
                field=|r| &r.team />
            <FilterInput raw id="audit-actor" name="actor" label="Actor" placeholder="pat@example.com"
                field=|r| &r.actor />
            <FilterInput raw id="audit-request" name="request" label="Request" placeholder="12"
                field=|r| &r.request />
            <FilterInput raw id="audit-since" name="since" label="Since" placeholder="2026-03-01"
                field=|r| &r.since />
            <FilterInput raw id="audit-until" name="until" label="Until (before)"
                placeholder="2026-03-02T00:00:00Z" field=|r| &r.until />
            <div class="audit-filter-actions">
                <button type="submit" class="button secondary">"Filter"</button>
                <a href="/audit">"Clear"</a>
            </div>
        </Form>
        <Transition fallback=|| view! { <p class="loading" aria-busy="true">"Loading the audit log…"</p> }>
            {move || Suspend::new(async move {
                match events.await {
                    Ok(page) if page.items.is_empty() => {
                        if raw.with_untracked(RawAuditQuery::is_filtered) {
                            view! {
                                <EmptyState title="No events match" hint="Try other filters, or a wider time range.">
                                    <a href="/audit" class="button secondary">"Clear filters"</a>
                                </EmptyState>
                            }.into_any()
                        } else {
                            view! {
                                <EmptyState title="No events yet" hint="Sign-ins, tokens, requests and reviews are recorded here as they happen." />
                            }.into_any()
                        }
                    }
                    Ok(page) => view! { <AuditTable page raw=raw.get_untracked() /> }.into_any(),
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// One labelled text field of the filter form, showing the value in the address.
#[component]
fn FilterInput(
    raw: Memo<RawAuditQuery>,
    id: &'static str,
    name: &'static str,
    label: &'static str,
    placeholder: &'static str,
    field: fn(&RawAuditQuery) -> &Option<String>,
) -> impl IntoView {
    let value = move || raw.with(|r| field(r).clone().unwrap_or_default());
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <input id=id name=name type="text" placeholder=placeholder autocomplete="off"
                value=raw.with_untracked(|r| field(r).clone().unwrap_or_default())
                prop:value=value />
        </div>
    }
}

/// `2026-03-01T09:30:05Z` as `2026-03-01 09:30:05 UTC`: the log keeps seconds.
fn shown_time(at: &str) -> String {
    match (at.get(..10), at.get(11..19)) {
        (Some(date), Some(time)) => format!("{date} {time} UTC"),
        _ => at.to_owned(),
    }
}

#[component]
fn AuditTable(page: Page<AuditEvent>, raw: RawAuditQuery) -> impl IntoView {
    let rows = page.items.clone();
    // Links that narrow the current filters to one actor or team, from the first page
    // (plain links: the router still follows them in place, without marking them current).
    let narrowed = {
        let raw = raw.clone();
        move |change: &dyn Fn(&mut RawAuditQuery)| {
            let mut next = raw.clone();
            change(&mut next);
            with_query("/audit", &next.to_query_string(1))
        }
    };
    view! {
        <table class="table audit-table" data-testid="audit-log">
            <thead><tr>
                <th scope="col">"Time"</th><th scope="col">"Actor"</th><th scope="col">"Action"</th>
                <th scope="col">"Subject"</th><th scope="col">"Team"</th><th scope="col">"Detail"</th>
            </tr></thead>
            <tbody>
                {rows.into_iter().map(|event| {
                    let subject = match event.request_id() {
                        Some(id) => view! { <A href=format!("/requests/{id}")>{event.subject.clone()}</A> }.into_any(),
                        None => view! { <span>{event.subject.clone()}</span> }.into_any(),
                    };
                    let actor = event.actor.clone();
                    let actor_href = narrowed(&|q| q.actor = Some(actor.clone()));
                    let team = event.team.as_ref().map(|team| {
                        let name = team.to_string();
                        let href = narrowed(&|q| q.team = Some(name.clone()));
                        view! { <a href=href>{name}</a> }
                    });
                    let detail = match &event.detail {
                        serde_json::Value::Null => String::new(),
                        serde_json::Value::Object(map) if map.is_empty() => String::new(),
                        other => other.to_string(),
                    };
                    view! {
                        <tr>
                            <td class="nowrap"><time datetime=event.at.clone()>{shown_time(&event.at)}</time></td>
                            <td><a href=actor_href>{event.actor.clone()}</a></td>
                            <td><code>{event.action.clone()}</code></td>
                            <td>{subject}</td>
                            <td>{team}</td>
                            <td><code class="audit-detail">{detail}</code></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        <Pagination page href=move |n| with_query("/audit", &raw.to_query_string(n)) />
    }
}
