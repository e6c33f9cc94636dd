use domain::{
    Exposure, ServiceDetail,
    iac::ObjectPath,
    request::{Scaling, object_names::ingress_name},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_params_map};

use crate::{
    api::get_service,
    components::{
        day_two_links::{
            certificate_change_href, change_href, decommission_href, exposure_href,
            host_change_href,
        },
        drift::ServiceDrift,
        error_panel::ErrorPanel,
        status_badge::{RequestStatusBadge, StatusBadge},
        timestamp::Timestamp,
    },
    error::UiError,
    pages::{infrastructure::object_href, not_found::NotFound},
};

#[component]
pub fn ServicePage() -> impl IntoView {
    let params = use_params_map();
    let service = Resource::new(
        move || {
            params.with(|p| {
                (
                    p.get("team").unwrap_or_default(),
                    p.get("name").unwrap_or_default(),
                )
            })
        },
        |(team, name)| get_service(team, name),
    );
    view! {
        <Transition fallback=|| view! { <p class="loading" aria-busy="true">"Loading service…"</p> }>
            {move || Suspend::new(async move {
                match service.await {
                    Ok(detail) => view! { <ServiceView detail /> }.into_any(),
                    Err(UiError::NotFound(_)) => view! { <NotFound /> }.into_any(),
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ServiceView(detail: ServiceDetail) -> impl IntoView {
    let title = format!("{}/{}", detail.team, detail.name);
    let team_href = format!("/services?team={}", detail.team);
    let iac = detail.clone();
    let exposures = detail.exposures.clone();
    let service = detail.name.to_string();
    let team = detail.team.to_string();
    let live = detail.decommissioned_at.is_none();
    let expose = live.then(|| {
        exposure_href(
            detail.team.as_str(),
            &detail.cluster,
            detail.name.as_str(),
            detail.port,
        )
    });
    let cluster = detail.cluster.clone();
    let service_change = change_href(
        "service",
        &team,
        detail.name.as_str(),
        &[
            ("cluster", cluster.clone()),
            ("spec.name", detail.name.to_string()),
            ("spec.image", detail.image.clone()),
            ("spec.port", detail.port.to_string()),
            match detail.scaling {
                Scaling::Fixed => ("spec.replicas", detail.replicas.to_string()),
                Scaling::Hpa => ("spec.scaling", Scaling::Hpa.as_str().to_owned()),
            },
        ],
    );
    let decommission = decommission_href(
        &team,
        &cluster,
        &[
            ("spec.services", vec![detail.name.to_string()]),
            (
                "spec.hosts",
                detail.hosts.iter().map(|h| h.host.clone()).collect(),
            ),
        ],
    );
    view! {
        <Title text=title.clone() />
        <nav class="breadcrumbs" aria-label="Breadcrumb">
            <A href="/services">"Services"</A>
            " / "
            <A href=team_href.clone()>{detail.team.to_string()}</A>
        </nav>
        <div class="page-header">
            <h1>{detail.name.to_string()} " " <StatusBadge status=detail.status /></h1>
            <p class="muted">{detail.description.clone()}</p>
            {live.then(|| view! {
                <p class="actions">
                    <a href=service_change.clone() class="button small secondary">"Change"</a>" "
                    <a href=decommission.clone() class="button small secondary danger">"Decommission"</a>
                </p>
            })}
        </div>
        {detail.decommissioned_at.clone().map(|at| view! {
            <p class="notice" role="status">"Decommissioned " <Timestamp value=at />
                ": its objects were deleted from the cluster. Requesting a service of this name brings it back."</p>
        })}
        <div class="grid">
            <section class="card">
                <h2>"Ownership"</h2>
                <dl>
                    <dt>"Team"</dt>
                    <dd><A href=team_href>{detail.team_display_name.clone()}</A></dd>
                    <dt>"Cluster"</dt>
                    <dd><code>{detail.cluster.clone()}</code></dd>
                    <dt>"Namespace"</dt>
                    <dd><code>{detail.namespace.clone()}</code></dd>
                </dl>
            </section>
            <section class="card">
                <h2>"Workload"</h2>
                <dl>
                    <dt>"Image"</dt>
                    <dd><code class="wrap">{detail.image.clone()}</code></dd>
                    <dt>"Replicas"</dt>
                    <dd data-testid="service-replicas">{match detail.scaling {
                        Scaling::Fixed => detail.replicas.to_string(),
                        Scaling::Hpa => "Set by a HorizontalPodAutoscaler".to_owned(),
                    }}
                        {detail.live_replicas.map(|l| view! { <span class="muted small">{format!(" · {}/{} available", l.available, l.replicas)}</span> })}
                    </dd>
                    <dt>"Port"</dt>
                    <dd>{detail.port}</dd>
                </dl>
            </section>
            <section class="card">
                <h2>"Leads"</h2>
                {if detail.leads.is_empty() {
                    view! { <p class="muted">"No lead of this team has signed in yet."</p> }.into_any()
                } else {
                    view! { <ul class="plain">{detail.leads.iter().map(|l| view! { <li>{l.clone()}</li> }).collect_view()}</ul> }.into_any()
                }}
            </section>
            <section class="card">
                <h2>"History"</h2>
                <dl>
                    <dt>"Created"</dt>
                    <dd><Timestamp value=detail.created_at.clone() /></dd>
                    <dt>"Last change"</dt>
                    <dd><Timestamp value=detail.updated_at.clone() /></dd>
                </dl>
            </section>
        </div>
        <section class="card section" data-testid="service-hosts">
            <h2>"Ingress hosts"</h2>
            {if detail.hosts.is_empty() {
                view! { <p class="muted">"No ingress host yet: the service is reachable only inside the cluster."</p> }.into_any()
            } else {
                view! {
                    <ul class="plain">
                        {detail.hosts.iter().map(|h| view! {
                            <li><a href=format!("https://{}", h.host) rel="external noopener"><code>{h.host.clone()}</code></a>
                            <span class="muted small">{format!(" {} ingress, TLS {}", h.class, h.tls.replace('_', "-"))}
                                {h.lb_address.clone().map(|lb| format!(" · LB: {lb}"))}</span>" "
                            <a href=host_change_href(h, &cluster) class="small" aria-label=format!("Change host {}", h.host)>"Change"</a></li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
        <section class="card section" data-testid="service-certificates">
            <h2>"Certificates"</h2>
            {if detail.certificates.is_empty() {
                view! { <p class="muted">"No certificate covers this service's hosts."</p> }.into_any()
            } else {
                view! {
                    <ul class="plain">
                        {detail.certificates.iter().map(|c| view! {
                            <li class:expiring=c.expiring_soon>
                                <strong>{c.name.clone()}</strong>" · "{c.issuer.clone()}" · "
                                {match c.expires_at.clone() {
                                    Some(at) => view! { "expires " <Timestamp value=at date_only=true />
                                        {c.live_at.is_some().then_some(" (from the cluster)")} }.into_any(),
                                    None => "not issued yet".into_any(),
                                }}
                                {c.expiring_soon.then(|| view! { " " <span class="badge badge-degraded">"expiring soon"</span> })}" "
                                <a href=certificate_change_href(c, &cluster) class="small" aria-label=format!("Change certificate {}", c.name)>"Change"</a>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
        <Exposures service=service.clone() exposures expose />
        {(live && detail.applied_manifests.is_some()).then(|| view! { <ServiceDrift team=team.clone() name=service.clone() cluster=cluster.clone() /> })}
        <section class="card section" data-testid="service-history">
            <h2>"Request history"</h2>
            {if detail.history.is_empty() {
                view! { <p class="muted">"No requests through Stargate yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="plain">
                        {detail.history.iter().map(|r| view! {
                            <li>
                                <A href=format!("/requests/{}", r.id)>{format!("#{} {}", r.id, r.title)}</A>" "
                                <RequestStatusBadge status=r.status />
                                <span class="muted">" by "{r.requester_name.clone()}" · "<Timestamp value=r.created_at.clone() /></span>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
        <IacLinks detail=iac />
        <section class="card section" data-testid="service-applied">
            <h2>"As last applied"</h2>
            {match detail.applied_manifests.clone() {
                Some(yaml) => view! { <pre class="yaml"><code>{yaml}</code></pre> }.into_any(),
                None => view! { <p class="muted">"Stargate has not applied this service yet."</p> }.into_any(),
            }}
        </section>
    }
}

/// The service's ports exposed over TCP or UDP, and what carries each.
#[component]
fn Exposures(
    service: String,
    exposures: Vec<Exposure>,
    /// The link to the form, while the service is live.
    expose: Option<String>,
) -> impl IntoView {
    let carrier = move |e: &Exposure| match (e.via.as_str(), e.scheme.as_deref()) {
        ("nlb", scheme) => format!(
            "an {} NLB (Service {service}-{}-{})",
            scheme.unwrap_or("internal"),
            e.protocol,
            e.external_port
        ),
        _ => format!("ingress-nginx ({}-services)", e.protocol),
    };
    view! {
        <section class="card section" data-testid="service-exposures">
            <h2>"TCP/UDP ports " {expose.map(|href| view! { <a href=href class="button small secondary">"Expose a port"</a> })}</h2>
            {if exposures.is_empty() {
                view! { <p class="muted">"No port exposed over TCP or UDP."</p> }.into_any()
            } else {
                view! {
                    <ul class="plain">
                        {exposures.iter().map(|e| view! {
                            <li><code>{format!("{} {}", e.protocol.to_uppercase(), e.external_port)}</code>
                            <span class="muted small">{format!(" → port {} through {}", e.port, carrier(e))}</span></li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}

/// Links to the history of each of the service's objects in the IaC repository: its
/// Deployment and Service, and the Ingress of each host.
#[component]
fn IacLinks(detail: ServiceDetail) -> impl IntoView {
    let object = |kind: &str, name: String| ObjectPath {
        cluster: detail.cluster.clone(),
        folder: detail.namespace.clone(),
        kind: kind.to_owned(),
        name,
    };
    let name = detail.name.to_string();
    let mut objects = vec![
        ("Deployment".to_owned(), object("deployment", name.clone())),
        ("Service".to_owned(), object("service", name.clone())),
    ];
    for host in &detail.hosts {
        let ingress = object("ingress", ingress_name(&name, &host.host));
        objects.push((format!("Ingress for {}", host.host), ingress));
    }
    view! {
        <section class="card section" data-testid="service-iac">
            <h2>"In the IaC repository"</h2>
            <p class="muted small">"Each object's file and every applied change to it, with the diff."</p>
            <ul class="plain">
                {objects.into_iter().map(|(label, path)| view! {
                    <li><A href=object_href(&path.path(), None)>{label}" history"</A>" "
                        <code class="muted small">{path.path()}</code></li>
                }).collect_view()}
            </ul>
        </section>
    }
}
