use leptos::prelude::*;

/// A labelled `<select>` of the catalog's filters. Works as a plain form field before the
/// page is interactive; afterwards `on_change` applies the choice at once.
#[component]
pub fn FilterSelect<F>(
    id: &'static str,
    name: &'static str,
    /// Read by screen readers (the visible choices speak for themselves).
    label: &'static str,
    /// The empty choice, e.g. "All teams"; none where a value is always chosen.
    #[prop(optional)]
    any: Option<&'static str>,
    /// (value, text) pairs.
    options: Vec<(String, String)>,
    #[prop(into)] current: Signal<String>,
    on_change: F,
    #[prop(optional)] disabled: bool,
) -> impl IntoView
where
    F: Fn(String) + Send + Sync + 'static,
{
    view! {
        <label class="sr-only" for=id>{label}</label>
        <select id=id name=name disabled=disabled on:change=move |ev| on_change(event_target_value(&ev))>
            {any.map(|text| view! { <option value="">{text}</option> })}
            {options
                .into_iter()
                .map(|(value, text)| {
                    let selected = {
                        let value = value.clone();
                        move || current.get() == value
                    };
                    view! { <option value=value selected=selected>{text}</option> }
                })
                .collect_view()}
        </select>
    }
}
