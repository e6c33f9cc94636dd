use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn Header() -> impl IntoView {
    view! {
        <header class="topbar">
            <div class="container topbar-inner">
                <a class="brand" href="/services">
                    <span class="brand-mark" aria-hidden="true">"◎"</span>
                    "Stargate"
                </a>
                <nav aria-label="Main">
                    <A href="/services">"Services"</A>
                </nav>
            </div>
        </header>
    }
}
