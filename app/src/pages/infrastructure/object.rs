//! One object of the IaC repository: its file at the tip (or a chosen commit) and every
//! commit that changed it, each linked to its request and showing the diff.

use domain::{
    iac::ObjectPath,
    infrastructure::{IacFile, ObjectHistory, RawFileQuery, RawHistoryQuery},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use super::{commit_href, object_href, tree_href};
use crate::{
    api::{iac_history, iac_object_file},
    components::{
        diff::{ChangeBadge, Patch},
        empty_state::EmptyState,
        error_panel::ErrorPanel,
        timestamp::Timestamp,
    },
    error::UiError,
};

/// The file (absent when the object is not there at that commit) and the history.
type Loaded = (Option<IacFile>, ObjectHistory);

async fn load(path: String, at: Option<String>) -> Result<Loaded, UiError> {
    let at = at.filter(|a| !a.is_empty());
    let history = iac_history(RawHistoryQuery { path: path.clone() }).await?;
    let file = match iac_object_file(RawFileQuery { path, at }).await {
        Ok(file) => Some(file),
        // Deleted, or not yet created at that commit: the history still tells.
        Err(UiError::NotFound(_)) => None,
        Err(error) => return Err(error),
    };
    Ok((file, history))
}

#[component]
pub fn ObjectPage() -> impl IntoView {
    let query = use_query_map();
    let params = move || query.with(|q| (q.get("path").unwrap_or_default(), q.get("at")));
    let data = Resource::new(params, |(path, at)| load(path, at));
    view! {
        <Transition fallback=|| view! { <p class="loading" aria-busy="true">"Loading the object…"</p> }>
            {move || Suspend::new(async move {
                let (path, at) = params();
                match data.await {
                    Ok((file, history)) => view! { <ObjectView path at file history /> }.into_any(),
                    Err(error) => view! {
                        <h1>"Object"</h1>
                        <ErrorPanel error />
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ObjectView(
    path: String,
    at: Option<String>,
    file: Option<IacFile>,
    history: ObjectHistory,
) -> impl IntoView {
    let object = ObjectPath::parse(&path);
    let title = object
        .as_ref()
        .map(|o| format!("{} {}", capitalised(&o.kind), o.name))
        .unwrap_or_else(|| path.clone());
    let crumbs = object.clone().map(|o| {
        view! {
            " / "<A href=tree_href(&o.cluster, None)>{o.cluster.clone()}</A>" / "<code>{o.folder.clone()}</code>
        }
    });
    let file_view = match file {
        Some(file) => {
            let short = file.commit.short_id().to_owned();
            let shown = match &at {
                Some(_) => view! {
                    "At "<A href=commit_href(&file.commit.id)><code>{short.clone()}</code></A>
                    " · "<A href=object_href(&path, None)>"the tip"</A>
                }
                .into_any(),
                None => view! {
                    "At the tip, "<A href=commit_href(&file.commit.id)><code>{short.clone()}</code></A>
                }
                .into_any(),
            };
            view! {
                <p class="muted small">{shown}</p>
                <pre class="yaml" tabindex="0" data-testid="object-yaml"><code>{file.text}</code></pre>
            }
            .into_any()
        }
        None => view! {
            <p class="muted">"Not in the repository at this commit (not created yet, or deleted)."</p>
        }
        .into_any(),
    };
    let entries = history.entries;
    view! {
        <Title text=title.clone() />
        <nav class="breadcrumbs" aria-label="Breadcrumb">
            <A href="/infrastructure">"Infrastructure"</A>
            {crumbs}
        </nav>
        <div class="page-header">
            <h1>{title}</h1>
            <p class="muted"><code class="wrap">{path.clone()}</code></p>
        </div>
        <section class="card" aria-labelledby="object-file">
            <h2 id="object-file">"File"</h2>
            {file_view}
        </section>
        <section class="section" aria-labelledby="object-history" data-testid="object-history">
            <h2 id="object-history">"History"</h2>
            {if entries.is_empty() {
                view! {
                    <EmptyState title="Nothing applied yet"
                        hint="Every applied request that changes this object becomes a commit here." />
                }.into_any()
            } else {
                view! {
                    <ol class="plain iac-history">
                        {entries.into_iter().map(|entry| {
                            let commit = entry.commit;
                            let request = commit.request_id;
                            let short = commit.short_id().to_owned();
                            view! {
                                <li class="card file-diff">
                                    <h3>
                                        <ChangeBadge change=entry.change />" "
                                        <A href=commit_href(&commit.id)><code>{short}</code></A>" "
                                        {commit.subject.clone()}
                                    </h3>
                                    <p class="muted small">
                                        {commit.author_name.clone()}" · "<Timestamp value=commit.committed_at.clone() />
                                        {request.map(|id| view! {
                                            " · "<A href=format!("/requests/{id}")>{format!("request #{id}")}</A>
                                        })}
                                    </p>
                                    <Patch patch=entry.patch />
                                </li>
                            }
                        }).collect_view()}
                    </ol>
                }.into_any()
            }}
            {(!history.complete).then(|| view! {
                <p class="muted">"Older changes are not shown; `git log` in the repository has them all."</p>
            })}
        </section>
    }
}

/// `deployment` as `Deployment`.
fn capitalised(kind: &str) -> String {
    let mut chars = kind.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
