//! Links that open the new-request form for day two: "Change" with the approved state of
//! an object (the newest applied request for it, looked up by `of`), and "Decommission"
//! with the names filled in. What the catalog knows rides in the link too, for objects
//! that were there before Stargate (demo data, an import) and have no request to start from.

use domain::{Certificate, Host};

/// `text` as a query string value.
fn encode_query(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn with_fields(mut href: String, fields: &[(&str, String)]) -> String {
    for (field, value) in fields {
        if !value.is_empty() {
            href.push_str(&format!("&{field}={}", encode_query(value)));
        }
    }
    href
}

/// "Change" for `team`'s object `name` of `kind` (`service`, `ingress`, `certificate`).
pub fn change_href(kind: &str, team: &str, name: &str, known: &[(&str, String)]) -> String {
    with_fields(
        format!(
            "/requests/new?kind={kind}&team={}&of={}",
            encode_query(team),
            encode_query(name)
        ),
        known,
    )
}

/// "Change" for a host; `cluster` when the page knows it.
pub fn host_change_href(host: &Host, cluster: &str) -> String {
    change_href(
        "ingress",
        host.team.as_str(),
        &host.host,
        &[
            ("cluster", cluster.to_owned()),
            ("spec.host", host.host.clone()),
            ("spec.service", host.service.to_string()),
            ("spec.class", host.class.clone()),
            ("spec.tls", host.tls.clone()),
        ],
    )
}

/// "Change" for a certificate; `cluster` when the page knows it.
pub fn certificate_change_href(certificate: &Certificate, cluster: &str) -> String {
    change_href(
        "certificate",
        certificate.team.as_str(),
        &certificate.name,
        &[
            ("cluster", cluster.to_owned()),
            ("spec.name", certificate.name.clone()),
            ("spec.dns_names", certificate.dns_names.join("\n")),
            ("spec.issuer", certificate.issuer.clone()),
        ],
    )
}

/// "Decommission": `names` by input (`spec.services`, `spec.hosts`, `spec.certificates`).
pub fn decommission_href(team: &str, cluster: &str, names: &[(&str, Vec<String>)]) -> String {
    let fields: Vec<(&str, String)> = std::iter::once(("cluster", cluster.to_owned()))
        .chain(
            names
                .iter()
                .map(|(field, names)| (*field, names.join("\n"))),
        )
        .collect();
    with_fields(
        format!(
            "/requests/new?kind=decommission&team={}",
            encode_query(team)
        ),
        &fields,
    )
}

/// "Expose a port" of `team`'s service `service` on `cluster`, listening on `port`.
pub fn exposure_href(team: &str, cluster: &str, service: &str, port: u16) -> String {
    with_fields(
        format!("/requests/new?kind=exposure&team={}", encode_query(team)),
        &[
            ("cluster", cluster.to_owned()),
            ("spec.service", service.to_owned()),
            ("spec.port", port.to_string()),
        ],
    )
}

/// "Restore approved state" of `team`'s service `service` on `cluster`: a restore of its
/// drifted or missing objects.
pub fn restore_href(team: &str, cluster: &str, service: &str) -> String {
    with_fields(
        format!("/requests/new?kind=restore&team={}", encode_query(team)),
        &[
            ("cluster", cluster.to_owned()),
            ("spec.service", service.to_owned()),
        ],
    )
}

/// "Adopt live values" of `team`'s service `service` on `cluster`: an adopt of its drifted
/// fields' live values.
pub fn adopt_href(team: &str, cluster: &str, service: &str) -> String {
    with_fields(
        format!("/requests/new?kind=adopt&team={}", encode_query(team)),
        &[
            ("cluster", cluster.to_owned()),
            ("spec.service", service.to_owned()),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_adopt_link_names_the_service() {
        assert_eq!(
            adopt_href("payments", "demo", "ledger"),
            "/requests/new?kind=adopt&team=payments&cluster=demo&spec.service=ledger"
        );
    }

    #[test]
    fn a_restore_link_names_the_service() {
        assert_eq!(
            restore_href("payments", "demo", "ledger"),
            "/requests/new?kind=restore&team=payments&cluster=demo&spec.service=ledger"
        );
    }

    #[test]
    fn an_exposure_link_names_the_service_and_its_port() {
        assert_eq!(
            exposure_href("payments", "demo", "ledger", 8080),
            "/requests/new?kind=exposure&team=payments&cluster=demo&spec.service=ledger&spec.port=8080"
        );
    }

    #[test]
    fn names_and_lists_are_encoded_for_the_query() {
        assert_eq!(
            decommission_href(
                "payments",
                "demo",
                &[
                    ("spec.services", vec!["ledger".into()]),
                    (
                        "spec.hosts",
                        vec!["a.example.com".into(), "b.example.com".into()]
                    ),
                    ("spec.certificates", Vec::new()),
                ]
            ),
            "/requests/new?kind=decommission&team=payments&cluster=demo&spec.services=ledger\
             &spec.hosts=a.example.com%0Ab.example.com"
        );
        assert_eq!(
            change_href(
                "service",
                "payments",
                "ledger",
                &[("spec.image", "ghcr.io/a/b:1".into())]
            ),
            "/requests/new?kind=service&team=payments&of=ledger&spec.image=ghcr.io%2Fa%2Fb%3A1"
        );
    }
}
