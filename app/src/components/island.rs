//! Islands: the parts of a page the browser makes interactive. Everything else is HTML from
//! the server, so the wasm bundle holds only these parts' code (each loaded with its page).

use leptos::prelude::*;

/// Marks the document hydrated (`body[data-hydrated]`) once every island on it has come to
/// life: browser tests and curious people can then tell a live page from static HTML.
/// Each island calls this once; a page without islands is marked by `hydrate`.
pub fn island_ready() {
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static READY: AtomicUsize = AtomicUsize::new(0);
        let ready = READY.fetch_add(1, Ordering::Relaxed) + 1;
        mark_if_all_ready(ready);
    });
}

#[cfg(feature = "hydrate")]
pub(crate) fn mark_if_all_ready(ready: usize) {
    let document = document();
    let islands = document
        .query_selector_all("leptos-island")
        .map(|list| list.length() as usize)
        .unwrap_or(0);
    if ready >= islands
        && let Some(body) = document.body()
    {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}

/// A server-rendered form that submits itself whenever one of its fields changes: a filter
/// applies as soon as it is picked. Without wasm the form's own button submits it.
#[island]
pub fn SubmitOnChange(children: Children) -> impl IntoView {
    island_ready();
    let on_change = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let form = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .and_then(|el| el.closest("form").ok().flatten())
                .and_then(|f| f.dyn_into::<web_sys::HtmlFormElement>().ok());
            if let Some(form) = form {
                let _ = form.request_submit();
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    view! { <div class="submit-on-change" on:change=on_change>{children()}</div> }
}

/// Puts `url` in the address bar in place of the current entry, without loading it: an
/// island that filters in place keeps the URL shareable.
pub fn replace_url(url: &str) {
    #[cfg(feature = "hydrate")]
    if let Ok(history) = window().history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(url));
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = url;
}

/// Loads `url` as a new page (an island has no router to navigate in place).
pub fn go_to(url: &str) {
    #[cfg(feature = "hydrate")]
    let _ = window().location().set_href(url);
    #[cfg(not(feature = "hydrate"))]
    let _ = url;
}
