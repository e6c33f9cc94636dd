//! A unified diff as people read it: added lines green, removed lines red, hunk headers
//! muted. The `+`/`-` stay in the text, so the colour is never the only sign.

use domain::infrastructure::{DiffLineKind, FileChange, diff_lines};
use leptos::prelude::*;

#[component]
pub fn Patch(patch: String) -> impl IntoView {
    let lines = diff_lines(&patch)
        .into_iter()
        .map(|(kind, text)| {
            let class = match kind {
                DiffLineKind::Header => "diff-line diff-header",
                DiffLineKind::Hunk => "diff-line diff-hunk",
                DiffLineKind::Added => "diff-line diff-added",
                DiffLineKind::Removed => "diff-line diff-removed",
                DiffLineKind::Context => "diff-line",
            };
            view! { <span class=class>{text.to_owned()}"\n"</span> }
        })
        .collect_view();
    // Focusable: a long line scrolls sideways, and keyboards must reach it too.
    view! { <pre class="patch" tabindex="0" data-testid="patch"><code>{lines}</code></pre> }
}

/// Added, modified or deleted, as a badge.
#[component]
pub fn ChangeBadge(change: FileChange) -> impl IntoView {
    let tone = match change {
        FileChange::Added => "live",
        FileChange::Modified => "pending",
        FileChange::Deleted => "failed",
    };
    view! { <span class=format!("badge badge-{tone}")>{change.label()}</span> }
}
