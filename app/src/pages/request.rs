//! One request: status, what it changes (plan), the manifests, notes and its timeline.

use domain::request::{
    RequestDetail, RequestEvent,
    plan::{Change, FieldChange, PlannedObject},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::{
    api::{CancelRequest, get_request},
    components::{error_panel::ErrorPanel, status_badge::RequestStatusBadge, timestamp::Timestamp},
    error::UiError,
};

#[component]
pub fn RequestPage() -> impl IntoView {
    let params = use_params_map();
    let cancel = ServerAction::<CancelRequest>::new();
    let id = move || params.with(|p| p.get("id").and_then(|id| id.parse::<i64>().ok()));
    let request = Resource::new(
        move || (id(), cancel.version().get()),
        |(id, _)| async move {
            match id {
                Some(id) => get_request(id).await,
                None => Err(UiError::NotFound("request".into())),
            }
        },
    );
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading request…"</p> }>
            {move || Suspend::new(async move {
                match request.await {
                    Ok(detail) => view! { <RequestView detail cancel /> }.into_any(),
                    Err(error) => view! { <Title text="Request" /><ErrorPanel error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn RequestView(detail: RequestDetail, cancel: ServerAction<CancelRequest>) -> impl IntoView {
    let r = detail.request.clone();
    let heading = format!("#{} {}", r.id, r.title);
    let cancel_error = move || {
        cancel
            .value()
            .get()
            .and_then(|v| v.err())
            .map(|e| e.to_string())
    };
    view! {
        <Title text=heading.clone() />
        <div class="page-header">
            <p class="muted"><a href="/requests">"Requests"</a>" / "{format!("#{}", r.id)}</p>
            <h1>{heading}" "<RequestStatusBadge status=r.status /></h1>
            <p class="muted">
                {format!("{} for team ", r.kind)}
                <a href=format!("/teams/{}", r.team)>{r.team.to_string()}</a>
                {format!(" on cluster {} · asked by {} ", r.cluster, r.requester_name)}
                <Timestamp value=r.created_at.clone() />
            </p>
            {(!r.reason.is_empty()).then(|| view! { <blockquote class="reason">{r.reason.clone()}</blockquote> })}
        </div>
        {detail.may_cancel.then(|| view! {
            <ActionForm action=cancel attr:class="actions">
                <input type="hidden" name="id" value=r.id />
                <button type="submit" class="button secondary danger" disabled=move || cancel.pending().get()>
                    "Cancel request"
                </button>
            </ActionForm>
        })}
        <p class="field-error" role="alert">{cancel_error}</p>
        {(!detail.notes.is_empty()).then(|| view! {
            <div class="panel panel-note" data-testid="notes">
                {detail.notes.iter().map(|n| view! { <p>{n.clone()}</p> }).collect_view()}
            </div>
        })}
        <div class="two-columns">
            <section class="card">
                <h2>"Plan"</h2>
                <PlanView objects=detail.plan.objects.clone() />
                <p class="muted small">"Plan hash "<code>{detail.plan.hash.get(..12).unwrap_or_default().to_owned()}</code></p>
            </section>
            <section class="card">
                <h2>"Timeline"</h2>
                <Timeline events=detail.events.clone() />
            </section>
        </div>
        <section class="card">
            <h2>
                "Manifests "
                <a class="small" href=format!("/api/v1/requests/{}/manifests", r.id) rel="external">"raw YAML"</a>
            </h2>
            <pre class="yaml" data-testid="manifests"><code>{detail.manifests.clone()}</code></pre>
        </section>
    }
}

/// Per object: created, changed (each field before → after) or unchanged.
#[component]
pub fn PlanView(objects: Vec<PlannedObject>) -> impl IntoView {
    view! {
        <ul class="plan" data-testid="plan">
            {objects.into_iter().map(|o| {
                let name = match &o.namespace {
                    Some(ns) => format!("{} {ns}/{}", o.kind, o.name),
                    None => format!("{} {}", o.kind, o.name),
                };
                let (class, label, fields) = match o.change {
                    Change::Create => ("plan-create", "create", Vec::new()),
                    Change::Update { fields } => ("plan-update", "update", fields),
                    Change::Unchanged => ("plan-unchanged", "unchanged", Vec::new()),
                };
                view! {
                    <li class=class>
                        <span class="plan-action">{label}</span>" "<code>{name}</code>
                        {(!fields.is_empty()).then(|| view! { <FieldChanges fields /> })}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

fn shown(value: Option<&serde_json::Value>) -> String {
    match value {
        None => "(none)".to_owned(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

#[component]
fn FieldChanges(fields: Vec<FieldChange>) -> impl IntoView {
    view! {
        <table class="diff">
            <tbody>
                {fields.into_iter().map(|f| view! {
                    <tr>
                        <th scope="row"><code>{f.path.clone()}</code></th>
                        <td class="removed">{shown(f.before.as_ref())}</td>
                        <td class="added">{shown(f.after.as_ref())}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// `request.submit` → "submitted the request".
fn describe(event: &RequestEvent) -> String {
    match event.action.as_str() {
        "request.submit" => "submitted the request".to_owned(),
        "request.cancel" => "cancelled the request".to_owned(),
        other => other.trim_start_matches("request.").replace('_', " "),
    }
}

#[component]
fn Timeline(events: Vec<RequestEvent>) -> impl IntoView {
    view! {
        <ol class="timeline" data-testid="timeline">
            {events.into_iter().map(|e| view! {
                <li data-action=e.action.clone()>
                    <strong>{e.actor.clone()}</strong>" "{describe(&e)}" "
                    <span class="muted"><Timestamp value=e.at.clone() /></span>
                </li>
            }).collect_view()}
        </ol>
    }
}
