//! Properties of requests: any spec that validates renders without panicking into
//! manifests that carry the request's labels; any spec that does not validate names a
//! field under `spec`.

use domain::{
    TeamName,
    request::{
        CertificateSpec, IngressSpec, ServiceSpec,
        render::{self, Object, RenderContext, ServiceType},
    },
};
use proptest::prelude::*;
use serde_json::{Value, json};

fn ctx(request_id: u32) -> RenderContext {
    RenderContext {
        team: TeamName::parse("team", "payments").unwrap(),
        namespace: "payments".into(),
        request_id: request_id.to_string(),
    }
}

/// Mostly plausible values, sometimes nonsense: both sides of validation get exercised.
fn label() -> impl Strategy<Value = String> {
    prop_oneof![3 => "[a-z][a-z0-9-]{0,20}[a-z0-9]", 1 => ".{0,12}", 1 => "[A-Za-z_.-]{1,8}"]
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => ("[a-z][a-z0-9-]{0,10}", "[a-z]{2,10}").prop_map(|(a, b)| format!("{a}.{b}.example.com")),
        1 => ".{0,20}",
        1 => Just("*.payments.example.com".to_owned()),
    ]
}

fn maybe<T: std::fmt::Debug + Clone + 'static>(
    s: impl Strategy<Value = T> + 'static,
) -> impl Strategy<Value = Option<T>> {
    prop_oneof![Just(None), s.prop_map(Some)]
}

fn service_spec() -> impl Strategy<Value = Value> {
    (
        label(),
        prop_oneof![
            Just("ghcr.io/acme/app:1.2.3".to_owned()),
            "[a-z/:.0-9]{0,20}"
        ],
        -5i64..70_000,
        maybe(-2i64..60),
        maybe(prop_oneof![
            Just("http"),
            Just("grpc"),
            Just("tcp"),
            Just("udp")
        ]),
        maybe(prop_oneof![Just("250m"), Just("1"), Just("0"), Just("9x")]),
        maybe(prop_oneof![Just("256Mi"), Just("1Gi"), Just("1GB")]),
    )
        .prop_map(|(name, image, port, replicas, protocol, cpu, memory)| {
            let mut spec = json!({"name": name, "image": image, "port": port});
            if let Some(r) = replicas {
                spec["replicas"] = json!(r);
            }
            if let Some(p) = protocol {
                spec["protocol"] = json!(p);
            }
            if let Some(c) = cpu {
                spec["cpu"] = json!(c);
            }
            if let Some(m) = memory {
                spec["memory"] = json!(m);
            }
            spec
        })
}

fn ingress_spec() -> impl Strategy<Value = Value> {
    (
        host(),
        label(),
        1i64..70_000,
        prop_oneof![3 => Just("nginx"), 3 => Just("alb"), 1 => Just("traefik")],
        maybe(prop_oneof![Just("http"), Just("grpc")]),
        maybe(prop_oneof![Just("none"), Just("cert_manager"), Just("acm")]),
        maybe(prop_oneof![3 => Just("instance"), 3 => Just("ip"), 1 => Just("pod")]),
        0u8..10,
    )
        .prop_map(
            |(host, service, port, class, protocol, tls, target, noise)| {
                let mut spec =
                    json!({"host": host, "service": service, "port": port, "class": class});
                if let Some(p) = protocol {
                    spec["protocol"] = json!(p);
                }
                if let Some(t) = tls {
                    spec["tls"] = json!(t);
                }
                // Mostly consistent companions (ALB settings on ALB, an ARN with ACM), now and
                // then not, so both sides of the rules are reached.
                let alb = class == "alb";
                if let Some(t) = target.filter(|_| alb || noise == 0) {
                    spec["alb"] = json!({"target_type": t});
                }
                if tls == Some("acm") || noise == 1 {
                    spec["acm_certificate_arn"] =
                        json!("arn:aws:acm:eu-west-1:123456789012:certificate/x");
                }
                spec
            },
        )
}

fn certificate_spec() -> impl Strategy<Value = Value> {
    (
        label(),
        prop::collection::vec(host(), 0..3),
        label(),
        maybe(prop_oneof![Just("http01"), Just("dns01")]),
    )
        .prop_map(|(name, dns_names, issuer, challenge)| {
            let mut spec = json!({"name": name, "dns_names": dns_names, "issuer": issuer});
            if let Some(c) = challenge {
                spec["challenge"] = json!(c);
            }
            spec
        })
}

fn carries_labels(objects: &[Object], request_id: u32) {
    let yaml = render::to_yaml(objects).expect("renders");
    for document in yaml.split("---\n").filter(|d| !d.trim().is_empty()) {
        let value: Value = serde_norway::from_str(document).expect("valid YAML");
        let labels = &value["metadata"]["labels"];
        assert_eq!(labels["stargate.dev/team"], "payments", "{document}");
        assert_eq!(
            labels["app.kubernetes.io/managed-by"], "stargate",
            "{document}"
        );
        if value["kind"] != "Namespace" {
            assert_eq!(
                labels["stargate.dev/request"],
                request_id.to_string(),
                "{document}"
            );
        }
    }
}

fn errors_name_spec_fields(errors: domain::FieldErrors) {
    assert!(!errors.is_empty());
    assert!(
        errors
            .0
            .iter()
            .all(|e| e.path.starts_with("spec") && !e.message.is_empty()),
        "{errors:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn services(spec in service_spec(), id in 1u32..100_000, node_port in any::<bool>()) {
        match ServiceSpec::parse(&spec) {
            Ok(valid) => {
                let kind = if node_port { ServiceType::NodePort } else { ServiceType::ClusterIp };
                carries_labels(&render::render_service(&ctx(id), &valid, kind), id);
            }
            Err(errors) => errors_name_spec_fields(errors),
        }
    }

    #[test]
    fn ingresses(spec in ingress_spec(), id in 1u32..100_000) {
        match IngressSpec::parse(&spec) {
            Ok(valid) => carries_labels(&[render::render_ingress(&ctx(id), &valid, Some("edge"))], id),
            Err(errors) => errors_name_spec_fields(errors),
        }
    }

    #[test]
    fn certificates(spec in certificate_spec(), id in 1u32..100_000) {
        match CertificateSpec::parse(&spec) {
            Ok(valid) => carries_labels(&[render::render_certificate(&ctx(id), &valid)], id),
            Err(errors) => errors_name_spec_fields(errors),
        }
    }
}

/// The strategies must reach both sides of validation, or the properties prove little.
#[test]
fn the_generators_produce_valid_and_invalid_specs() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut count = |strategy: BoxedStrategy<Value>, parse: fn(&Value) -> bool| {
        let valid = (0..400)
            .filter(|_| parse(&strategy.new_tree(&mut runner).unwrap().current()))
            .count();
        assert!((20..380).contains(&valid), "{valid} of 400 valid");
    };
    count(service_spec().boxed(), |v| ServiceSpec::parse(v).is_ok());
    count(ingress_spec().boxed(), |v| IngressSpec::parse(v).is_ok());
    count(certificate_spec().boxed(), |v| {
        CertificateSpec::parse(v).is_ok()
    });
}
