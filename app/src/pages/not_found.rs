use leptos::prelude::*;
use leptos_meta::Title;

use crate::set_page_status;

#[component]
pub fn NotFound() -> impl IntoView {
    set_page_status(404);
    view! {
        <Title text="Not found" />
        <section class="empty-state">
            <h1>"Page not found"</h1>
            <p class="muted">"Nothing lives at this address. It may have been renamed or removed."</p>
            <a class="button" href="/services">"Browse the service catalog"</a>
        </section>
    }
}
