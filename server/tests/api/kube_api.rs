//! The test Kubernetes API server (testing/kube-api/server.py) on a random loopback port:
//! it speaks the HTTP the `kube` client uses (server-side apply, GET, list, watch),
//! records every write, and injects faults on request.

use std::{path::PathBuf, process::Stdio};

use serde_json::Value;
use server::config::{ClusterKind, ClusterSettings};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testing/kube-api/server.py")
}

pub struct KubeApi {
    pub url: String,
    dir: tempfile::TempDir,
    client: reqwest::Client,
    _process: Child,
}

impl KubeApi {
    pub async fn start(extra: &[&str]) -> KubeApi {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut process = Command::new("python3")
            .arg(script())
            .args(["--port", "0", "--record"])
            .arg(dir.path().join("writes.jsonl"))
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 runs testing/kube-api/server.py");
        let stdout = process.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(std::time::Duration::from_secs(20), lines.next_line())
            .await
            .expect("the test API server starts within 20 s")
            .expect("read its output")
            .expect("it prints where it listens");
        let address = line
            .strip_prefix("listening on ")
            .expect("`listening on HOST:PORT`")
            .to_owned();
        KubeApi {
            url: format!("http://{address}"),
            dir,
            client: reqwest::Client::new(),
            _process: process,
        }
    }

    /// A kubeconfig for this server, authenticating with `token` (each worker its own, so
    /// the recorder can tell them apart).
    pub async fn kubeconfig(&self, token: &str) -> PathBuf {
        let path = self.dir.path().join(format!("kubeconfig-{token}"));
        let status = Command::new("python3")
            .arg(script())
            .arg("--write-kubeconfig")
            .arg(&path)
            .args(["--context", "test", "--server", &self.url, "--token", token])
            .status()
            .await
            .expect("write kubeconfig");
        assert!(status.success());
        path
    }

    /// A `kubeconfig` cluster named `name` pointing here.
    pub async fn cluster(&self, name: &str, token: &str) -> ClusterSettings {
        ClusterSettings {
            name: name.into(),
            kind: ClusterKind::Kubeconfig,
            description: "the test API server".into(),
            context: Some("test".into()),
            region: None,
            eks_cluster: None,
            kubeconfig: Some(self.kubeconfig(token).await),
            aws_endpoint_url: None,
            api_server: None,
            delivery: Default::default(),
        }
    }

    /// Changes fault settings (`fail_writes`, `reject_names`, `never_ready_names`, ...).
    pub async fn control(&self, settings: Value) {
        let response = self
            .client
            .post(format!("{}/_control", self.url))
            .json(&settings)
            .send()
            .await
            .expect("control");
        assert!(
            response.status().is_success(),
            "{:?}",
            response.text().await
        );
    }

    /// Every read received so far, in order (with `--record-reads`).
    pub async fn reads(&self) -> Vec<Value> {
        self.client
            .get(format!("{}/_control/reads", self.url))
            .send()
            .await
            .expect("reads")
            .json()
            .await
            .expect("JSON reads")
    }

    /// Every write received so far, in order.
    pub async fn writes(&self) -> Vec<Value> {
        self.client
            .get(format!("{}/_control/writes", self.url))
            .send()
            .await
            .expect("writes")
            .json()
            .await
            .expect("JSON writes")
    }
}

/// The API path a server-side apply of `object` goes to.
pub fn api_path(object: &Value) -> String {
    let name = object["metadata"]["name"].as_str().expect("name");
    let namespace = object["metadata"]["namespace"].as_str().unwrap_or_default();
    match object["kind"].as_str().expect("kind") {
        "Namespace" => format!("/api/v1/namespaces/{name}"),
        "Deployment" => format!("/apis/apps/v1/namespaces/{namespace}/deployments/{name}"),
        "Service" => format!("/api/v1/namespaces/{namespace}/services/{name}"),
        "Ingress" => {
            format!("/apis/networking.k8s.io/v1/namespaces/{namespace}/ingresses/{name}")
        }
        "Certificate" => {
            format!("/apis/cert-manager.io/v1/namespaces/{namespace}/certificates/{name}")
        }
        other => panic!("no path for {other}"),
    }
}

impl KubeApi {
    /// Server-side applies `object` as field manager `manager` (as Argo CD or a person
    /// with kubectl would).
    pub async fn apply_as(&self, manager: &str, object: &Value) {
        let response = self
            .client
            .patch(format!(
                "{}{}?fieldManager={manager}&force=true",
                self.url,
                api_path(object)
            ))
            .header("content-type", "application/apply-patch+yaml")
            .json(object)
            .send()
            .await
            .expect("apply");
        assert!(
            response.status().is_success(),
            "{:?}",
            response.text().await
        );
    }
}

impl KubeApi {
    /// A JSON merge patch of the object at `path`, sent as `kubectl patch --type merge`
    /// does (its User-Agent names the field manager, `kubectl`).
    pub async fn merge_patch_as_kubectl(&self, path: &str, patch: &Value) {
        let response = self
            .client
            .patch(format!("{}{path}", self.url))
            .header("content-type", "application/merge-patch+json")
            .header(
                "user-agent",
                "kubectl/v1.33.0 (linux/amd64) kubernetes/abcdef0",
            )
            .json(patch)
            .send()
            .await
            .expect("patch");
        assert!(
            response.status().is_success(),
            "{:?}",
            response.text().await
        );
    }

    /// Deletes the object at `path`, as `kubectl delete` would.
    pub async fn delete(&self, path: &str) {
        let response = self
            .client
            .delete(format!("{}{path}", self.url))
            .send()
            .await
            .expect("delete");
        assert!(
            response.status().is_success(),
            "{:?}",
            response.text().await
        );
    }

    /// Forgets every object and ends every open watch (a watch resumed from before gets
    /// 410 Expired).
    pub async fn reset(&self) {
        let response = self
            .client
            .post(format!("{}/_control/reset", self.url))
            .send()
            .await
            .expect("reset");
        assert!(response.status().is_success());
    }
}

impl KubeApi {
    /// A merge patch of the status of the object at `path`, as its controller writes it
    /// (the Deployment controller, cert-manager, a load-balancer controller).
    pub async fn patch_status(&self, path: &str, patch: &Value) {
        let response = self
            .client
            .patch(format!("{}{path}/status", self.url))
            .header("content-type", "application/merge-patch+json")
            .json(patch)
            .send()
            .await
            .expect("patch status");
        assert!(
            response.status().is_success(),
            "{:?}",
            response.text().await
        );
    }
}
