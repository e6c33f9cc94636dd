use domain::TeamRole;
use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::{current_user, dev_sign_in_mode};

#[component]
pub fn Header() -> impl IntoView {
    let session = Resource::new(|| (), |_| current_user());
    // Not from the session: the banner is on every page, signed in or not.
    let dev_sign_in = OnceResource::new(dev_sign_in_mode());
    view! {
        <Transition>
            {move || Suspend::new(async move {
                dev_sign_in.await.then(|| view! {
                    <aside class="dev-banner" aria-label="Development sign-in">
                        "Development sign-in: anyone who can reach this address can act as any demo user."
                    </aside>
                })
            })}
        </Transition>
        <header class="topbar">
            <div class="container topbar-inner">
                <a class="brand" href="/services">
                    <span class="brand-mark" aria-hidden="true">"◎"</span>
                    "Stargate"
                </a>
                <nav aria-label="Main">
                    <A href="/services">"Services"</A>
                    <A href="/teams">"Teams"</A>
                    <A href="/hosts">"Hosts"</A>
                    <A href="/certificates">"Certificates"</A>
                    <A href="/clusters">"Clusters"</A>
                    <A href="/infrastructure">"Infrastructure"</A>
                    <A href="/requests">"Requests"</A>
                    <A href="/reviews">
                        "Reviews"
                        <Transition>
                            {move || Suspend::new(async move {
                                session.await.ok().filter(|s| s.reviews > 0).map(|s| view! {
                                    <span class="count-badge" data-testid="review-count"
                                        aria-label=format!("{} waiting", s.reviews)>{s.reviews}</span>
                                })
                            })}
                        </Transition>
                    </A>
                    <Transition>
                        {move || Suspend::new(async move {
                            session.await.ok().filter(|s| s.me.admin).map(|_| view! {
                                <A href="/audit">"Audit"</A>
                                <A href="/admin/users">"Users"</A>
                            })
                        })}
                    </Transition>
                    <A href="/settings/tokens">"Tokens"</A>
                    <A href="/requests/new" attr:class="button small">"New request"</A>
                </nav>
                <div class="user">
                    <Transition>
                        {move || Suspend::new(async move {
                            match session.await {
                                Ok(info) => {
                                    let teams = info.me.teams.iter().map(|m| {
                                        let role = match m.role { TeamRole::Lead => "lead", TeamRole::Member => "member" };
                                        view! { <span class="chip">{format!("{} · {role}", m.team)}</span> }
                                    }).collect_view();
                                    view! {
                                        <span class="user-name" data-testid="user-name" title=info.me.email.clone()>{info.me.name.clone()}</span>
                                        {teams}
                                        {info.me.admin.then(|| view! { <span class="chip chip-admin">"admin"</span> })}
                                        <form method="post" action="/logout">
                                            <button type="submit" class="link-button">"Sign out"</button>
                                        </form>
                                    }.into_any()
                                }
                                Err(_) => view! { <a href="/login" rel="external">"Sign in"</a> }.into_any(),
                            }
                        })}
                    </Transition>
                </div>
            </div>
        </header>
    }
}
