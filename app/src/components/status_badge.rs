use domain::ServiceStatus;
use leptos::prelude::*;

#[component]
pub fn StatusBadge(status: ServiceStatus) -> impl IntoView {
    view! { <span class=format!("badge badge-{}", status.as_str())>{status.label()}</span> }
}
