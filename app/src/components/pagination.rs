use domain::Page;
use leptos::prelude::*;

/// "21–40 of 312" with previous/next links; `href` makes the link to a page number.
#[component]
pub fn Pagination<T: 'static>(page: Page<T>, href: impl Fn(u32) -> String) -> impl IntoView {
    let summary = match page.shown_range() {
        Some((first, last)) => format!("{first}–{last} of {}", page.total),
        None => format!("0 of {}", page.total),
    };
    let previous = page.has_previous().then(|| href(page.page - 1));
    let next = page.has_next().then(|| href(page.page + 1));
    view! {
        <nav class="pagination" aria-label="Pagination">
            <span class="muted" data-testid="result-count">{summary}</span>
            <span class="pager">
                {match previous {
                    Some(href) => view! { <a href=href rel="prev">"← Previous"</a> }.into_any(),
                    None => view! { <span class="disabled" aria-disabled="true">"← Previous"</span> }.into_any(),
                }}
                <span class="muted">{format!("Page {} of {}", page.page, page.page_count())}</span>
                {match next {
                    Some(href) => view! { <a href=href rel="next">"Next →"</a> }.into_any(),
                    None => view! { <span class="disabled" aria-disabled="true">"Next →"</span> }.into_any(),
                }}
            </span>
        </nav>
    }
}

/// `base` or `base?query` when the query is not empty.
pub fn with_query(base: &str, query: &str) -> String {
    if query.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{query}")
    }
}
