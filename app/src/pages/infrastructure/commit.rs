//! One commit of the IaC repository: who asked, the request it applied, its message, and
//! the diff of every file it changed.

use domain::{iac::ObjectPath, infrastructure::CommitDetail};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_params_map};

use super::{commit_href, object_href, tree_href};
use crate::{
    api::iac_commit,
    components::{
        diff::{ChangeBadge, Patch},
        error_panel::ErrorPanel,
        timestamp::Timestamp,
    },
    error::UiError,
    pages::not_found::NotFound,
};

#[component]
pub fn CommitPage() -> impl IntoView {
    let params = use_params_map();
    let commit = Resource::new(
        move || params.with(|p| p.get("id").unwrap_or_default()),
        iac_commit,
    );
    view! {
        <Transition fallback=|| view! { <p class="loading" aria-busy="true">"Loading the commit…"</p> }>
            {move || Suspend::new(async move {
                match commit.await {
                    Ok(detail) => view! { <CommitView detail /> }.into_any(),
                    Err(UiError::NotFound(_)) => view! { <NotFound /> }.into_any(),
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn CommitView(detail: CommitDetail) -> impl IntoView {
    let commit = detail.commit.clone();
    let short = commit.short_id().to_owned();
    // The cluster the commit changed, for the link to its objects then.
    let cluster = detail
        .files
        .iter()
        .find_map(|f| ObjectPath::parse(&f.path))
        .map(|p| p.cluster);
    let count = detail.files.len();
    view! {
        <Title text=format!("Commit {short}") />
        <nav class="breadcrumbs" aria-label="Breadcrumb">
            <A href="/infrastructure">"Infrastructure"</A>
            {cluster.clone().map(|c| view! { " / "<A href=super::tree_href(&c, None)>{c.clone()}</A> })}
        </nav>
        <div class="page-header">
            <h1>"Commit " <code>{short.clone()}</code></h1>
            <p class="muted">{commit.subject.clone()}</p>
        </div>
        <section class="card">
            <dl>
                <dt>"Requested by"</dt>
                <dd>{format!("{} <{}>", commit.author_name, commit.author_email)}</dd>
                <dt>"Committed"</dt>
                <dd><Timestamp value=commit.committed_at.clone() />" by "{detail.committer_name.clone()}</dd>
                <dt>"Request"</dt>
                <dd>{match commit.request_id {
                    Some(id) => view! { <A href=format!("/requests/{id}")>{format!("#{id}")}</A> }.into_any(),
                    None => view! { <span class="muted">"none named"</span> }.into_any(),
                }}</dd>
                <dt>"Commit"</dt>
                <dd><code class="wrap">{commit.id.clone()}</code></dd>
                <dt>"Parent"</dt>
                <dd>{match detail.parent.clone() {
                    Some(parent) => view! { <A href=commit_href(&parent)><code>{parent[..8.min(parent.len())].to_owned()}</code></A> }.into_any(),
                    None => view! { <span class="muted">"none: the repository's first commit"</span> }.into_any(),
                }}</dd>
            </dl>
            {cluster.map(|c| view! {
                <p><A href=tree_href(&c, Some(&commit.id))>"Objects of "{c.clone()}" at this commit"</A></p>
            })}
        </section>
        <section class="card section" aria-labelledby="commit-message">
            <h2 id="commit-message">"Message"</h2>
            <pre class="commit-message" tabindex="0" data-testid="commit-message">{detail.message.clone()}</pre>
        </section>
        <section class="section" aria-labelledby="commit-files" data-testid="commit-files">
            <h2 id="commit-files">{format!("Files changed ({count}{})", if detail.more_files { "+" } else { "" })}</h2>
            {detail.files.into_iter().map(|file| {
                let href = object_href(&file.path, Some(&commit.id));
                view! {
                    <article class="card file-diff">
                        <h3><ChangeBadge change=file.change />" "<A href=href><code class="wrap">{file.path.clone()}</code></A></h3>
                        <Patch patch=file.patch />
                    </article>
                }
            }).collect_view()}
            {detail.more_files.then(|| view! {
                <p class="muted">"More files changed than are shown here; `git show` in the repository lists them all."</p>
            })}
        </section>
    }
}
