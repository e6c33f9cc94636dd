use serde_json::Value;

use super::*;

const OIDC: &str = r#"
public_url = "https://stargate.example.com"
[auth]
mode = "oidc"
[auth.oidc]
issuer_url = "https://sso.example.com"
client_id = "stargate"
"#;

fn objects(config: &str, options: &InstallOptions) -> Vec<Value> {
    install_manifests(config, options).expect("manifests")
}

fn error(config: &str) -> String {
    install_manifests(config, &InstallOptions::default())
        .unwrap_err()
        .to_string()
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
}

fn env_names(deployment: &Value) -> Vec<String> {
    deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn sqlite_runs_one_pod_with_its_worker_and_stops_it_before_starting_the_next() {
    let objects = objects(OIDC, &InstallOptions::default());
    let web = find(&objects, "Deployment", "stargate").unwrap();
    assert_eq!(web["spec"]["replicas"], 1);
    assert_eq!(web["spec"]["strategy"]["type"], "Recreate");
    assert!(find(&objects, "Deployment", "stargate-worker").is_none());
    assert!(find(&objects, "PodDisruptionBudget", "stargate").is_none());
    let names = env_names(web);
    assert!(!names.contains(&"STARGATE_DATABASE_URL".to_owned()));
    assert!(!names.contains(&"STARGATE_WORKER__EMBEDDED".to_owned()));
    let claim = find(&objects, "PersistentVolumeClaim", "stargate-data").unwrap();
    assert_eq!(claim["spec"]["accessModes"][0], "ReadWriteOnce");
}

#[test]
fn postgres_runs_web_pods_and_workers_apart_with_disruption_budgets() {
    let config = format!("database_url = \"postgres://db.internal/stargate\"\n{OIDC}");
    let options = InstallOptions {
        replicas: 3,
        workers: 2,
        ..InstallOptions::default()
    };
    let objects = objects(&config, &options);
    let web = find(&objects, "Deployment", "stargate").unwrap();
    assert_eq!(web["spec"]["replicas"], 3);
    assert_eq!(
        web["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"],
        0
    );
    let worker = find(&objects, "Deployment", "stargate-worker").unwrap();
    assert_eq!(worker["spec"]["replicas"], 2);
    assert_eq!(
        worker["spec"]["template"]["spec"]["containers"][0]["args"][0],
        "worker"
    );
    assert!(env_names(web).contains(&"STARGATE_WORKER__EMBEDDED".to_owned()));
    assert!(env_names(worker).contains(&"STARGATE_DATABASE_URL".to_owned()));
    for name in ["stargate", "stargate-worker"] {
        let budget = find(&objects, "PodDisruptionBudget", name).unwrap();
        assert_eq!(budget["spec"]["minAvailable"], 1);
    }
    // Workers write the IaC repository the web pods read.
    let claim = find(&objects, "PersistentVolumeClaim", "stargate-data").unwrap();
    assert_eq!(claim["spec"]["accessModes"][0], "ReadWriteMany");
}

#[test]
fn the_configuration_file_becomes_the_config_map_as_written() {
    let config = format!("# our portal\n{OIDC}");
    let objects = objects(&config, &InstallOptions::default());
    let map = find(&objects, "ConfigMap", "stargate-config").unwrap();
    assert_eq!(map["data"]["stargate.toml"], config.as_str());
}

#[test]
fn every_object_lands_in_the_chosen_namespace_with_the_chosen_image() {
    let options = InstallOptions {
        namespace: "platform".into(),
        image: "registry.example.com/stargate:1.2.3".into(),
        ..InstallOptions::default()
    };
    let objects = objects(OIDC, &options);
    assert_eq!(objects[0]["kind"], "Namespace");
    assert_eq!(objects[0]["metadata"]["name"], "platform");
    for object in &objects[1..] {
        assert_eq!(object["metadata"]["namespace"], "platform", "{object}");
    }
    let web = find(&objects, "Deployment", "stargate").unwrap();
    let pod = &web["spec"]["template"]["spec"];
    assert_eq!(
        pod["containers"][0]["image"],
        "registry.example.com/stargate:1.2.3"
    );
    assert_eq!(pod["initContainers"][0]["args"][0], "migrate");
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
}

#[test]
fn the_ingress_serves_the_public_host_with_tls_when_it_is_https() {
    let objects = objects(OIDC, &InstallOptions::default());
    let ingress = find(&objects, "Ingress", "stargate").unwrap();
    assert_eq!(ingress["spec"]["rules"][0]["host"], "stargate.example.com");
    assert_eq!(
        ingress["spec"]["tls"][0]["hosts"][0],
        "stargate.example.com"
    );
    let plain = OIDC.replace("https://stargate", "http://stargate");
    let objects = super::tests::objects(&plain, &InstallOptions::default());
    let ingress = find(&objects, "Ingress", "stargate").unwrap();
    assert!(ingress["spec"].get("tls").is_none());
}

#[test]
fn a_secret_in_the_file_is_refused_naming_its_key_and_where_it_belongs() {
    let cases = [
        (
            "[auth.oidc]\nclient_secret = \"s3cret\"\n",
            "auth.oidc.client_secret",
            "oidc-client-secret",
        ),
        (
            "[metrics]\ntoken = \"t\"\n",
            "metrics.token",
            "metrics-token",
        ),
        (
            "[iac]\nhttps_token = \"t\"\n",
            "iac.https_token",
            "iac-https-token",
        ),
        (
            "database_url = \"postgres://stargate:pw@db/stargate\"\n",
            "database_url",
            "database-url",
        ),
    ];
    for (extra, key, secret_key) in cases {
        // Tables after the top-level keys, as TOML wants.
        let config = format!("public_url = \"https://p.example.com\"\n{extra}");
        let message = error(&config);
        assert!(message.contains(key), "{message}");
        assert!(message.contains(secret_key), "{message}");
        assert!(
            !message.contains("s3cret") && !message.contains(":pw@"),
            "{message}"
        );
    }
}

#[test]
fn a_cluster_installation_needs_sso_and_a_public_host() {
    let message = error("public_url = \"https://p.example.com\"\n[auth]\nmode = \"dev\"\n");
    assert!(message.contains("auth.mode"), "{message}");
    let message = error("[auth]\nmode = \"oidc\"\n");
    assert!(message.starts_with("public_url"), "{message}");
    let message = error("public_url = \"https://10.0.0.1\"\n");
    assert!(message.starts_with("public_url"), "{message}");
    let message = error("lisen = \"0.0.0.0:3000\"\n");
    assert!(message.contains("lisen"), "{message}");
}

#[test]
fn a_namespace_that_is_not_a_dns_label_is_refused() {
    let options = InstallOptions {
        namespace: "Platform_Tools".into(),
        ..InstallOptions::default()
    };
    let message = install_manifests(OIDC, &options).unwrap_err().to_string();
    assert!(message.starts_with("--namespace"), "{message}");
}

#[test]
fn the_data_volume_takes_the_storage_class_asked_for() {
    let options = InstallOptions {
        database: Some(Database::Postgres),
        storage_class: Some("efs-sc".into()),
        ..InstallOptions::default()
    };
    let asked = objects(OIDC, &options);
    let claim = find(&asked, "PersistentVolumeClaim", "stargate-data").expect("claim");
    assert_eq!(claim["spec"]["storageClassName"], "efs-sc");
    assert_eq!(claim["spec"]["accessModes"][0], "ReadWriteMany");
    let default = objects(OIDC, &InstallOptions::default());
    let default = find(&default, "PersistentVolumeClaim", "stargate-data").expect("claim");
    assert!(
        default["spec"].get("storageClassName").is_none(),
        "{default}"
    );
    let bad = InstallOptions {
        storage_class: Some("EFS SC".into()),
        ..InstallOptions::default()
    };
    let error = install_manifests(OIDC, &bad).unwrap_err().to_string();
    assert!(error.contains("--storage-class"), "{error}");
}
