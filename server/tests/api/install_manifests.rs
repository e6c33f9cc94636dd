//! The install manifests: `deploy/kubernetes/`'s overlays, built by `kubectl kustomize`,
//! are exactly the objects `stargate install-manifests` prints for the same configuration,
//! and both pass the project's strict manifest validation.

use std::{
    collections::BTreeMap,
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use serde::Deserialize;
use serde_json::Value;

use crate::helpers::stargate_command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn deploy() -> PathBuf {
    repo().join("deploy/kubernetes")
}

/// A multi-document YAML stream as objects keyed `Kind/namespace/name`.
fn objects(yaml: &str) -> BTreeMap<String, Value> {
    serde_norway::Deserializer::from_str(yaml)
        .filter_map(|document| {
            let object = Value::deserialize(document).expect("YAML");
            (!object.is_null()).then_some(object)
        })
        .map(|object| (crate::helpers::object_key(&object), object))
        .collect()
}

fn stdout_of(command: &mut Command) -> String {
    let output = command.output().expect("run");
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8")
}

fn kustomize(overlay: &str) -> String {
    stdout_of(
        Command::new("kubectl")
            .arg("kustomize")
            .arg(deploy().join("overlays").join(overlay)),
    )
}

fn install_manifests(config: &Path, database: &str) -> String {
    stdout_of(stargate_command().arg("--config").arg(config).args([
        "install-manifests",
        "--database",
        database,
    ]))
}

/// `validate-manifests -` on `yaml`: its report, and whether it passed.
fn validate(yaml: &str) -> (bool, String) {
    let mut child = Command::new("bash")
        .arg(repo().join("testing/manifests/tools/validate-manifests"))
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("validate-manifests");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(yaml.as_bytes())
        .expect("write");
    let output = child.wait_with_output().expect("validate");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (
        output.status.success() && report.contains("0 invalid"),
        report,
    )
}

/// Checks the overlay against install-manifests and validates both; the overlay's objects.
fn overlay_equals_install_manifests(
    overlay: &str,
    database: &str,
    kinds: &[&str],
) -> BTreeMap<String, Value> {
    let built = kustomize(overlay);
    let printed = install_manifests(&deploy().join("base/stargate.toml"), database);
    let (built_objects, printed_objects) = (objects(&built), objects(&printed));
    assert_eq!(
        built_objects.keys().collect::<Vec<_>>(),
        printed_objects.keys().collect::<Vec<_>>(),
        "the same objects"
    );
    for (key, object) in &built_objects {
        assert_eq!(
            object, &printed_objects[key],
            "{key}: the overlay and install-manifests differ"
        );
    }
    let mut found: Vec<&str> = built_objects
        .values()
        .map(|o| o["kind"].as_str().unwrap_or_default())
        .collect();
    found.sort_unstable();
    found.dedup();
    assert_eq!(found, kinds);
    for yaml in [&built, &printed] {
        let (valid, report) = validate(yaml);
        assert!(valid, "strict validation: {report}");
    }
    built_objects
}

#[test]
fn the_postgres_ha_overlay_is_what_install_manifests_prints_and_validates() {
    let objects = overlay_equals_install_manifests(
        "postgres-ha",
        "postgres",
        &[
            "ConfigMap",
            "Deployment",
            "Ingress",
            "Namespace",
            "PersistentVolumeClaim",
            "PodDisruptionBudget",
            "Service",
            "ServiceAccount",
        ],
    );
    let web = &objects["Deployment/stargate/stargate"];
    assert_eq!(web["spec"]["replicas"], 2);
    let env = &web["spec"]["template"]["spec"]["containers"][0]["env"];
    let embedded = env
        .as_array()
        .and_then(|e| e.iter().find(|v| v["name"] == "STARGATE_WORKER__EMBEDDED"));
    assert_eq!(embedded.map(|v| &v["value"]), Some(&Value::from("false")));
    assert_eq!(
        objects["Deployment/stargate/stargate-worker"]["spec"]["template"]["spec"]["containers"][0]
            ["args"][0],
        "worker"
    );
}

#[test]
fn the_sqlite_overlay_is_one_pod_with_its_worker_and_validates() {
    let objects = overlay_equals_install_manifests(
        "sqlite",
        "sqlite",
        &[
            "ConfigMap",
            "Deployment",
            "Ingress",
            "Namespace",
            "PersistentVolumeClaim",
            "Service",
            "ServiceAccount",
        ],
    );
    let web = &objects["Deployment/stargate/stargate"];
    assert_eq!(web["spec"]["replicas"], 1);
    assert_eq!(web["spec"]["strategy"]["type"], "Recreate");
    assert!(!objects.contains_key("Deployment/stargate/stargate-worker"));
}

#[test]
fn install_manifests_refuses_a_secret_in_the_configuration_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("stargate.toml");
    let base = std::fs::read_to_string(deploy().join("base/stargate.toml")).expect("base");
    std::fs::write(
        &config,
        base.replace(
            "client_id = \"stargate\"",
            "client_id = \"stargate\"\nclient_secret = \"hunter2\"",
        ),
    )
    .expect("write");
    let output = stargate_command()
        .arg("--config")
        .arg(&config)
        .arg("install-manifests")
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("auth.oidc.client_secret") && stderr.contains("oidc-client-secret"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("hunter2"),
        "the secret is not echoed: {stderr}"
    );
    assert!(output.stdout.is_empty(), "nothing printed");
}
