//! Personal access tokens: create (the secret is shown once), list, revoke.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    api::{CreateToken, RevokeToken, list_tokens},
    components::{
        empty_state::EmptyState, error_panel::ErrorPanel, island::island_ready,
        island_preload::PreloadIsland, timestamp::Timestamp,
    },
    error::UiError,
};

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
        <Tokens />
    }
}

/// Creating (the secret shown once), listing and revoking the viewer's tokens.
#[island(lazy)]
fn Tokens() -> impl IntoView {
    island_ready();
    let create = ServerAction::<CreateToken>::new();
    // The new secret is shown by the page itself, so creating waits until the page is
    // interactive (a plain form post would create a token nobody ever sees).
    let interactive = RwSignal::new(false);
    Effect::new(move |_| interactive.set(true));
    let revoke = ServerAction::<RevokeToken>::new();
    let tokens = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_tokens(),
    );
    let field_error = move |path: &'static str| {
        create.value().with(|v| match v {
            Some(Err(UiError::Invalid(fields))) => fields
                .0
                .iter()
                .find(|f| f.path == path)
                .map(|f| f.message.clone()),
            _ => None,
        })
    };
    view! {
        <section class="card">
            <h2>"New token"</h2>
            <ActionForm action=create attr:class="form-row">
                <label>
                    "Name"
                    <input name="name" required maxlength="64" placeholder="ci-deploys" aria-describedby="token-name-error" />
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
                    disabled=move || create.pending().get() || !interactive.get()
                >
                    {move || if create.pending().get() { "Creating…" } else { "Create token" }}
                </button>
            </ActionForm>
            <p id="token-name-error" class="field-error" role="alert">{move || field_error("name")}</p>
            <p class="muted small">"Every token reads. One used by CI to submit changes needs “request”; only a lead's own token used for reviews needs “review”."</p>
            {move || create.value().get().and_then(|r| r.ok()).map(|new| view! {
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
