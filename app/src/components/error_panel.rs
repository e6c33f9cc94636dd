use leptos::prelude::*;

use crate::{error::UiError, set_page_status};

/// Shows why a page could not load and sets the page's HTTP status to match.
#[component]
pub fn ErrorPanel(error: UiError) -> impl IntoView {
    set_page_status(error.status());
    let body = match &error {
        UiError::Invalid(fields) => view! {
            <p>"Some parameters in the address are not valid:"</p>
            <ul>
                {fields
                    .0
                    .iter()
                    .map(|f| view! { <li><code>{f.path.clone()}</code>" " {f.message.clone()}</li> })
                    .collect_view()}
            </ul>
            <p><a href="/services">"Start over"</a></p>
        }
        .into_any(),
        other => view! { <p>{other.to_string()}</p> }.into_any(),
    };
    view! {
        <div class="panel panel-error" role="alert">
            {body}
        </div>
    }
}
