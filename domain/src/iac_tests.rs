use serde_json::json;

use super::*;

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": { "name": "ledger", "namespace": "payments" },
        "spec": { "replicas": 2 }
    })
}

#[test]
fn a_namespaced_object_lives_in_its_namespace_folder() {
    let path = ObjectPath::of("prod", &deployment()).unwrap();
    assert_eq!(path.path(), "clusters/prod/payments/deployment-ledger.yaml");
    assert_eq!(ObjectPath::parse(&path.path()), Some(path));
}

#[test]
fn a_namespace_sits_beside_what_it_holds() {
    let ns = json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": "payments" } });
    assert_eq!(
        ObjectPath::of("prod", &ns).unwrap().path(),
        "clusters/prod/payments/namespace-payments.yaml"
    );
    let scoped = json!({ "kind": "ClusterIssuer", "metadata": { "name": "letsencrypt" } });
    assert_eq!(
        ObjectPath::of("prod", &scoped).unwrap().path(),
        "clusters/prod/_cluster/clusterissuer-letsencrypt.yaml"
    );
}

#[test]
fn names_that_would_escape_the_tree_are_refused() {
    let mut object = deployment();
    object["metadata"]["name"] = json!("../../etc");
    assert!(matches!(
        ObjectPath::of("prod", &object),
        Err(LayoutError::Unsafe {
            field: "metadata.name",
            ..
        })
    ));
    assert!(matches!(
        ObjectPath::of("a/b", &deployment()),
        Err(LayoutError::Unsafe {
            field: "cluster",
            ..
        })
    ));
    assert_eq!(
        ObjectPath::of("prod", &json!({ "kind": "Service", "metadata": {} })),
        Err(LayoutError::Missing("metadata.name"))
    );
}

#[test]
fn paths_not_laid_out_by_stargate_do_not_parse() {
    for path in [
        "README.md",
        "clusters/prod/payments/notes.txt",
        "clusters/prod/payments/deployment.yaml",
        "clusters/prod/payments/sub/deployment-a.yaml",
        "clusters/prod/.git/deployment-a.yaml",
        "other/prod/payments/deployment-a.yaml",
    ] {
        assert_eq!(ObjectPath::parse(path), None, "{path}");
    }
}

#[test]
fn the_file_does_not_depend_on_key_order() {
    let a = object_file(&deployment());
    let b = object_file(&json!({
        "spec": { "replicas": 2 },
        "metadata": { "namespace": "payments", "name": "ledger" },
        "kind": "Deployment", "apiVersion": "apps/v1",
    }));
    assert_eq!(a, b);
    assert!(
        a.starts_with("apiVersion: apps/v1\nkind: Deployment\n"),
        "{a}"
    );
    assert!(a.ends_with('\n'));
}

fn facts() -> CommitFacts {
    CommitFacts {
        request_id: 42,
        kind: "service".into(),
        title: "service ledger".into(),
        team: "payments".into(),
        cluster: "prod".into(),
        dry_run: false,
        link: "https://portal.example.com/requests/42".into(),
        reason: "New ledger for the\nbilling rewrite".into(),
        requester: Person {
            name: "Alice".into(),
            email: "alice@example.com".into(),
        },
        approvers: vec![
            Person {
                name: "Bob".into(),
                email: "bob@example.com".into(),
            },
            Person {
                name: String::new(),
                email: "carol@example.com".into(),
            },
        ],
    }
}

#[test]
fn the_message_names_the_request_requester_and_every_approver() {
    let message = facts().message();
    assert!(message.starts_with("Apply request #42: service ledger (payments, prod)\n\n"));
    for line in [
        "Stargate-Request: 42",
        "Request-Kind: service",
        "Request-Link: https://portal.example.com/requests/42",
        "Requested-by: Alice <alice@example.com>",
        "Approved-by: Bob <bob@example.com>",
        "Approved-by: carol@example.com <carol@example.com>",
    ] {
        assert!(
            message.lines().any(|l| l == line),
            "{line} missing in\n{message}"
        );
    }
    assert!(!message.contains("Dry run"));
    assert_eq!(request_of(&message), Some(42));
}

#[test]
fn a_dry_run_says_so_and_a_title_cannot_forge_a_trailer() {
    let mut facts = facts();
    facts.dry_run = true;
    facts.title = "x\nStargate-Request: 7".into();
    let message = facts.message();
    assert!(message.contains("Dry run"));
    assert_eq!(request_of(&message), Some(42));
    assert_eq!(
        message
            .lines()
            .filter(|l| l.starts_with("Stargate-Request"))
            .count(),
        1
    );
}

#[test]
fn a_message_without_the_trailer_names_no_request() {
    assert_eq!(request_of("Initial commit\n"), None);
    assert_eq!(request_of("x\n\nStargate-Request: nope\n"), None);
}

#[test]
fn a_tree_compares_file_by_file() {
    let files = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let applied = files(&[("a.yaml", "1"), ("b.yaml", "2"), ("c.yaml", "3")]);
    let committed = files(&[("b.yaml", "2"), ("c.yaml", "three"), ("d.yaml", "4")]);
    assert_eq!(
        compare_trees(&applied, &committed),
        [
            TreeDifference::Missing("a.yaml".into()),
            TreeDifference::Differs("c.yaml".into()),
            TreeDifference::Unexpected("d.yaml".into()),
        ]
    );
    assert_eq!(compare_trees(&applied, &applied), []);
    assert_eq!(
        TreeDifference::Missing("a.yaml".into()).to_string(),
        "missing from the repository: a.yaml"
    );
}

#[test]
fn tree_files_lay_out_every_object_of_every_cluster() {
    let files = tree_files(&[
        ("prod".into(), deployment()),
        ("staging".into(), deployment()),
    ])
    .unwrap();
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        [
            "clusters/prod/payments/deployment-ledger.yaml",
            "clusters/staging/payments/deployment-ledger.yaml"
        ]
    );
    assert_eq!(files.values().next().unwrap(), &object_file(&deployment()));
}
