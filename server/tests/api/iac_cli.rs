//! `stargate export` and `stargate iac verify`, run as an operator runs them against the
//! database and repository of a running portal.

use std::{collections::BTreeMap, path::Path, process::Command};

use crate::{
    helpers::{Db, Options, TestApp, spawn_with, stargate_command},
    iac::{git, service},
};

/// `stargate <args>` with only the app's database and data folder configured.
fn stargate(app: &TestApp, args: &[&str]) -> std::process::Output {
    stargate_command()
        .env(
            "STARGATE_DATABASE_URL",
            app.settings.database_url.as_deref().expect("url"),
        )
        .env("STARGATE_DATA_DIR", &app.settings.data_dir)
        .env("RUST_LOG", "warn")
        .arg("--config")
        .arg(app.settings.data_dir.join("none.toml"))
        .args(args)
        .output()
        .expect("run stargate")
}

/// Every file under `dir`: path relative to it → text.
fn files_under(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, into: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(root, &path, into);
            } else {
                let relative = path.strip_prefix(root).expect("under root");
                into.insert(
                    relative.display().to_string(),
                    std::fs::read_to_string(&path).expect("read"),
                );
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(dir, dir, &mut files);
    files
}

async fn app_with_two_applied(db: Db) -> TestApp {
    let options = Options {
        worker: true,
        ..Options::default()
    };
    let app = spawn_with(db, options, None).await;
    for name in ["export-one", "export-two"] {
        let id = app.submit_approved(&service(name, "demo")).await;
        app.settled(id, &["applied"]).await;
    }
    app
}

#[tokio::test(flavor = "multi_thread")]
async fn export_writes_the_repositorys_tree_and_verify_finds_no_difference() {
    let app = app_with_two_applied(Db::Sqlite).await;
    let out = tempfile::tempdir().expect("temp dir");
    let dir = out.path().join("gitops");
    let output = stargate(&app, &["export", dir.to_str().expect("utf-8")]);
    assert!(output.status.success(), "{output:?}");
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        said.starts_with("wrote ") && said.contains("of 1 clusters"),
        "{said}"
    );

    // The same files as the repository's tip: the demo's objects (its first commit) and
    // the two applied requests.
    let checkout = out.path().join("checkout");
    std::fs::create_dir(&checkout).expect("mkdir");
    let repo = app.settings.iac.repo_path(&app.settings.data_dir);
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "git -C '{}' archive main | tar -x -C '{}'",
            repo.display(),
            checkout.display()
        ))
        .status()
        .expect("git archive");
    assert!(status.success());
    let exported = files_under(&dir);
    assert!(exported.contains_key("clusters/demo/payments/deployment-export-two.yaml"));
    assert_eq!(exported, files_under(&checkout));
    let subjects = git(&repo, &["log", "--format=%s", "main"]);
    assert!(
        subjects.ends_with("Record the state applied before this repository"),
        "{subjects}"
    );

    let output = stargate(&app, &["iac", "verify"]);
    assert!(output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("holds exactly the applied state"));
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_prints_each_difference_and_fails() {
    let app = app_with_two_applied(Db::Postgres).await;
    // What the database says was applied no longer matches the repository.
    app.execute(
        "UPDATE applied_objects SET manifest_json = replace(manifest_json, '\"replicas\":2', '\"replicas\":3')
         WHERE kind = 'Deployment' AND name = 'export-one'",
    )
    .await;
    app.execute("DELETE FROM applied_objects WHERE kind = 'Service' AND name = 'export-two'")
        .await;
    let output = stargate(&app, &["iac", "verify"]);
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        said.lines().collect::<Vec<_>>(),
        [
            "differs from what was applied: clusters/demo/payments/deployment-export-one.yaml",
            "in the repository but not applied: clusters/demo/payments/service-export-two.yaml",
        ],
        "{output:?}"
    );
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("differs from the applied state in 2 places")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn export_refuses_a_folder_with_files_and_can_take_one_cluster() {
    let app = app_with_two_applied(Db::Sqlite).await;
    let out = tempfile::tempdir().expect("temp dir");
    std::fs::write(out.path().join("README.md"), "mine").expect("write");
    let output = stargate(&app, &["export", out.path().to_str().expect("utf-8")]);
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("is not empty"),
        "{output:?}"
    );
    assert_eq!(files_under(out.path()).len(), 1, "nothing written");

    let dir = out.path().join("only-demo");
    let output = stargate(
        &app,
        &[
            "export",
            "--cluster",
            "nowhere",
            dir.to_str().expect("utf-8"),
        ],
    );
    assert!(output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("wrote 0 objects"));
}
