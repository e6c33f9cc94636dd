//! What a commit to the IaC repository costs once it holds 10,000 services: the first
//! commit of them all (what a new repository's catch-up writes), then one commit per
//! applied request, each changing one service's Deployment and Service, as the worker
//! makes them. Prints p50/p90/p99/max per commit, commits per second and the size of the
//! repository on disk.
//!
//!   cargo bench -p server --bench iac_commit            (SERVICES=10000 COMMITS=1000)

use std::time::{Duration, Instant};

use domain::{
    ServiceName, TeamName,
    iac::{CommitFacts, Person},
    request::{
        render::{RenderContext, ServiceType, render_service},
        spec::ServiceSpec,
    },
};
use serde_json::{Value, json};
use server::iac::{AppliedChange, IacRepo, IacSettings};

const TEAMS: [&str; 5] = ["payments", "search", "identity", "data", "edge"];

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Service `i`'s objects as Stargate renders them, with image tag `tag`.
fn objects(i: usize, tag: usize) -> Vec<Value> {
    let team = TEAMS[i % TEAMS.len()];
    let ctx = RenderContext {
        team: TeamName::parse("team", team).expect("team"),
        namespace: team.into(),
        request_id: format!("{i}"),
    };
    let spec = ServiceSpec::parse(&json!({
        "name": format!("svc-{i:05}"),
        "image": format!("ghcr.io/acme/svc-{i:05}:1.{tag}.0"),
        "port": 8080, "replicas": 1 + i % 4,
    }))
    .expect("spec");
    render_service(&ctx, &spec, ServiceType::ClusterIp)
        .iter()
        .map(|o| o.to_value().expect("object"))
        .collect()
}

fn facts(request_id: i64, i: usize) -> CommitFacts {
    let person = |name: &str| Person {
        name: name.into(),
        email: format!("{}@example.com", name.to_lowercase()),
    };
    CommitFacts {
        request_id,
        kind: "service".into(),
        title: format!("service svc-{i:05}"),
        team: TEAMS[i % TEAMS.len()].into(),
        cluster: "prod".into(),
        dry_run: false,
        link: format!("https://stargate.example.com/requests/{request_id}"),
        reason: "New image".into(),
        requester: person("Pat"),
        approvers: vec![person("Lee")],
    }
}

fn size_of(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(m) if m.is_dir() => size_of(&entry.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn main() {
    let services = env("SERVICES", 10_000);
    let commits = env("COMMITS", 1_000);
    let _ = ServiceName::parse("name", "check").expect("names parse");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = IacRepo::new(
        &IacSettings {
            repo_path: Some(dir.path().join("iac")),
            ..IacSettings::default()
        },
        dir.path(),
    );
    runtime.block_on(async {
        let all: Vec<(String, Value)> = (0..services)
            .flat_map(|i| objects(i, 0))
            .map(|o| ("prod".to_owned(), o))
            .collect();
        let count = all.len();
        let started = Instant::now();
        repo.commit(AppliedChange {
            objects: all,
            removed: Vec::new(),
            message: domain::iac::baseline_message(count),
            author: None,
            request_id: None,
        })
        .await
        .expect("first commit");
        let first = started.elapsed();
        let size_first = size_of(repo.path());

        let mut took = Vec::with_capacity(commits);
        let started = Instant::now();
        for n in 0..commits {
            let i = (n * 7919) % services;
            let change =
                AppliedChange::of_request("prod", &objects(i, n + 1), &facts(n as i64 + 1, i));
            let one = Instant::now();
            repo.commit(change).await.expect("commit");
            took.push(one.elapsed());
        }
        let all_commits = started.elapsed();
        took.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!("IaC repository, {services} services ({count} objects), {commits} commits");
        println!(
            "  first commit of every object: {:.0} ms, repository {:.1} MB",
            ms(first),
            size_first as f64 / 1e6
        );
        println!(
            "  per commit: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {:.0} commits/s",
            ms(percentile(&took, 0.50)),
            ms(percentile(&took, 0.90)),
            ms(percentile(&took, 0.99)),
            ms(took[took.len() - 1]),
            commits as f64 / all_commits.as_secs_f64()
        );
        println!(
            "  repository after {commits} commits: {:.1} MB of loose objects",
            size_of(repo.path()) as f64 / 1e6
        );
        let started = Instant::now();
        let packed = std::process::Command::new("git")
            .arg("-C")
            .arg(repo.path())
            .args(["gc", "--quiet"])
            .status()
            .is_ok_and(|s| s.success());
        if packed {
            println!(
                "  after `git gc` ({:.1} s): {:.1} MB",
                started.elapsed().as_secs_f64(),
                size_of(repo.path()) as f64 / 1e6
            );
        }
    });
}
