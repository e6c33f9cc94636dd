//! EKS cluster discovery against a real peer: moto (an AWS emulator) in server mode, started
//! with `testing/moto.sh` on a free loopback port; then the applier reaching a cluster with
//! the EKS token (the test Kubernetes API server stands in for moto's fictitious endpoint).
//!
//! This binary holds exactly one test, because it sets AWS_* variables in the process
//! environment (the default credential chain reads them) and that is only sound while no
//! other test runs in the same process.

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex, mpsc},
    time::Duration,
};

use aws_sdk_eks::types::VpcConfigRequest;
use base64::{Engine as _, engine::general_purpose::STANDARD};
use server::apply::eks::{
    EksCluster, EksError, EksTokenSource, TOKEN_PREFIX, describe, sdk_config,
};

/// moto in server mode; killed (and its log shown if the test failed) when dropped.
struct Moto {
    child: Child,
    url: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Moto {
    /// Starts `testing/moto.sh 0` and waits for the port it prints. The first run installs
    /// moto into a cached virtualenv, hence the long wait.
    fn start() -> Self {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testing/moto.sh");
        let mut child = Command::new("bash")
            .arg(&script)
            .arg("0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (port_tx, port_rx) = mpsc::channel();
        {
            let log = log.clone();
            // Reads moto's log until it ends, so moto never blocks on a full pipe.
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Some(rest) = line.split("Running on http://127.0.0.1:").nth(1) {
                        let port: String =
                            rest.chars().take_while(|c| c.is_ascii_digit()).collect();
                        let _ = port_tx.send(port);
                    }
                    log.lock().unwrap().push(line);
                }
            });
        }
        let mut moto = Moto {
            child,
            url: String::new(),
            log,
        };
        match port_rx.recv_timeout(Duration::from_secs(600)) {
            Ok(port) => moto.url = format!("http://127.0.0.1:{port}"),
            Err(_) => panic!(
                "moto did not start within 10 minutes:\n{}",
                moto.log.lock().unwrap().join("\n")
            ),
        }
        moto
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- moto log ---\n{}", self.log.lock().unwrap().join("\n"));
        }
    }
}

/// The test Kubernetes API server (testing/kube-api/server.py), killed when dropped.
struct KubeApi {
    child: Child,
    url: String,
}

impl KubeApi {
    fn start() -> Self {
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testing/kube-api/server.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .args(["--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs testing/kube-api/server.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let address = line.trim().trim_start_matches("listening on ").to_owned();
        KubeApi {
            child,
            url: format!("http://{address}"),
        }
    }

    /// GET on the server's control API (plain HTTP/1.0 is enough).
    fn get(&self, path: &str) -> String {
        use std::io::{Read, Write};
        let address = self.url.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        write!(stream, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_owned())
            .unwrap_or_default()
    }
}

impl Drop for KubeApi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python3_available() -> bool {
    Command::new("python3")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The default credential chain sees only the test's keys: no profile files, no session
/// token, no role, no instance metadata (disabled, and pointed at a closed loopback port).
fn use_test_environment() {
    let set = [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "eu-west-1"),
        ("AWS_CONFIG_FILE", "/nonexistent/stargate-test/aws-config"),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/stargate-test/aws-credentials",
        ),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9"),
        ("NO_PROXY", "127.0.0.1,localhost"),
        ("no_proxy", "127.0.0.1,localhost"),
    ];
    let unset = [
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_EKS",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ];
    // SAFETY: this test binary has a single test (see the module docs) and this runs before
    // anything else in it reads the environment or starts threads that could.
    unsafe {
        for (k, v) in set {
            std::env::set_var(k, v);
        }
        for k in unset {
            std::env::remove_var(k);
        }
    }
}

#[test]
fn describe_eks_clusters_in_moto() {
    if !python3_available() {
        eprintln!("SKIPPED: python3 is not installed, so moto (the AWS emulator) cannot run");
        return;
    }
    use_test_environment();
    let moto = Moto::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(scenario(&moto.url));
    drop(moto);
}

async fn scenario(moto: &str) {
    let cluster = EksCluster::new("eu-west-1", "payments-prod").with_aws_endpoint_url(moto);

    // A cluster created through the EKS API (the same SDK configuration describe uses).
    let eks = aws_sdk_eks::Client::new(&sdk_config(&cluster, None).await);
    let created = eks
        .create_cluster()
        .name(&cluster.name)
        .role_arn("arn:aws:iam::123456789012:role/eks")
        .resources_vpc_config(
            VpcConfigRequest::builder()
                .subnet_ids("subnet-0a1b2c3d")
                .build(),
        )
        .send()
        .await
        .expect("CreateCluster in moto");
    let created = created.cluster().expect("created cluster");
    let created_endpoint = created.endpoint().expect("moto gives an endpoint");
    let created_ca = created
        .certificate_authority()
        .and_then(|ca| ca.data())
        .expect("moto gives CA data");

    // describe() finds it with the default credential chain (the environment's keys).
    let found = describe(&cluster)
        .await
        .expect("describe the created cluster");
    assert_eq!(found.endpoint, created_endpoint);
    assert!(found.endpoint.starts_with("https://"), "{}", found.endpoint);
    assert!(found.endpoint.contains(".eu-west-1.eks.amazonaws.com"));
    assert_eq!(
        found.certificate_authority_pem,
        STANDARD.decode(created_ca).unwrap(),
        "CA bytes are the base64-decoded certificateAuthority.data"
    );
    assert!(!found.certificate_authority_pem.is_empty());

    // A cluster that does not exist, by name or in another region, is a readable not-found.
    let missing = EksCluster::new("eu-west-1", "missing").with_aws_endpoint_url(moto);
    let err = describe(&missing).await.unwrap_err();
    assert_eq!(
        err,
        EksError::ClusterNotFound {
            region: "eu-west-1".into(),
            name: "missing".into()
        }
    );
    assert_eq!(
        err.to_string(),
        "EKS cluster `missing` was not found in region eu-west-1"
    );
    let elsewhere = EksCluster::new("us-east-1", "payments-prod").with_aws_endpoint_url(moto);
    assert!(matches!(
        describe(&elsewhere).await,
        Err(EksError::ClusterNotFound { .. })
    ));

    // The token source signs with the same chain's credentials.
    let tokens = EksTokenSource::new(cluster.clone());
    let token = tokens
        .token()
        .await
        .expect("token from the environment's keys");
    assert!(token.starts_with(TOKEN_PREFIX));
    assert_eq!(tokens.token().await.unwrap(), token, "cached");
    let url = String::from_utf8(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&token[TOKEN_PREFIX.len()..])
            .unwrap(),
    )
    .unwrap();
    assert!(url.starts_with(
        "https://sts.eu-west-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&"
    ));
    assert!(url.contains("X-Amz-Credential=testing%2F"), "{url}");

    // The applier reaches the cluster with that token: moto's endpoint is fictitious, so
    // `api_server` points it at the test Kubernetes API server, which records the token.
    let kube = KubeApi::start();
    let settings = server::config::Settings {
        clusters: vec![server::config::ClusterSettings {
            name: "prod".into(),
            kind: server::config::ClusterKind::Eks,
            description: String::new(),
            context: None,
            region: Some("eu-west-1".into()),
            eks_cluster: Some("payments-prod".into()),
            kubeconfig: None,
            aws_endpoint_url: Some(moto.to_owned()),
            api_server: Some(kube.url.clone()),
            delivery: Default::default(),
        }],
        ..server::config::Settings::default()
    };
    let clusters = server::apply::Clusters::from_settings(&settings);
    let target = clusters.target("prod").await.expect("EKS target");
    let client = target.kube().await.expect("client").expect("not a dry run");
    let namespace = serde_json::json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "payments"}});
    client
        .apply(&namespace)
        .await
        .expect("apply through the EKS target");
    // The test server records a write after answering it: wait for the record.
    let mut writes = serde_json::Value::Null;
    for _ in 0..100 {
        writes = serde_json::from_str(&kube.get("/_control/writes")).unwrap();
        if writes.as_array().is_some_and(|w| !w.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sent = writes[0]["token"].as_str().unwrap_or_default();
    assert!(
        sent.starts_with(TOKEN_PREFIX),
        "the API server got {sent:?}"
    );
    assert_eq!(writes[0]["field_manager"], "stargate");

    // Without any credentials in the chain the error says so (and nothing is sent).
    // SAFETY: as in use_test_environment; the runtime is single-threaded and idle here.
    unsafe {
        std::env::remove_var("AWS_ACCESS_KEY_ID");
        std::env::remove_var("AWS_SECRET_ACCESS_KEY");
    }
    let err = describe(&cluster).await.unwrap_err();
    assert!(
        matches!(err, EksError::CredentialsMissing { .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.starts_with(
            "no AWS credentials found for EKS cluster `payments-prod` in region eu-west-1"
        ),
        "{message}"
    );
}
