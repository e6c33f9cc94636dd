use domain::ServiceStatus;
use leptos::prelude::*;

#[component]
pub fn StatusBadge(status: ServiceStatus) -> impl IntoView {
    view! { <span class=format!("badge badge-{}", status.as_str())>{status.label()}</span> }
}

/// Where a request stands, as a coloured badge.
#[component]
pub fn RequestStatusBadge(status: domain::request::RequestStatus) -> impl IntoView {
    use domain::request::RequestStatus as S;
    let tone = match status {
        S::Applied => "live",
        S::Failed | S::Rejected => "failed",
        S::Cancelled => "muted",
        S::PendingReview | S::Queued | S::Applying => "pending",
    };
    view! {
        <span class=format!("badge badge-{tone}") data-status=status.as_str()>{status.label()}</span>
    }
}
