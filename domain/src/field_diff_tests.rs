use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

fn paths(changes: &[FieldChange]) -> Vec<&str> {
    changes.iter().map(|c| c.path.as_str()).collect()
}

#[test]
fn only_the_wanted_keys_are_compared() {
    let wanted = json!({"spec": {"replicas": 2, "selector": {"app": "api"}}});
    let other = json!({"spec": {"replicas": 2, "selector": {"app": "api"}, "paused": false},
                       "status": {"ready": 1}});
    assert!(changed_fields(&wanted, Some(&other), ListItems::ByIndex).is_empty());
}

#[test]
fn a_changed_and_a_removed_field_name_their_paths_and_values() {
    let wanted = json!({"spec": {"replicas": 2, "type": "ClusterIP"}});
    let other = json!({"spec": {"replicas": 5}});
    let changes = changed_fields(&wanted, Some(&other), ListItems::ByIndex);
    assert_eq!(
        changes,
        [
            FieldChange {
                path: "spec.replicas".into(),
                before: Some(json!(5)),
                after: Some(json!(2)),
            },
            FieldChange {
                path: "spec.type".into(),
                before: None,
                after: Some(json!("ClusterIP")),
            },
        ]
    );
}

#[test]
fn lists_by_index_compare_items_of_equal_lists_and_whole_lists_otherwise() {
    let wanted = json!({"args": ["a", "b"], "c": [{"image": "x"}]});
    let same_length = json!({"args": ["a", "z"], "c": [{"image": "x", "pull": "Always"}]});
    assert_eq!(
        paths(&changed_fields(
            &wanted,
            Some(&same_length),
            ListItems::ByIndex
        )),
        ["args[1]"]
    );
    let longer = json!({"args": ["a", "b", "c"], "c": [{"image": "x"}]});
    let changes = changed_fields(&wanted, Some(&longer), ListItems::ByIndex);
    assert_eq!(paths(&changes), ["args"]);
    assert_eq!(changes[0].before, Some(json!(["a", "b", "c"])));
}

#[test]
fn named_items_pair_by_name_ignoring_defaults_order_and_additions() {
    let wanted = json!({"containers": [
        {"name": "web", "image": "web:1", "ports": [{"name": "http", "containerPort": 80}]},
        {"name": "log", "image": "log:1"},
    ]});
    let live = json!({"containers": [
        {"name": "sidecar", "image": "mesh:1"},
        {"name": "log", "image": "log:1", "imagePullPolicy": "IfNotPresent"},
        {"name": "web", "image": "web:2", "terminationMessagePath": "/dev/termination-log",
         "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}]},
    ]});
    let changes = changed_fields(&wanted, Some(&live), ListItems::ByName);
    assert_eq!(paths(&changes), ["containers[name=web].image"]);
    assert_eq!(changes[0].before, Some(json!("web:2")));
    // By index the same lists are one change of the whole list.
    assert_eq!(
        paths(&changed_fields(&wanted, Some(&live), ListItems::ByIndex)),
        ["containers"]
    );
}

#[test]
fn a_named_item_that_is_gone_is_one_change() {
    let wanted = json!({"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]});
    let live = json!({"env": [{"name": "A", "value": "1"}]});
    let changes = changed_fields(&wanted, Some(&live), ListItems::ByName);
    assert_eq!(paths(&changes), ["env[name=B]"]);
    assert_eq!(changes[0].before, None);
}

#[test]
fn lists_with_repeated_or_missing_names_compare_by_index() {
    let wanted = json!({"l": [{"name": "a", "v": 1}, {"name": "a", "v": 2}]});
    let live = json!({"l": [{"name": "a", "v": 1}, {"name": "a", "v": 3}]});
    assert_eq!(
        paths(&changed_fields(&wanted, Some(&live), ListItems::ByName)),
        ["l[1].v"]
    );
    let wanted = json!({"l": [{"host": "a"}]});
    let live = json!({"l": [{"host": "b"}]});
    assert_eq!(
        paths(&changed_fields(&wanted, Some(&live), ListItems::ByName)),
        ["l[0].host"]
    );
}

#[test]
fn segments_keep_dotted_keys_whole() {
    let wanted = json!({"metadata": {"labels": {"stargate.dev/team": "a"}}});
    let live = json!({"metadata": {"labels": {"stargate.dev/team": "b"}}});
    let changes = located_changes(&wanted, Some(&live), ListItems::ByName);
    assert_eq!(
        changes[0].0,
        [
            Segment::Key("metadata".into()),
            Segment::Key("labels".into()),
            Segment::Key("stargate.dev/team".into()),
        ]
    );
    assert_eq!(changes[0].1.path, "metadata.labels.stargate.dev/team");
    assert_eq!(
        path_text(&[
            Segment::Key("spec".into()),
            Segment::Name("web".into()),
            Segment::Index(2),
            Segment::Key("x".into())
        ]),
        "spec[name=web][2].x"
    );
}

#[test]
fn resource_quantities_compare_by_amount() {
    let wanted = json!({"resources": {"limits": {"cpu": "1000m", "memory": "1024Mi"},
                                      "requests": {"cpu": "0.5", "memory": "1G"}}});
    let live = json!({"resources": {"limits": {"cpu": "1", "memory": "1Gi"},
                                    "requests": {"cpu": "500m", "memory": "1000M"}}});
    assert!(changed_fields(&wanted, Some(&live), ListItems::ByName).is_empty());
    let more = json!({"resources": {"limits": {"cpu": "2", "memory": "1Gi"},
                                    "requests": {"cpu": "500m", "memory": "1000M"}}});
    assert_eq!(
        paths(&changed_fields(&wanted, Some(&more), ListItems::ByName)),
        ["resources.limits.cpu"]
    );
    // Elsewhere the same strings are just strings.
    let wanted = json!({"data": {"cpu": "1000m"}});
    let live = json!({"data": {"cpu": "1"}});
    assert_eq!(
        changed_fields(&wanted, Some(&live), ListItems::ByName).len(),
        1
    );
}

#[test]
fn quantities_parse_every_suffix() {
    let q = |s: &str| Quantity::parse(s);
    assert_eq!(q("1"), q("1000m"));
    assert_eq!(q("1k"), q("1000"));
    assert_eq!(q("1Ki"), q("1024"));
    assert_eq!(q("1.5Gi"), q("1536Mi"));
    assert_eq!(q("2e3"), q("2k"));
    assert_eq!(q("1E-3"), q("1m"));
    assert_eq!(q("1u"), q("1000n"));
    assert_eq!(q("-1"), q("-1000m"));
    assert_eq!(q("+.5"), q("500m"));
    assert_ne!(q("1M"), q("1Mi"));
    for bad in ["", "m", "1x", "1..2", "abc", "1e", "1e99", "1Ei1"] {
        assert_eq!(q(bad), None, "{bad}");
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(Value::from),
        (0i64..5).prop_map(Value::from),
        "[a-c]{0,2}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
            prop::collection::btree_map("[a-c]", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn a_value_never_differs_from_itself_or_a_superset(v in json_value(), extra in json_value()) {
        for items in [ListItems::ByIndex, ListItems::ByName] {
            prop_assert!(changed_fields(&v, Some(&v), items).is_empty());
            if let Value::Object(map) = &v {
                let mut more = map.clone();
                more.entry("zz").or_insert(extra.clone());
                prop_assert!(changed_fields(&v, Some(&Value::Object(more)), items).is_empty());
            }
        }
    }

    #[test]
    fn every_change_names_a_path_and_differs(a in json_value(), b in json_value()) {
        for items in [ListItems::ByIndex, ListItems::ByName] {
            let changes = changed_fields(&a, Some(&b), items);
            if a == b {
                prop_assert!(changes.is_empty());
            }
            for change in changes {
                prop_assert_ne!(change.before.as_ref(), change.after.as_ref());
            }
        }
    }

    #[test]
    fn quantities_with_a_milli_suffix_equal_their_units(n in 0i64..1_000_000) {
        prop_assert_eq!(Quantity::parse(&format!("{}m", n * 1000)), Quantity::parse(&n.to_string()));
    }
}
