//! "New request": a form per kind. Field errors appear as you type, computed in the browser
//! by the same `domain` code the server runs; beside the form, the server's preview of the
//! manifests and plan (with the catalog rules) follows the inputs. Before the wasm bundle
//! arrives (or without it) the form is a plain post that the server answers with the new
//! request, or with this page again, the inputs as typed and its errors in place.

mod fields;
mod form;

use std::time::Duration;

use domain::{
    FieldError,
    request::{NewRequest, RequestKind},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    api::{
        PreviewRequest, SubmitRequest, approved_input, current_user, list_clusters, list_services,
        list_teams,
    },
    components::{
        empty_state::EmptyState,
        error_panel::ErrorPanel,
        island::{go_to, island_ready},
        island_preload::PreloadIsland,
    },
    error::UiError,
};
use fields::{
    AdoptFields, CertificateFields, DecommissionFields, ExposureFields, ImportFields,
    IngressFields, RestoreFields, ServiceFields, TextField,
};
use form::FormState;
pub use form::{form_fields, request_input};

/// A plain form post the server refused, rendered back into the page: the inputs as
/// posted (by name, e.g. `spec.host`), the errors under them, and any other refusal.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PostedRequest {
    pub fields: Vec<(String, String)>,
    pub errors: Vec<FieldError>,
    pub message: Option<String>,
}

/// The refused post this render answers, if any: the server puts it in context; the
/// browser gets it with the page's data.
fn posted_request() -> Option<PostedRequest> {
    #[cfg(feature = "ssr")]
    {
        use_context::<PostedRequest>()
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}

/// Whether an error at `path` belongs to the input for `field` (`spec.env.KEY` to
/// `spec.env`, `spec.dns_names[1]` to `spec.dns_names`).
pub(crate) fn belongs_to(path: &str, field: &str) -> bool {
    path == field
        || path
            .strip_prefix(field)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
}

fn kind_from(query: Option<String>) -> RequestKind {
    query
        .and_then(|k| RequestKind::parse("kind", &k).ok())
        .unwrap_or(RequestKind::Service)
}

/// What the form starts from, loaded by the server: the teams the viewer may request for,
/// the clusters, and the approved state of the object a "Change" link names.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct FormSeed {
    teams: Vec<String>,
    clusters: Vec<String>,
    approved: Option<serde_json::Value>,
    services: fields::TeamServices,
}

/// The services of each of `teams`, for the kinds whose form picks one.
async fn team_services(kind: RequestKind, teams: &[String]) -> fields::TeamServices {
    let mut all = Vec::new();
    if matches!(kind, RequestKind::Ingress | RequestKind::Exposure) {
        for team in teams {
            let query = domain::RawServiceQuery {
                team: Some(team.clone()),
                sort: Some("name".into()),
                per_page: Some("100".into()),
                ..domain::RawServiceQuery::default()
            };
            let names = list_services(query)
                .await
                .map(|page| page.items.into_iter().map(|s| s.name.to_string()).collect())
                .unwrap_or_default();
            all.push((team.clone(), names));
        }
    }
    fields::TeamServices(all)
}

#[component]
pub fn NewRequestPage() -> impl IntoView {
    let query: Vec<(String, String)> = use_query_map().with_untracked(|q| {
        std::iter::once("kind")
            .chain(["team", "of"])
            .chain(FormState::NAMES.iter().copied())
            .filter_map(|name| q.get(name).map(|v| (name.to_owned(), v)))
            .collect()
    });
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let kind = kind_from(get("kind"));
    // "Change" names an object (`?kind=service&team=payments&of=ledger`) whose approved
    // state fills the form.
    let change_of = (|| Some((get("kind")?, get("team")?, get("of")?)))();
    let asks_change = change_of.is_some();
    let approved = Resource::new(
        || (),
        move |_| {
            let change_of = change_of.clone();
            async move {
                match change_of {
                    Some((kind, team, name)) => approved_input(kind, team, name).await,
                    None => Ok(None),
                }
            }
        },
    );
    let session = Resource::new(|| (), |_| current_user());
    let clusters = Resource::new(|| (), |_| list_clusters());
    // An admin imports for any team, member or not.
    let all_teams = Resource::new(
        move || kind == RequestKind::Import,
        |importing| async move {
            if importing {
                list_teams().await.map(Some)
            } else {
                Ok(None)
            }
        },
    );
    let tab = move |tab: RequestKind, label: &'static str| {
        view! {
            <a href=format!("/requests/new?kind={tab}") class="tab"
               aria-current=(kind == tab).then_some("page")>{label}</a>
        }
    };
    view! {
        <PreloadIsland island="request_form" />
        <Title text="New request" />
        <div class="page-header">
            <h1>"New request"</h1>
            <p class="muted">"A lead of the team reviews the manifests and plan before anything is applied."</p>
        </div>
        <nav class="tabs" aria-label="Kind of request">
            {tab(RequestKind::Service, "Service")}
            {tab(RequestKind::Ingress, "Ingress host")}
            {tab(RequestKind::Certificate, "TLS certificate")}
            {tab(RequestKind::Exposure, "TCP/UDP port")}
            {tab(RequestKind::Decommission, "Decommission")}
            {tab(RequestKind::Restore, "Restore")}
            {tab(RequestKind::Adopt, "Adopt")}
            {tab(RequestKind::Import, "Import")}
        </nav>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                let query = query.clone();
                Suspend::new(async move {
                let (info, clusters) = match (session.await, clusters.await) {
                    (Ok(info), Ok(clusters)) => (info, clusters),
                    (Err(error), _) | (_, Err(error)) => return view! { <ErrorPanel error /> }.into_any(),
                };
                let teams: Vec<String> = match all_teams.await {
                    Ok(Some(all)) if info.me.admin => all.into_iter().map(|t| t.name.to_string()).collect(),
                    _ => info.me.teams.iter().map(|m| m.team.to_string()).collect(),
                };
                if teams.is_empty() {
                    return view! {
                        <EmptyState title="You are not in a team yet" hint="Requests are made for a team. Ask your platform admins to add your SSO group to a team." />
                    }.into_any();
                }
                let (changing, approved) = match approved.await {
                    Ok(Some(input)) => (Some(view! {
                        <p class="notice" role="status">"Filled with the approved state: change what should differ. The plan shows only those fields."</p>
                    }.into_any()), Some(input)),
                    Ok(None) if asks_change => (Some(view! {
                        <p class="notice" role="status">"Filled with what the catalog shows (no request made this yet): change what should differ. The plan shows only those fields."</p>
                    }.into_any()), None),
                    Ok(None) => (None, None),
                    Err(error) => (Some(view! { <ErrorPanel error /> }.into_any()), None),
                };
                let services = team_services(kind, &teams).await;
                let seed = FormSeed {
                    services,
                    teams,
                    clusters: clusters.into_iter().map(|c| c.name).collect(),
                    approved,
                };
                view! {
                    {changing}
                    <RequestForm query posted=posted_request() seed />
                }.into_any()
            })}}
        </Suspense>
    }
}

/// The form, its checks as you type and the server's preview beside it.
/// `query` is the page's query string (kind, inputs to fill).
#[island(lazy)]
fn RequestForm(
    query: Vec<(String, String)>,
    posted: Option<PostedRequest>,
    seed: FormSeed,
) -> impl IntoView {
    island_ready();
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let form = FormState::new(kind_from(get("kind")));
    // A link may fill inputs by name (`?kind=decommission&spec.services=ledger`).
    let linked: Vec<(String, String)> = FormState::NAMES
        .iter()
        .filter_map(|name| get(name).map(|v| ((*name).to_owned(), v)))
        .collect();
    let attempted = RwSignal::new(false);
    let posted_errors = RwSignal::new(Vec::<FieldError>::new());
    let posted_message = RwSignal::new(None::<String>);
    if let Some(posted) = posted {
        form.fill(&posted.fields);
        attempted.set(true);
        posted_errors.set(posted.errors);
        posted_message.set(posted.message);
    } else {
        if let Some(input) = &seed.approved {
            form.fill(&form_fields(input));
        }
        form.fill(&linked);
    }
    // Defaults: the first team and cluster, unless already chosen.
    if let (true, Some(first)) = (form.team.get_untracked().is_empty(), seed.teams.first()) {
        form.team.set(first.clone());
    }
    if let (true, Some(first)) = (
        form.cluster.get_untracked().is_empty(),
        seed.clusters.first(),
    ) {
        form.cluster.set(first.clone());
    }
    // Someone quick may have typed into the server's form before this island came to life.
    form.fill(&typed_before_hydration());
    let (teams, cluster_names) = (seed.teams, seed.clusters);
    provide_context(seed.services);

    let input = Memo::new(move |_| form.to_input());
    // The browser's own check: the same parser the server runs first.
    let local_errors = Memo::new(move |_| match NewRequest::parse(&input.get()) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.0,
    });
    let preview = ServerAction::<PreviewRequest>::new();
    let submit = ServerAction::<SubmitRequest>::new();

    // Ask the server for the preview once typing pauses, and only for input that passes
    // the browser's check.
    // The timer is cleared when the input changes again and when the page goes: firing
    // after a submit navigated away would dispatch on a disposed action (a panic).
    Effect::new(move |_| {
        let value = input.get();
        if !local_errors.with(Vec::is_empty) {
            return;
        }
        if let Ok(handle) = set_timeout_with_handle(
            move || {
                preview.dispatch(PreviewRequest { input: value });
            },
            Duration::from_millis(250),
        ) {
            on_cleanup(move || handle.clear());
        }
    });

    // Errors to show: the browser's while the input fails them; otherwise the catalog
    // rules' from the latest preview or submit. "Is required" waits for a first submit.
    let errors = Signal::derive(move || {
        let local = local_errors.get();
        if !local.is_empty() {
            let all = attempted.get();
            return local
                .into_iter()
                .filter(|e| all || e.message != "is required")
                .collect::<Vec<FieldError>>();
        }
        let invalid = |v: Option<Result<_, UiError>>| match v {
            Some(Err(UiError::Invalid(fields))) => fields.0,
            _ => Vec::new(),
        };
        let from_submit = invalid(submit.value().get().map(|r| r.map(|_| ())));
        if !from_submit.is_empty() {
            return from_submit;
        }
        match preview.value().get() {
            Some(answer) => invalid(Some(answer.map(|_| ()))),
            None => posted_errors.get(),
        }
    });

    Effect::new(move |_| {
        if let Some(Ok(id)) = submit.value().get() {
            go_to(&format!("/requests/{id}"));
        }
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        attempted.set(true);
        if local_errors.with(Vec::is_empty) {
            submit.dispatch(SubmitRequest {
                input: input.get_untracked(),
            });
        }
    };

    view! {
            <div class="request-layout">
                // The action serves the form without wasm; with it, on_submit sends JSON.
                <form class="card request-form" method="post" novalidate on:submit=on_submit
                    action=move || format!("/requests/new?kind={}", form.kind.get())>
                    <input type="hidden" name="kind" value=move || form.kind.get().as_str() />
                    <fields::SelectField label="Team" path="team" value=form.team options=teams errors />
                    <fields::SelectField label="Cluster" path="cluster" value=form.cluster options=cluster_names errors />
                    {move || match form.kind.get() {
                        RequestKind::Service => view! { <ServiceFields form errors /> }.into_any(),
                        RequestKind::Ingress => view! { <IngressFields form errors /> }.into_any(),
                        RequestKind::Certificate => view! { <CertificateFields form errors /> }.into_any(),
                        RequestKind::Exposure => view! { <ExposureFields form errors /> }.into_any(),
                        RequestKind::Decommission => view! { <DecommissionFields form errors /> }.into_any(),
                        RequestKind::Restore => view! { <RestoreFields form errors /> }.into_any(),
                        RequestKind::Adopt => view! { <AdoptFields form errors /> }.into_any(),
                        RequestKind::Import => view! { <ImportFields form errors /> }.into_any(),
                    }}
                    <TextField label="Reason" path="reason" value=form.reason errors multiline=true
                        hint="Why this change? Reviewers read it first." />
                    <UnplacedErrors errors />
                    <button type="submit" class="button" disabled=move || submit.pending().get()>
                        {move || if submit.pending().get() { "Submitting…" } else { "Submit for review" }}
                    </button>
                    {move || match (submit.value().get(), posted_message.get()) {
                        (Some(Err(UiError::Invalid(_))), _) => Some(view! { <p class="field-error" role="alert">"Fix the fields marked above."</p> }.into_any()),
                        (Some(Err(other)), _) => Some(view! { <p class="field-error" role="alert">{other.to_string()}</p> }.into_any()),
                        (None, Some(message)) => Some(view! { <p class="field-error" role="alert">{message}</p> }.into_any()),
                        (None, None) if !posted_errors.with(Vec::is_empty) => Some(view! { <p class="field-error" role="alert">"Fix the fields marked above."</p> }.into_any()),
                        _ => None,
                    }}
                </form>
                <Preview preview local_errors />
            </div>
    }
}

/// What was typed into the server-rendered form before the island took it over, by input
/// name: the island starts from it instead of wiping it.
fn typed_before_hydration() -> Vec<(String, String)> {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        use web_sys::{HtmlFormElement, HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
        let Some(form) = document()
            .query_selector("form.request-form")
            .ok()
            .flatten()
            .and_then(|form| form.dyn_into::<HtmlFormElement>().ok())
        else {
            return Vec::new();
        };
        let elements = form.elements();
        (0..elements.length())
            .filter_map(|i| elements.item(i))
            .filter_map(|el| {
                if let Some(input) = el.dyn_ref::<HtmlInputElement>() {
                    Some((input.name(), input.value()))
                } else if let Some(select) = el.dyn_ref::<HtmlSelectElement>() {
                    Some((select.name(), select.value()))
                } else {
                    el.dyn_ref::<HtmlTextAreaElement>()
                        .map(|text| (text.name(), text.value()))
                }
            })
            .filter(|(name, _)| !name.is_empty())
            .collect()
    }
    #[cfg(not(feature = "hydrate"))]
    Vec::new()
}

/// Errors whose path has no input of its own in the current form (e.g. `body`, `spec`).
#[component]
fn UnplacedErrors(errors: Signal<Vec<FieldError>>) -> impl IntoView {
    let unplaced = move || {
        errors.with(|all| {
            all.iter()
                .filter(|e| !FormState::NAMES.iter().any(|p| belongs_to(&e.path, p)))
                .map(|e| view! { <li><code>{e.path.clone()}</code>" "{e.message.clone()}</li> })
                .collect_view()
        })
    };
    view! { <ul class="field-error">{unplaced}</ul> }
}

#[component]
fn Preview(
    preview: ServerAction<PreviewRequest>,
    local_errors: Memo<Vec<FieldError>>,
) -> impl IntoView {
    let body = move || {
        if !local_errors.with(Vec::is_empty) {
            return view! { <p class="muted">"Fix the fields marked in the form to see the manifests and the plan."</p> }.into_any();
        }
        match preview.value().get() {
            None => view! { <p class="muted">"The manifests and the plan appear here as you fill in the form."</p> }.into_any(),
            // Drawn by the server; its text is escaped there.
            Some(Ok(html)) => view! { <div inner_html=html></div> }.into_any(),
            Some(Err(UiError::Invalid(_))) => view! {
                <p class="panel panel-error" role="alert">"The catalog rules found problems: see the fields marked in the form."</p>
            }.into_any(),
            Some(Err(error)) => view! { <p class="panel panel-error" role="alert">{error.to_string()}</p> }.into_any(),
        }
    };
    view! {
        // Focusable: the preview scrolls on its own, and keyboard users must reach all of it.
        <aside class="card preview" aria-live="polite" aria-label="Preview" tabindex="0" data-testid="preview">
            <h2>"Preview" {move || preview.pending().get().then_some(view! { <span class="muted small">" updating…"</span> })}</h2>
            {body}
        </aside>
    }
}
