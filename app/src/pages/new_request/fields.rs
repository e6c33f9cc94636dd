//! The inputs of the forms. Each input knows its field path, so an error from the
//! browser's check or from the server lands under the input it is about.

use domain::FieldError;
use leptos::prelude::*;

use super::{belongs_to, form::FormState};

fn input_id(path: &str) -> String {
    format!("field-{}", path.replace(['.', '_'], "-"))
}

/// The messages for `path`, joined.
fn message_for(errors: Signal<Vec<FieldError>>, path: &'static str) -> impl Fn() -> String {
    move || {
        errors.with(|all| {
            all.iter()
                .filter(|e| belongs_to(&e.path, path))
                .map(|e| match e.path.strip_prefix(path) {
                    Some(rest) if !rest.is_empty() => format!("{rest}: {}", e.message),
                    _ => e.message.clone(),
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
    }
}

/// Label, input, hint and the field's errors, wired for screen readers.
#[component]
pub fn TextField(
    label: &'static str,
    path: &'static str,
    value: RwSignal<String>,
    errors: Signal<Vec<FieldError>>,
    #[prop(optional)] hint: &'static str,
    #[prop(optional)] placeholder: &'static str,
    #[prop(optional)] multiline: bool,
    #[prop(optional)] numeric: bool,
    /// Greyed out and not posted while true (what it sets does not apply then).
    #[prop(optional)]
    disabled: Option<Signal<bool>>,
) -> impl IntoView {
    let disabled = move || disabled.is_some_and(|d| d.get());
    let id = input_id(path);
    let error_id = format!("{id}-error");
    let message = message_for(errors, path);
    let invalid = {
        let message = message_for(errors, path);
        move || (!message().is_empty()).then_some("true")
    };
    // `bind:value` keeps the input and the signal in step once the page is live; the
    // server-rendered page needs the value in the markup too, or a form posted without
    // wasm would lose its defaults and what was typed.
    let initial = value.get_untracked();
    let control = if multiline {
        view! {
            <textarea id=id.clone() name=path rows="3" placeholder=placeholder bind:value=value
                aria-invalid=invalid aria-describedby=error_id.clone()>{initial}</textarea>
        }
        .into_any()
    } else {
        view! {
            <input id=id.clone() name=path placeholder=placeholder bind:value=value value=initial
                inputmode=numeric.then_some("numeric") autocomplete="off" disabled=disabled
                aria-invalid=invalid aria-describedby=error_id.clone() />
        }
        .into_any()
    };
    view! {
        <div class="field">
            <label for=id>{label}</label>
            {control}
            {(!hint.is_empty()).then(|| view! { <p class="hint">{hint}</p> })}
            <p class="field-error" id=error_id data-field=path>{message}</p>
        </div>
    }
}

/// A choice among `options` (value = label).
#[component]
pub fn SelectField(
    label: &'static str,
    path: &'static str,
    value: RwSignal<String>,
    options: Vec<String>,
    errors: Signal<Vec<FieldError>>,
) -> impl IntoView {
    let pairs = options.into_iter().map(|o| (o.clone(), o)).collect();
    view! { <ChoiceField label path value options=pairs errors /> }
}

/// A choice among `(value, label)` pairs.
#[component]
pub fn ChoiceField(
    label: &'static str,
    path: &'static str,
    value: RwSignal<String>,
    options: Vec<(String, String)>,
    errors: Signal<Vec<FieldError>>,
    #[prop(optional)] hint: &'static str,
) -> impl IntoView {
    let id = input_id(path);
    let error_id = format!("{id}-error");
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <select id=id name=path bind:value=value aria-describedby=error_id.clone()>
                {options.into_iter().map(|(v, l)| view! {
                    <option value=v.clone() selected=move || value.get() == v>{l}</option>
                }).collect_view()}
            </select>
            {(!hint.is_empty()).then(|| view! { <p class="hint">{hint}</p> })}
            <p class="field-error" id=error_id data-field=path>{message_for(errors, path)}</p>
        </div>
    }
}

fn pairs(options: &[(&str, &str)]) -> Vec<(String, String)> {
    options
        .iter()
        .map(|(v, l)| ((*v).to_owned(), (*l).to_owned()))
        .collect()
}

#[component]
pub fn ServiceFields(form: FormState, errors: Signal<Vec<FieldError>>) -> impl IntoView {
    view! {
        <TextField label="Name" path="spec.name" value=form.name errors placeholder="ledger"
            hint="Lower-case letters, digits and dashes; also the Deployment's and Service's name." />
        <TextField label="Image" path="spec.image" value=form.image errors
            placeholder="ghcr.io/acme/ledger:1.4.2" hint="Pin a tag or a digest." />
        <div class="field-row">
            <TextField label="Port" path="spec.port" value=form.port errors numeric=true />
            <ChoiceField label="Protocol" path="spec.protocol" value=form.protocol errors
                options=pairs(&[("http", "HTTP"), ("grpc", "gRPC"), ("tcp", "TCP")]) />
        </div>
        <div class="field-row">
            <ChoiceField label="Replicas set by" path="spec.scaling" value=form.scaling errors
                options=pairs(&[("fixed", "Stargate (fixed count)"), ("hpa", "A HorizontalPodAutoscaler")])
                hint="With an autoscaler, Stargate leaves the Deployment's replicas to it: its changes are not drift." />
            <TextField label="Replicas" path="spec.replicas" value=form.replicas errors numeric=true
                disabled=Signal::derive(move || form.scaling.get() == "hpa")
                hint="Ignored when an autoscaler sets them." />
        </div>
        <div class="field-row">
            <TextField label="CPU request" path="spec.cpu" value=form.cpu errors />
            <TextField label="Memory" path="spec.memory" value=form.memory errors />
        </div>
        <TextField label="Environment" path="spec.env" value=form.env errors multiline=true
            placeholder="LOG_LEVEL=info"
            hint="One KEY=value per line; everyone can read these. Secrets by reference only: KEY=secret:NAME/KEY (a Secret of the team's namespace) or KEY=external:STORE/PATH#PROPERTY (an external store)." />
    }
}

/// The services of each team the form may be for, loaded with the page (by team name).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct TeamServices(pub Vec<(String, Vec<String>)>);

/// One of the team's services (an ingress's backend, an exposure's target).
#[component]
fn ServiceChoice(form: FormState, errors: Signal<Vec<FieldError>>) -> impl IntoView {
    let all = use_context::<TeamServices>().unwrap_or_default();
    let options = move || {
        let team = form.team.get();
        let mut options = vec![(String::new(), "Choose a service".to_owned())];
        if let Some((_, names)) = all.0.iter().find(|(t, _)| *t == team) {
            options.extend(names.iter().map(|n| (n.clone(), n.clone())));
        }
        options
    };
    // Drawn again when the team changes: its services are other ones.
    move || view! { <ChoiceField label="Service" path="spec.service" value=form.service options=options() errors /> }
}

#[component]
pub fn IngressFields(form: FormState, errors: Signal<Vec<FieldError>>) -> impl IntoView {
    let alb = move || form.class.get() == "alb";
    view! {
        <TextField label="Host" path="spec.host" value=form.host errors placeholder="pay.payments.example.com"
            hint="Under one of your team's domains." />
        <ServiceChoice form errors />
        <div class="field-row">
            <TextField label="Service port" path="spec.port" value=form.port errors numeric=true />
            <TextField label="Path" path="spec.path" value=form.path errors />
            <ChoiceField label="Protocol" path="spec.protocol" value=form.protocol errors
                options=pairs(&[("http", "HTTP"), ("grpc", "gRPC")])
                hint="gRPC sets the controller's backend-protocol annotation for you." />
        </div>
        <div class="field-row">
            <ChoiceField label="Ingress class" path="spec.class" value=form.class errors
                options=pairs(&[("nginx", "nginx"), ("alb", "AWS ALB")]) />
            <ChoiceField label="TLS" path="spec.tls" value=form.tls errors
                options=pairs(&[("none", "None"), ("cert_manager", "cert-manager certificate"), ("acm", "ACM certificate (ALB)")]) />
        </div>
        <Show when=move || form.tls.get() == "acm">
            <TextField label="ACM certificate ARN" path="spec.acm_certificate_arn" value=form.acm_certificate_arn errors
                placeholder="arn:aws:acm:eu-west-1:123456789012:certificate/…" />
        </Show>
        <Show when=alb>
            <div class="field-row">
                <ChoiceField label="ALB scheme" path="spec.alb.scheme" value=form.alb_scheme errors
                    options=pairs(&[("internet-facing", "Internet-facing"), ("internal", "Internal")]) />
                <ChoiceField label="Target type" path="spec.alb.target_type" value=form.alb_target_type errors
                    options=pairs(&[("ip", "ip (pods directly)"), ("instance", "instance (node ports)")])
                    hint="instance needs a NodePort Service; the preview shows the change." />
            </div>
        </Show>
    }
}

#[component]
pub fn CertificateFields(form: FormState, errors: Signal<Vec<FieldError>>) -> impl IntoView {
    view! {
        <TextField label="Name" path="spec.name" value=form.name errors placeholder="payments-edge" />
        <TextField label="DNS names" path="spec.dns_names" value=form.dns_names errors multiline=true
            placeholder="pay.payments.example.com" hint="One per line. Wildcards (*.example.com) need the DNS-01 challenge." />
        <div class="field-row">
            <TextField label="ClusterIssuer" path="spec.issuer" value=form.issuer errors />
            <ChoiceField label="Challenge" path="spec.challenge" value=form.challenge errors
                options=pairs(&[("http01", "HTTP-01"), ("dns01", "DNS-01")]) />
        </div>
    }
}

#[component]
pub fn ExposureFields(form: FormState, errors: Signal<Vec<FieldError>>) -> impl IntoView {
    // The protocol input is shared with the other forms: HTTP or gRPC from there means TCP.
    if !matches!(form.protocol.get_untracked().as_str(), "tcp" | "udp") {
        form.protocol.set("tcp".to_owned());
    }
    let nlb = move || form.via.get() == "nlb";
    view! {
        <ServiceChoice form errors />
        <div class="field-row">
            <TextField label="Service port" path="spec.port" value=form.port errors numeric=true
                hint="The port the service listens on." />
            <ChoiceField label="Protocol" path="spec.protocol" value=form.protocol errors
                options=pairs(&[("tcp", "TCP"), ("udp", "UDP")])
                hint="UDP goes through an NLB." />
            <TextField label="External port" path="spec.external_port" value=form.external_port errors
                numeric=true placeholder="9000" hint="Where clients connect (1–65535)." />
        </div>
        <ChoiceField label="Through" path="spec.via" value=form.via errors
            options=pairs(&[("nginx", "ingress-nginx (shared: one owner per port)"), ("nlb", "An AWS NLB of its own")])
            hint="ingress-nginx adds an entry to its tcp-services ConfigMap; an NLB is a LoadBalancer Service of the service's own." />
        <Show when=nlb>
            <ChoiceField label="NLB scheme" path="spec.scheme" value=form.scheme errors
                options=pairs(&[("internal", "Internal (the VPC only)"), ("internet-facing", "Internet-facing")]) />
        </Show>
    }
}

#[component]
pub fn DecommissionFields(form: FormState, errors: Signal<Vec<FieldError>>) -> impl IntoView {
    view! {
        <p class="muted small">"Everything named here is deleted from the cluster after review. A service goes only together with every host that routes to it."</p>
        <TextField label="Services" path="spec.services" value=form.services errors multiline=true
            placeholder="ledger" hint="One per line." />
        <TextField label="Hosts" path="spec.hosts" value=form.hosts errors multiline=true
            placeholder="ledger.payments.example.com" hint="One per line: each host's Ingress is deleted." />
        <TextField label="Certificates" path="spec.certificates" value=form.certificates errors multiline=true
            placeholder="ledger-tls" hint="One per line." />
    }
}

#[component]
pub fn RestoreFields(form: FormState, errors: Signal<Vec<FieldError>>) -> impl IntoView {
    view! {
        <p class="muted small">"Every object of the service that had drifted or was missing at the last drift check is applied again exactly as last approved. The plan shows what the restore changes back."</p>
        <TextField label="Service" path="spec.service" value=form.service errors
            placeholder="ledger" hint="A service of the team." />
    }
}

#[component]
pub fn AdoptFields(form: FormState, errors: Signal<Vec<FieldError>>) -> impl IntoView {
    view! {
        <p class="muted small">"The live values of the service's drifted fields, as the last drift check found them, become its approved spec: later changes start from them. Fields a service's spec cannot say (labels, annotations, secret references) cannot be adopted; restore those instead. The plan shows each field, approved → live."</p>
        <TextField label="Service" path="spec.service" value=form.service errors
            placeholder="ledger" hint="A service of the team." />
    }
}

#[component]
pub fn ImportFields(form: FormState, errors: Signal<Vec<FieldError>>) -> impl IntoView {
    view! {
        <p class="muted small">"Admins only. The Deployments, Services, Ingresses and Certificates the namespace already holds, never applied by Stargate, become the team's services, hosts and certificates: the plan lists each object and what it becomes, and those left alone with why. Once a lead approves, Stargate applies them as rendered and owns their fields from then on."</p>
        <TextField label="Namespace" path="spec.namespace" value=form.namespace errors
            placeholder="payments" hint="The team's own namespace on the cluster." />
    }
}
