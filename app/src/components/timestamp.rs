use leptos::prelude::*;

/// `2026-11-26T16:24:11Z` as `2026-11-26 16:24 UTC`, in a `<time>` element that keeps the
/// exact value for machines.
#[component]
pub fn Timestamp(value: String, #[prop(optional)] date_only: bool) -> impl IntoView {
    let shown = match (value.get(..10), value.get(11..16)) {
        (Some(date), _) if date_only => date.to_owned(),
        (Some(date), Some(time)) => format!("{date} {time} UTC"),
        _ => value.clone(),
    };
    view! { <time datetime=value>{shown}</time> }
}
