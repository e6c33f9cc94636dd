use domain::{Page, ServiceQuery};
use leptos::prelude::*;
use leptos_router::components::A;

/// "21–40 of 312" with previous/next links that keep the rest of the query.
#[component]
pub fn Pagination<T: 'static>(page: Page<T>, query: ServiceQuery) -> impl IntoView {
    let summary = match page.shown_range() {
        Some((first, last)) => format!("{first}–{last} of {}", page.total),
        None => format!("0 of {}", page.total),
    };
    let link = move |n: u32| {
        let qs = query.to_query_string(n);
        if qs.is_empty() {
            "/services".to_owned()
        } else {
            format!("/services?{qs}")
        }
    };
    let previous = page.has_previous().then(|| link(page.page - 1));
    let next = page.has_next().then(|| link(page.page + 1));
    view! {
        <nav class="pagination" aria-label="Pagination">
            <span class="muted" data-testid="result-count">{summary}</span>
            <span class="pager">
                {match previous {
                    Some(href) => view! { <A href=href attr:rel="prev">"← Previous"</A> }.into_any(),
                    None => view! { <span class="disabled">"← Previous"</span> }.into_any(),
                }}
                <span class="muted">{format!("Page {} of {}", page.page, page.page_count())}</span>
                {match next {
                    Some(href) => view! { <A href=href attr:rel="next">"Next →"</A> }.into_any(),
                    None => view! { <span class="disabled">"Next →"</span> }.into_any(),
                }}
            </span>
        </nav>
    }
}
