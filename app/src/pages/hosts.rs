//! Ingress hosts and TLS certificates across the catalog.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use crate::{
    api::{list_certificates, list_hosts},
    components::{
        day_two_links::{certificate_change_href, decommission_href, host_change_href},
        drift::DriftMark,
        empty_state::EmptyState,
        error_panel::ErrorPanel,
        pagination::{Pagination, with_query},
        timestamp::Timestamp,
    },
};

fn tls_label(tls: &str) -> &'static str {
    match tls {
        "cert_manager" => "cert-manager",
        "acm" => "ACM",
        _ => "none",
    }
}

#[component]
pub fn HostsPage() -> impl IntoView {
    let query = use_query_map();
    let hosts = Resource::new(move || query.with(|q| q.get("page")), list_hosts);
    view! {
        <Title text="Ingress hosts" />
        <div class="page-header">
            <h1>"Ingress hosts"</h1>
            <p class="muted">"Every host name served into the clusters, and the service behind it. A host belongs to one service."</p>
        </div>
        <Transition fallback=|| view! { <p class="loading">"Loading hosts…"</p> }>
            {move || Suspend::new(async move {
                match hosts.await {
                    Ok(page) if page.total == 0 => view! { <EmptyState title="No ingress hosts yet" hint="Hosts appear here once a request for one is approved and applied." /> }.into_any(),
                    Ok(page) => view! {
                        <table class="table" data-testid="hosts">
                            <thead><tr><th scope="col">"Host"</th><th scope="col">"Service"</th><th scope="col">"Ingress"</th><th scope="col">"TLS"</th><th scope="col"><span class="sr-only">"Actions"</span></th></tr></thead>
                            <tbody>
                                {page.items.clone().into_iter().map(|h| view! {
                                    <tr>
                                        <td>
                                            <code>{h.host.clone()}</code>" "
                                            <DriftMark state=h.drift team=h.team.to_string() service=Some(h.service.to_string())
                                                what=format!("the Ingress of host {}", h.host) />
                                            {h.lb_address.clone().map(|lb| view! { <div class="muted small">{format!("LB: {lb}")}</div> })}
                                        </td>
                                        <td><A href=format!("/services/{}/{}", h.team, h.service)>{format!("{}/{}", h.team, h.service)}</A></td>
                                        <td>{h.class.clone()}</td>
                                        <td>{tls_label(&h.tls)}</td>
                                        <td class="row-actions">
                                            <a href=host_change_href(&h, "") aria-label=format!("Change host {}", h.host)>"Change"</a>" "
                                            <a href=decommission_href(h.team.as_str(), "", &[("spec.hosts", vec![h.host.clone()])])
                                                aria-label=format!("Decommission host {}", h.host)>"Decommission"</a>
                                        </td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        <Pagination page href=|n| with_query("/hosts", &format!("page={n}")) />
                    }.into_any(),
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
pub fn CertificatesPage() -> impl IntoView {
    let query = use_query_map();
    let certificates = Resource::new(move || query.with(|q| q.get("page")), list_certificates);
    view! {
        <Title text="Certificates" />
        <div class="page-header">
            <h1>"TLS certificates"</h1>
            <p class="muted">"Soonest expiry first; those expiring within 30 days are highlighted."</p>
        </div>
        <Transition fallback=|| view! { <p class="loading">"Loading certificates…"</p> }>
            {move || Suspend::new(async move {
                match certificates.await {
                    Ok(page) if page.total == 0 => view! { <EmptyState title="No certificates yet" hint="Certificates appear here once a request for one is approved and applied." /> }.into_any(),
                    Ok(page) => view! {
                        <table class="table" data-testid="certificates">
                            <thead><tr><th scope="col">"Certificate"</th><th scope="col">"DNS names"</th><th scope="col">"Issuer"</th><th scope="col">"Expires"</th><th scope="col">"Status"</th><th scope="col"><span class="sr-only">"Actions"</span></th></tr></thead>
                            <tbody>
                                {page.items.clone().into_iter().map(|c| view! {
                                    <tr class:expiring=c.expiring_soon>
                                        <td><strong>{c.name.clone()}</strong><div class="muted small">{c.team.to_string()}</div></td>
                                        <td>{c.dns_names.iter().map(|d| view! { <code class="block">{d.clone()}</code> }).collect_view()}</td>
                                        <td>{c.issuer.clone()}</td>
                                        <td>
                                            {match c.expires_at.clone() { Some(at) => view! { <Timestamp value=at date_only=true /> }.into_any(), None => "not issued yet".into_any() }}
                                            {c.live_at.is_some().then(|| view! { <div class="muted small">"from the cluster"</div> })}
                                            {c.expiring_soon.then(|| view! { <span class="badge badge-degraded">"expiring soon"</span> })}
                                        </td>
                                        <td>
                                            {c.status.clone()}" "
                                            <DriftMark state=c.drift team=c.team.to_string() service=c.service.as_ref().map(|s| s.to_string())
                                                what=format!("certificate {}", c.name) />
                                        </td>
                                        <td class="row-actions">
                                            <a href=certificate_change_href(&c, "") aria-label=format!("Change certificate {}", c.name)>"Change"</a>" "
                                            <a href=decommission_href(c.team.as_str(), "", &[("spec.certificates", vec![c.name.clone()])])
                                                aria-label=format!("Decommission certificate {}", c.name)>"Decommission"</a>
                                        </td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        <Pagination page href=|n| with_query("/certificates", &format!("page={n}")) />
                    }.into_any(),
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Transition>
    }
}
