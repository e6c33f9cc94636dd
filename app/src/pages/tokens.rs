//! Personal access tokens: create (the secret is shown once), list, revoke. Before the wasm
//! bundle arrives (or without it) "Create token" is a plain post to `/settings/tokens`,
//! which the server answers with this page and the new secret in it.

use leptos::{form::FromFormData, prelude::*};
use leptos_meta::Title;

use crate::{
    api::{CreateToken, RevokeToken, list_tokens},
    components::{
        empty_state::EmptyState, error_panel::ErrorPanel, island::island_ready,
        island_preload::PreloadIsland, timestamp::Timestamp,
    },
    error::UiError,
};

/// What a plain form post of "Create token" came to, rendered into the page.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PostedToken {
    /// The new token, its secret shown this once.
    pub created: Option<domain::NewToken>,
    /// Why it was not created: each field's message.
    pub errors: Vec<domain::FieldError>,
    /// Why it was not created, when no one field is to blame.
    pub message: Option<String>,
    /// The name as typed, back in its box when the token was refused.
    pub name: String,
}

/// The server puts a plain post's answer in context; the browser gets it with the page.
fn posted_token() -> Option<PostedToken> {
    #[cfg(feature = "ssr")]
    {
        use_context::<PostedToken>()
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}

/// The token the form asks for: every token reads; the boxes ticked add to it.
pub fn token_form(
    name: String,
    expires_in_days: String,
    scope_request: bool,
    scope_review: bool,
) -> domain::TokenForm {
    let mut scopes = vec!["read"];
    scopes.extend(scope_request.then_some("request"));
    scopes.extend(scope_review.then_some("review"));
    domain::TokenForm {
        name,
        expires_in_days,
        scopes: scopes.join(","),
    }
}

#[component]
pub fn TokensPage() -> impl IntoView {
    view! {
        <PreloadIsland island="tokens" />
        <Title text="Access tokens" />
        <div class="page-header">
            <h1>"Personal access tokens"</h1>
            <p class="muted">
                "Tokens let scripts and CI call the REST API as you: "
                <code>"Authorization: Bearer sgp_…"</code>
            </p>
        </div>
        <Tokens posted=posted_token() />
    }
}

/// Creating (the secret shown once), listing and revoking the viewer's tokens.
#[island(lazy)]
fn Tokens(posted: Option<PostedToken>) -> impl IntoView {
    island_ready();
    let create = ServerAction::<CreateToken>::new();
    // A plain post's answer stands until the page makes answers of its own.
    let posted = StoredValue::new(posted);
    let posted = move || {
        posted
            .get_value()
            .filter(|_| create.value().with(Option::is_none))
    };
    let revoke = ServerAction::<RevokeToken>::new();
    let tokens = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_tokens(),
    );
    let field_error = move |path: &'static str| {
        let of = |errors: &[domain::FieldError]| {
            errors
                .iter()
                .find(|f| f.path == path)
                .map(|f| f.message.clone())
        };
        match posted() {
            Some(posted) => of(&posted.errors),
            None => create.value().with(|v| match v {
                Some(Err(UiError::Invalid(fields))) => of(&fields.0),
                _ => None,
            }),
        }
    };
    // Everything but the name's own message, which sits under its box.
    let message = move || {
        let (errors, message) = match posted() {
            Some(posted) => (posted.errors, posted.message),
            None => create.value().with(|v| match v {
                Some(Err(UiError::Invalid(fields))) => (fields.0.clone(), None),
                Some(Err(error)) => (Vec::new(), Some(error.to_string())),
                _ => (Vec::new(), None),
            }),
        };
        let others: Vec<String> = errors
            .into_iter()
            .filter(|f| f.path != "name")
            .map(|f| f.message)
            .chain(message)
            .collect();
        (!others.is_empty()).then(|| others.join("; "))
    };
    let created = move || match posted() {
        Some(posted) => posted.created,
        None => create.value().get().and_then(Result::ok),
    };
    // With the bundle running, the page posts the form itself and keeps its place.
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        if let Ok(token) = CreateToken::from_event(&ev) {
            ev.prevent_default();
            create.dispatch(token);
        }
    };
    view! {
        <section class="card">
            <h2>"New token"</h2>
            <form method="post" action="/settings/tokens" class="form-row" on:submit=on_submit>
                <label>
                    "Name"
                    <input name="name" value=posted().map(|p| p.name) required maxlength="64" placeholder="ci-deploys" aria-describedby="token-name-error" />
                </label>
                <label>
                    "Expires"
                    <select name="expires_in_days">
                        <option value="7">"in 7 days"</option>
                        <option value="30">"in 30 days"</option>
                        <option value="90" selected>"in 90 days"</option>
                        <option value="365">"in a year"</option>
                    </select>
                </label>
                <fieldset class="scopes">
                    <legend>"May also"</legend>
                    <label><input type="checkbox" name="scope_request" value="on" />" request (submit, cancel, comment)"</label>
                    <label><input type="checkbox" name="scope_review" value="on" />" review (approve, reject, retry)"</label>
                </fieldset>
                <button
                    type="submit"
                    class="button"
                    disabled=move || create.pending().get()
                >
                    {move || if create.pending().get() { "Creating…" } else { "Create token" }}
                </button>
            </form>
            <p id="token-name-error" class="field-error" role="alert">{move || field_error("name")}</p>
            <p class="field-error" role="alert">{message}</p>
            <p class="muted small">"Every token reads. One used by CI to submit changes needs “request”; only a lead's own token used for reviews needs “review”."</p>
            {move || created().map(|new| view! {
                <div class="panel panel-success" data-testid="new-token">
                    <p><strong>{format!("Token \u{201c}{}\u{201d} created.", new.name)}</strong>" Copy it now: it will not be shown again."</p>
                    <code class="secret">{new.token}</code>
                </div>
            })}
        </section>
        <Transition fallback=|| view! { <p class="loading">"Loading tokens…"</p> }>
            {move || Suspend::new(async move {
                match tokens.await {
                    Ok(list) if list.is_empty() => view! { <EmptyState title="No tokens yet" hint="Create one above to use the API from scripts or CI." /> }.into_any(),
                    Ok(list) => view! {
                        <table class="table" data-testid="tokens">
                            <thead><tr>
                                <th scope="col">"Name"</th><th scope="col">"May"</th><th scope="col">"Created"</th>
                                <th scope="col">"Expires"</th><th scope="col">"Last used"</th><th></th>
                            </tr></thead>
                            <tbody>
                                {list.into_iter().map(|t| view! {
                                    <tr>
                                        <td>{t.name.clone()}</td>
                                        <td><code>{t.scopes.to_text()}</code></td>
                                        <td><Timestamp value=t.created_at /></td>
                                        <td>{match t.expires_at { Some(at) => view! { <Timestamp value=at /> }.into_any(), None => "never".into_any() }}</td>
                                        <td>{match t.last_used_at { Some(at) => view! { <Timestamp value=at /> }.into_any(), None => "not yet".into_any() }}</td>
                                        <td>
                                            <ActionForm action=revoke>
                                                <input type="hidden" name="id" value=t.id />
                                                <button type="submit" class="button secondary danger" aria-label=format!("Revoke {}", t.name)>"Revoke"</button>
                                            </ActionForm>
                                        </td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Transition>
    }
}
