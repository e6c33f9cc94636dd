//! Offboarding (admins): people with their sessions and tokens; deactivate someone (every
//! session and token stops at once) and revoke any token. The forms post plain HTML too,
//! so they work before the page is interactive.

use domain::{Page, RawUserQuery, UserDetail, UserSummary};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{A, Form},
    hooks::{use_params_map, use_query_map},
};

use crate::{
    api::{DeactivateUser, ReactivateUser, RevokeAnyToken, get_user, list_users},
    components::{
        empty_state::EmptyState,
        error_panel::ErrorPanel,
        island::island_ready,
        island_preload::PreloadIsland,
        pagination::{Pagination, with_query},
        timestamp::Timestamp,
    },
    error::{UiError, action_error},
};

fn when(value: Option<String>, otherwise: &'static str) -> AnyView {
    match value {
        Some(at) => view! { <Timestamp value=at /> }.into_any(),
        None => otherwise.into_any(),
    }
}

#[component]
pub fn AdminUsersPage() -> impl IntoView {
    let query_map = use_query_map();
    let raw = Memo::new(move |_| {
        query_map.with(|q| RawUserQuery {
            q: q.get("q"),
            page: q.get("page"),
            per_page: q.get("per_page"),
        })
    });
    let users = Resource::new(move || raw.get(), list_users);
    view! {
        <Title text="Users" />
        <div class="page-header">
            <h1>"Users"</h1>
            <p class="muted">"Everyone who has signed in or holds a token. Deactivating someone ends their sessions and revokes their tokens at once."</p>
        </div>
        <Form method="GET" action="/admin/users" attr:class="filters" attr:role="search">
            <div class="field">
                <label for="users-q">"Email contains"</label>
                <input id="users-q" name="q" type="search" maxlength="100" autocomplete="off"
                    placeholder="pat@example.com"
                    value=raw.with_untracked(|r| r.q.clone().unwrap_or_default())
                    prop:value=move || raw.with(|r| r.q.clone().unwrap_or_default()) />
            </div>
            <div class="audit-filter-actions">
                <button type="submit" class="button secondary">"Search"</button>
                <a href="/admin/users">"Clear"</a>
            </div>
        </Form>
        <Transition fallback=|| view! { <p class="loading" aria-busy="true">"Loading users…"</p> }>
            {move || Suspend::new(async move {
                match users.await {
                    Ok(page) if page.items.is_empty() => view! {
                        <EmptyState title="No users match" hint="People appear here once they sign in or are given a token.">
                            <a href="/admin/users" class="button secondary">"Show everyone"</a>
                        </EmptyState>
                    }.into_any(),
                    Ok(page) => view! { <UsersTable page raw=raw.get_untracked() /> }.into_any(),
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn UsersTable(page: Page<UserSummary>, raw: RawUserQuery) -> impl IntoView {
    let rows = page.items.clone();
    view! {
        <table class="table" data-testid="users">
            <caption class="sr-only">"Users, by email"</caption>
            <thead><tr>
                <th scope="col">"Email"</th><th scope="col">"Name"</th><th scope="col">"State"</th>
                <th scope="col">"Sessions"</th><th scope="col">"Tokens"</th><th scope="col">"Last sign-in"</th>
            </tr></thead>
            <tbody>
                {rows.into_iter().map(|user| view! {
                    <tr>
                        <td><A href=format!("/admin/users/{}", user.id)>{user.email.clone()}</A></td>
                        <td>{user.name.clone()}</td>
                        <td><StateChip deactivated=user.deactivated_at.is_some() /></td>
                        <td>{user.active_sessions}</td>
                        <td>{user.live_tokens}</td>
                        <td>{when(user.last_sign_in_at.clone(), "never")}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        <Pagination page href=move |n| with_query("/admin/users", &raw.to_query_string(n)) />
    }
}

#[component]
fn StateChip(deactivated: bool) -> impl IntoView {
    if deactivated {
        view! { <span class="user-state deactivated">"deactivated"</span> }
    } else {
        view! { <span class="user-state">"active"</span> }
    }
}

/// The actions of the detail page, whose results reload it.
#[derive(Clone, Copy)]
struct UserActions {
    deactivate: ServerAction<DeactivateUser>,
    reactivate: ServerAction<ReactivateUser>,
    revoke: ServerAction<RevokeAnyToken>,
}

impl UserActions {
    fn version(&self) -> (usize, usize, usize) {
        (
            self.deactivate.version().get(),
            self.reactivate.version().get(),
            self.revoke.version().get(),
        )
    }

    fn error(&self) -> Option<String> {
        action_error(self.deactivate.value().get())
            .or_else(|| action_error(self.reactivate.value().get()))
            .or_else(|| action_error(self.revoke.value().get()))
    }
}

#[component]
pub fn AdminUserPage() -> impl IntoView {
    let id = use_params_map().with_untracked(|p| p.get("id").and_then(|id| id.parse::<i64>().ok()));
    view! {
        <PreloadIsland island="admin_user" />
        <AdminUser id />
    }
}

/// One user, with what an admin may do to them.
#[island(lazy)]
fn AdminUser(id: Option<i64>) -> impl IntoView {
    island_ready();
    let id = move || id;
    let actions = UserActions {
        deactivate: ServerAction::new(),
        reactivate: ServerAction::new(),
        revoke: ServerAction::new(),
    };
    let user = Resource::new(
        move || (id(), actions.version()),
        |(id, _)| async move {
            match id {
                Some(id) => get_user(id).await,
                None => Err(UiError::NotFound("user".into())),
            }
        },
    );
    view! {
        <Transition fallback=|| view! { <p class="loading" aria-busy="true">"Loading user…"</p> }>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(detail) => view! { <UserView detail actions /> }.into_any(),
                    Err(error) => view! { <Title text="User" /><ErrorPanel error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn UserView(detail: UserDetail, actions: UserActions) -> impl IntoView {
    let user = detail.user.clone();
    let id = user.id;
    let deactivated = user.deactivated_at.clone();
    view! {
        <Title text=user.email.clone() />
        <p><a href="/admin/users">"← All users"</a></p>
        <div class="page-header">
            <h1>{user.name.clone()}" " <StateChip deactivated=deactivated.is_some() /></h1>
            <p class="muted">{user.email.clone()}" · groups: "{user.groups.join(", ")}</p>
        </div>
        <section class="card" data-testid="offboarding">
            {match deactivated {
                // Admins do not deactivate themselves (the server refuses it too).
                None if detail.is_you => view! {
                    <h2>"Deactivate"</h2>
                    <p class="muted">"This is your own account: another admin can deactivate it."</p>
                }.into_any(),
                Some(at) => view! {
                    <p>"Deactivated " <Timestamp value=at />": they cannot sign in, and no token works for them."</p>
                    <ActionForm action=actions.reactivate attr:class="actions">
                        <input type="hidden" name="id" value=id />
                        <button type="submit" class="button secondary">"Reactivate"</button>
                        <span class="muted">" They may sign in again; revoked tokens stay revoked."</span>
                    </ActionForm>
                }.into_any(),
                None => view! {
                    <h2>"Deactivate"</h2>
                    <ActionForm action=actions.deactivate attr:class="form-row">
                        <input type="hidden" name="id" value=id />
                        <label>
                            <input type="checkbox" name="confirm" value="yes" required />
                            {format!(" End {}'s {} session(s) and revoke {} token(s) now, and refuse their sign-in", user.email, user.active_sessions, user.live_tokens)}
                        </label>
                        <button type="submit" class="button secondary danger"
                            disabled=move || actions.deactivate.pending().get()>"Deactivate"</button>
                    </ActionForm>
                }.into_any(),
            }}
            <p class="field-error" role="alert">{move || actions.error()}</p>
        </section>
        <section class="card">
            <h2>"Sessions"</h2>
            {if detail.sessions.is_empty() {
                view! { <p class="muted" data-testid="no-sessions">"No active sessions."</p> }.into_any()
            } else {
                view! {
                    <table class="table" data-testid="sessions">
                        <thead><tr>
                            <th scope="col">"Started"</th><th scope="col">"Last seen"</th><th scope="col">"Ends"</th>
                        </tr></thead>
                        <tbody>
                            {detail.sessions.into_iter().map(|s| view! {
                                <tr>
                                    <td><Timestamp value=s.created_at /></td>
                                    <td><Timestamp value=s.last_seen_at /></td>
                                    <td><Timestamp value=s.expires_at /></td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
        <section class="card">
            <h2>"Tokens"</h2>
            {if detail.tokens.is_empty() {
                view! { <p class="muted">"No tokens."</p> }.into_any()
            } else {
                view! {
                    <table class="table" data-testid="user-tokens">
                        <thead><tr>
                            <th scope="col">"Name"</th><th scope="col">"May"</th><th scope="col">"Created"</th>
                            <th scope="col">"Expires"</th><th scope="col">"Last used"</th><th scope="col">"Revoked"</th>
                            <th scope="col"><span class="sr-only">"Actions"</span></th>
                        </tr></thead>
                        <tbody>
                            {detail.tokens.into_iter().map(|t| {
                                let live = t.revoked_at.is_none();
                                let label = format!("Revoke {}", t.name);
                                view! {
                                    <tr>
                                        <td>{t.name.clone()}</td>
                                        <td><code>{t.scopes.clone()}</code></td>
                                        <td><Timestamp value=t.created_at.clone() /></td>
                                        <td>{when(t.expires_at.clone(), "never")}</td>
                                        <td>{when(t.last_used_at.clone(), "not yet")}</td>
                                        <td>{when(t.revoked_at.clone(), "no")}</td>
                                        <td>{live.then(|| view! {
                                            <ActionForm action=actions.revoke>
                                                <input type="hidden" name="id" value=t.id />
                                                <button type="submit" class="button secondary danger" aria-label=label.clone()>"Revoke"</button>
                                            </ActionForm>
                                        })}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}
