use leptos::prelude::*;

/// What a list shows when it has nothing yet: what it is, and what to do next.
#[component]
pub fn EmptyState(
    title: &'static str,
    hint: &'static str,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <section class="empty-state" data-testid="empty-state">
            <h2>{title}</h2>
            <p class="muted">{hint}</p>
            {children.map(|c| c())}
        </section>
    }
}
