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

impl PostedToken {
    /// What creating a token came to, as the page shows it; `name` is what was typed, kept
    /// only when the token was refused.
    pub fn answered(answer: Result<domain::NewToken, UiError>, name: String) -> Self {
        match answer {
            Ok(created) => Self {
                created: Some(created),
                ..Self::default()
            },
            Err(UiError::Invalid(fields)) => Self {
                errors: fields.0,
                name,
                ..Self::default()
            },
            Err(other) => Self {
                message: Some(other.to_string()),
                name,
                ..Self::default()
            },
        }
    }
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
    let revoke = ServerAction::<RevokeToken>::new();
    let tokens = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_tokens(),
    );
    // What the last "Create token" came to: the page's own answer, else a plain post's.
    let posted = StoredValue::new(posted);
    let answer = move || {
        create
            .value()
            .get()
            .map(|answer| PostedToken::answered(answer, String::new()))
            .or_else(|| posted.get_value())
            .unwrap_or_default()
    };
    let name_error = move || {
        answer()
            .errors
            .into_iter()
            .find(|f| f.path == "name")
            .map(|f| f.message)
    };
    // Everything but the name's own message, which sits under its box.
    let message = move || {
        let answer = answer();
        let others: Vec<String> = answer
            .errors
            .into_iter()
            .filter(|f| f.path != "name")
            .map(|f| f.message)
            .chain(answer.message)
            .collect();
        (!others.is_empty()).then(|| others.join("; "))
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
                    <input name="name" value=answer().name required maxlength="64" placeholder="ci-deploys" aria-describedby="token-name-error" />
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
            <p id="token-name-error" class="field-error" role="alert">{name_error}</p>
            <p class="field-error" role="alert">{message}</p>
            <p class="muted small">"Every token reads. One used by CI to submit changes needs “request”; only a lead's own token used for reviews needs “review”."</p>
            {move || answer().created.map(|new| view! {
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
