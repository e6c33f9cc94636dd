//! Drift on a service page: per object, whether the cluster still holds what was approved,
//! and for a drifted one each field, live against approved, with who changed it.

use domain::drift::{DriftRecord, DriftState, DriftedField};
use leptos::prelude::*;

use crate::{
    api::{current_user, get_service_drift},
    components::{
        day_two_links::{adopt_href, restore_href},
        timestamp::Timestamp,
    },
};

/// The badge of a drift state: its class and words.
fn badge(state: DriftState) -> (&'static str, &'static str) {
    match state {
        DriftState::InSync => ("badge badge-live", "In sync"),
        DriftState::Drifted => ("badge badge-failed", "Drifted"),
        DriftState::Missing => ("badge badge-failed", "Missing"),
        DriftState::Unknown => ("badge badge-muted", "Unknown"),
    }
}

/// A list row's mark of an object's drift (`None`: in sync or never checked, no mark):
/// its badge, linking to the Drift section of `service`'s page when there is one.
#[component]
pub fn DriftMark(
    state: Option<DriftState>,
    team: String,
    service: Option<String>,
    /// What drifted, for screen readers: "the Ingress of host pay.example.com".
    what: String,
) -> impl IntoView {
    let state = state.filter(|s| *s != DriftState::InSync)?;
    let (class, label) = badge(state);
    let mark = view! {
        <span class=class data-drift=state.as_str()>{label}<span class="sr-only">{format!(": {what}")}</span></span>
    };
    Some(match service {
        Some(service) => view! {
            <a class="drift-mark" href=format!("/services/{team}/{service}#drift")>{mark}</a>
        }
        .into_any(),
        None => mark.into_any(),
    })
}

fn shown(value: Option<&serde_json::Value>) -> String {
    match value {
        None => "(removed)".to_owned(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// The service's drift, read on its own so the page does not wait for it. While an object
/// has drifted or is missing, "Restore approved state" opens a restore request for it and
/// "Adopt live values" an adopt request, for those who may request for the team (the
/// portal checks again on submit).
#[component]
pub fn ServiceDrift(team: String, name: String, cluster: String) -> impl IntoView {
    let restore = restore_href(&team, &cluster, &name);
    let label = format!("Restore the approved state of service {name}");
    let adopt = adopt_href(&team, &cluster, &name);
    let adopt_label = format!("Adopt the live values of service {name}");
    let session = Resource::new(|| (), |_| current_user());
    let owner = team.clone();
    let records = Resource::new(
        move || (team.clone(), name.clone()),
        |(team, name)| get_service_drift(team, name),
    );
    view! {
        <section id="drift" class="card section" data-testid="service-drift" aria-labelledby="drift-heading">
            <h2 id="drift-heading">"Drift"</h2>
            <Transition fallback=|| view! { <p class="loading" aria-busy="true">"Checking drift…"</p> }>
                {move || {
                    let (restore, label, owner) = (restore.clone(), label.clone(), owner.clone());
                    let (adopt, adopt_label) = (adopt.clone(), adopt_label.clone());
                    Suspend::new(async move {
                    let member = session
                        .await
                        .is_ok_and(|s| s.me.teams.iter().any(|m| m.team.as_str() == owner));
                    match records.await {
                        Ok(records) if records.is_empty() => view! {
                            <p class="muted">"Not checked yet: workers compare each cluster with what was approved every few minutes (dry-run clusters are not checked)."</p>
                        }.into_any(),
                        Ok(records) => {
                            let drifted = member && records.iter().any(|r| r.state.is_drift());
                            view! {
                                <DriftList records />
                                {drifted.then(|| view! {
                                    <p class="actions">
                                        <a href=restore class="button small" aria-label=label>"Restore approved state"</a>
                                        " "
                                        <a href=adopt class="button small" aria-label=adopt_label>"Adopt live values"</a>
                                    </p>
                                    <p class="muted small">"A restore request applies the drifted and missing objects again as last approved; an adopt request makes the live values the approved ones. Both after review."</p>
                                })}
                            }.into_any()
                        }
                        Err(error) => view! { <p class="muted">{format!("Drift cannot be shown: {error}")}</p> }.into_any(),
                    }
                })}}
            </Transition>
        </section>
    }
}

#[component]
fn DriftList(records: Vec<DriftRecord>) -> impl IntoView {
    view! {
        <ul class="plain">
            {records.into_iter().map(|r| {
                let (class, label) = badge(r.state);
                let what = format!("{} {}", r.kind, r.name);
                let note = match r.state {
                    DriftState::Missing => Some("deleted from the cluster"),
                    DriftState::Unknown => Some("the cluster could not be read at the last check"),
                    _ => None,
                };
                view! {
                    <li>
                        <code>{what.clone()}</code>" "<span class=class>{label}</span>
                        <span class="muted small">" since "<Timestamp value=r.since.clone() /></span>
                        {note.map(|n| view! { <span class="muted small">{format!(" — {n}")}</span> })}
                        {(!r.fields.is_empty()).then(|| view! { <DriftedFields what fields=r.fields /> })}
                    </li>
                }
                // Erased: the item's full type is too deep for the release wasm build's
                // layout queries.
                .into_any()
            }).collect_view()}
        </ul>
    }
}

#[component]
fn DriftedFields(what: String, fields: Vec<DriftedField>) -> impl IntoView {
    view! {
        <table class="diff">
            <caption class="sr-only">{format!("Fields of {what} that differ from what was approved")}</caption>
            <thead>
                <tr>
                    <th scope="col">"Field"</th>
                    <th scope="col">"Live"</th>
                    <th scope="col">"Approved"</th>
                    <th scope="col">"Changed by"</th>
                </tr>
            </thead>
            <tbody>
                {fields.into_iter().map(|f| view! {
                    <tr>
                        <th scope="row"><code>{f.path.clone()}</code></th>
                        <td class="removed">{shown(f.live.as_ref())}</td>
                        <td class="added">{shown(Some(&f.approved))}</td>
                        <td>{f.changed_by.clone().unwrap_or_else(|| "unknown".to_owned())}
                            {f.since.clone().map(|at| view! { <span class="muted small">" at "<Timestamp value=at /></span> })}</td>
                    </tr>
                }.into_any()).collect_view()}
            </tbody>
        </table>
    }
}
