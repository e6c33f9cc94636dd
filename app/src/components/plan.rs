//! A plan as a readable diff: per object, created, changed (each field before → after),
//! unchanged or deleted.

use domain::request::plan::{Change, FieldChange, PlannedObject};
use leptos::prelude::*;

/// Per object: created, changed (each field before → after), unchanged or deleted.
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
                    Change::Delete => ("plan-delete", "delete", Vec::new()),
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

/// A form preview as HTML (notes, plan, manifests), drawn by the server: the browser sets
/// it in place and carries no plan types.
#[cfg(feature = "ssr")]
pub fn preview_html(change: domain::request::change::PreparedChange) -> String {
    let notes = change.notes;
    Owner::new().with(|| {
        view! {
        {(!notes.is_empty()).then(|| view! {
            <div class="panel panel-note" data-testid="preview-notes">
                {notes.into_iter().map(|n| view! { <p>{n}</p> }).collect_view()}
            </div>
        })}
        <h3>"Plan"</h3>
        <PlanView objects=change.plan.objects />
        <h3>"Manifests"</h3>
        <pre class="yaml" data-testid="preview-yaml"><code>{change.manifests}</code></pre>
        }
        .to_html()
    })
}
