//! Infrastructure: the IaC repository of one cluster. Its objects at the tip (or at a
//! chosen commit), grouped by namespace, and the commits that changed them, newest first.
//! The cluster, commit and page are in the URL, so every view can be linked.

mod commit;
mod object;

pub use commit::CommitPage;
pub use object::ObjectPage;

use domain::infrastructure::{
    ClusterTree, CommitLog, IacCommit, RawCommitLogQuery, RawTreeQuery, TreeFile,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{A, Form},
    hooks::use_query_map,
};

use crate::{
    api::{iac_commits, iac_tree, list_cluster_names},
    components::{
        empty_state::EmptyState, error_panel::ErrorPanel, filter_select::FilterSelect,
        island::SubmitOnChange, timestamp::Timestamp,
    },
    error::UiError,
};

/// The page of one object: its file (at `at`, or the tip) and its history.
pub fn object_href(path: &str, at: Option<&str>) -> String {
    match at {
        Some(at) => format!("/infrastructure/object?path={path}&at={at}"),
        None => format!("/infrastructure/object?path={path}"),
    }
}

pub fn commit_href(id: &str) -> String {
    format!("/infrastructure/commits/{id}")
}

/// The cluster's tree at `at` (the tip when `None`). Paths, cluster names and commit ids
/// are all URL-safe as they are (the parsers allow nothing else).
pub fn tree_href(cluster: &str, at: Option<&str>) -> String {
    match at {
        Some(at) => format!("/infrastructure?cluster={cluster}&at={at}"),
        None => format!("/infrastructure?cluster={cluster}"),
    }
}

/// Everything the page shows, loaded together: the cluster depends on the names.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Overview {
    clusters: Vec<String>,
    cluster: String,
    at: Option<String>,
    tree: ClusterTree,
    log: CommitLog,
}

async fn overview(
    cluster: Option<String>,
    at: Option<String>,
    page: Option<String>,
) -> Result<Option<Overview>, UiError> {
    let clusters = list_cluster_names().await?;
    let Some(cluster) = cluster
        .filter(|c| !c.is_empty())
        .or_else(|| clusters.first().cloned())
    else {
        return Ok(None);
    };
    let at = at.filter(|a| !a.is_empty());
    let tree = RawTreeQuery {
        cluster: cluster.clone(),
        at: at.clone(),
    };
    let tree = iac_tree(tree).await?;
    let log = RawCommitLogQuery {
        cluster: Some(cluster.clone()),
        page,
        per_page: None,
    };
    let log = iac_commits(log).await?;
    Ok(Some(Overview {
        clusters,
        cluster,
        at,
        tree,
        log,
    }))
}

#[component]
pub fn InfrastructurePage() -> impl IntoView {
    let query = use_query_map();
    let data = Resource::new(
        move || query.with(|q| (q.get("cluster"), q.get("at"), q.get("page"))),
        |(cluster, at, page)| overview(cluster, at, page),
    );
    view! {
        <Title text="Infrastructure" />
        <div class="page-header">
            <h1>"Infrastructure"</h1>
            <p class="muted">
                "What Stargate applied, as code: every applied request is a commit in the IaC repository, one file per object."
            </p>
        </div>
        <Transition fallback=|| view! { <p class="loading" aria-busy="true">"Loading the repository…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some(overview)) => view! { <OverviewView overview /> }.into_any(),
                    Ok(None) => view! {
                        <EmptyState title="No clusters" hint="Clusters are configured by the platform team; none is yet." />
                    }.into_any(),
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn OverviewView(overview: Overview) -> impl IntoView {
    let options = overview
        .clusters
        .iter()
        .map(|c| (c.clone(), format!("Cluster: {c}")))
        .collect();
    let current = overview.cluster.clone();
    view! {
        <SubmitOnChange>
            <Form method="GET" action="/infrastructure" attr:class="filters" attr:role="search">
                <FilterSelect id="iac-cluster" name="cluster" label="Cluster" options
                    current=Signal::derive(move || current.clone()) on_change=|_| {} />
                <button type="submit" class="button secondary">"Show"</button>
            </Form>
        </SubmitOnChange>
        {match overview.tree.commit.clone() {
            None => view! {
                <EmptyState title="Nothing applied yet"
                    hint="Every applied request becomes a commit here." />
            }.into_any(),
            Some(shown) => view! {
                <div class="two-columns iac-overview">
                    <TreeView tree=overview.tree shown at=overview.at.clone() />
                    <LogView log=overview.log cluster=overview.cluster.clone() />
                </div>
            }.into_any(),
        }}
    }
}

/// The cluster's objects, one list per namespace folder.
#[component]
fn TreeView(tree: ClusterTree, shown: IacCommit, at: Option<String>) -> impl IntoView {
    let mut folders: Vec<(String, Vec<TreeFile>)> = Vec::new();
    for file in tree.files {
        match folders.last_mut() {
            Some((folder, files)) if *folder == file.folder => files.push(file),
            _ => folders.push((file.folder.clone(), vec![file])),
        }
    }
    let at_link = at.as_ref().map(|_| shown.id.clone());
    let heading = match &at {
        Some(_) => view! {
            "Objects at "<A href=commit_href(&shown.id)><code>{shown.short_id().to_owned()}</code></A>
        }
        .into_any(),
        None => "Objects at the tip".into_any(),
    };
    view! {
        <section class="card" data-testid="iac-tree" aria-labelledby="iac-tree-heading">
            <h2 id="iac-tree-heading">{heading}</h2>
            {at.map(|_| view! {
                <p class="small"><A href=tree_href(&tree.cluster, None)>"Back to the tip"</A></p>
            })}
            {if folders.is_empty() {
                view! { <p class="muted">"No objects in this cluster at this commit."</p> }.into_any()
            } else {
                folders.into_iter().map(|(folder, files)| {
                    let at = at_link.clone();
                    view! {
                        <h3 class="iac-folder"><code>{folder}</code></h3>
                        <ul class="plain iac-files">
                            {files.into_iter().map(|f| view! {
                                <li>
                                    <A href=object_href(&f.path, at.as_deref())>
                                        <span class="muted">{f.kind}" "</span>{f.name}
                                    </A>
                                </li>
                            }).collect_view()}
                        </ul>
                    }
                }).collect_view().into_any()
            }}
        </section>
    }
}

/// The commits that changed the cluster, newest first, with previous/next pages.
#[component]
fn LogView(log: CommitLog, cluster: String) -> impl IntoView {
    let page_href = {
        let cluster = cluster.clone();
        move |page: u32| format!("{}&page={page}", tree_href(&cluster, None))
    };
    let previous = (log.page > 1).then(|| page_href(log.page - 1));
    let next = log.has_more.then(|| page_href(log.page + 1));
    view! {
        <section class="card" data-testid="iac-log" aria-labelledby="iac-log-heading">
            <h2 id="iac-log-heading">"Commits"</h2>
            <ol class="plain iac-log">
                {log.items.into_iter().map(|c| view! { <CommitItem commit=c cluster=cluster.clone() /> }).collect_view()}
            </ol>
            <nav class="pagination" aria-label="Commit pages">
                <span class="pager">
                    {match previous {
                        Some(href) => view! { <A href=href attr:rel="prev">"← Newer"</A> }.into_any(),
                        None => view! { <span class="disabled" aria-disabled="true">"← Newer"</span> }.into_any(),
                    }}
                    <span class="muted">{format!("Page {}", log.page)}</span>
                    {match next {
                        Some(href) => view! { <A href=href attr:rel="next">"Older →"</A> }.into_any(),
                        None => view! { <span class="disabled" aria-disabled="true">"Older →"</span> }.into_any(),
                    }}
                </span>
            </nav>
        </section>
    }
}

#[component]
fn CommitItem(commit: IacCommit, cluster: String) -> impl IntoView {
    let short = commit.short_id().to_owned();
    view! {
        <li class="iac-commit">
            <A href=commit_href(&commit.id)><code>{short.clone()}</code></A>" "
            <span>{commit.subject.clone()}</span>
            <div class="muted small">
                {commit.author_name.clone()}" · "<Timestamp value=commit.committed_at.clone() />
                {commit.request_id.map(|id| view! {
                    " · "<A href=format!("/requests/{id}")>{format!("request #{id}")}</A>
                })}
                " · "<A href=tree_href(&cluster, Some(&commit.id))>"objects at this commit"</A>
            </div>
        </li>
    }
}
