use super::*;

#[test]
fn commit_ids_are_7_to_40_hex_digits_in_lower_case() {
    assert_eq!(
        CommitId::parse("at", "ABCDEF1").unwrap().as_str(),
        "abcdef1"
    );
    assert!(CommitId::parse("at", &"a".repeat(40)).is_ok());
    for bad in [
        "abc123",
        &"a".repeat(41),
        "abcdefg",
        "HEAD",
        "main~1",
        "../../x",
    ] {
        let error = CommitId::parse("at", bad).unwrap_err();
        assert_eq!(error.path, "at", "{bad}");
    }
}

#[test]
fn a_tree_needs_a_cluster_name_and_takes_an_optional_commit() {
    let raw = RawTreeQuery {
        cluster: "demo".into(),
        at: Some(String::new()),
    };
    assert_eq!(
        TreeQuery::parse(&raw),
        Ok(TreeQuery {
            cluster: "demo".into(),
            at: None
        })
    );
    let raw = RawTreeQuery {
        cluster: "../etc".into(),
        at: Some("nothex!".into()),
    };
    let errors = TreeQuery::parse(&raw).unwrap_err();
    let paths: Vec<&str> = errors.0.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["cluster", "at"]);
}

#[test]
fn files_are_only_those_stargate_lays_out() {
    let ok = RawFileQuery {
        path: "clusters/demo/payments/deployment-ledger.yaml".into(),
        at: None,
    };
    let query = FileQuery::parse(&ok).unwrap();
    assert_eq!(query.path.kind, "deployment");
    assert_eq!(query.path.name, "ledger");
    for bad in [
        "README.md",
        "clusters/demo/payments/../../secret.yaml",
        "clusters/demo/.git/config-x.yaml",
        "/clusters/demo/payments/deployment-ledger.yaml",
        "clusters/demo/payments/deployment.yaml",
    ] {
        let raw = RawHistoryQuery { path: bad.into() };
        assert_eq!(raw.parse().unwrap_err().0[0].path, "path", "{bad}");
    }
}

#[test]
fn the_log_checks_its_cluster_and_paging() {
    let raw = RawCommitLogQuery {
        cluster: Some(String::new()),
        page: Some("2".into()),
        per_page: None,
    };
    let query = CommitLogQuery::parse(&raw).unwrap();
    assert_eq!(query.cluster, None);
    assert_eq!(query.page.page, 2);
    let raw = RawCommitLogQuery {
        cluster: Some("Demo".into()),
        page: Some("0".into()),
        per_page: Some("1000".into()),
    };
    assert_eq!(CommitLogQuery::parse(&raw).unwrap_err().0.len(), 3);
}

#[test]
fn diff_lines_tell_headers_hunks_additions_and_removals_apart() {
    let patch = "diff --git a/x.yaml b/x.yaml\nindex 1..2 100644\n--- a/x.yaml\n+++ b/x.yaml\n@@ -1,2 +1,2 @@\n kind: Service\n-  type: ClusterIP\n+  type: NodePort\n";
    let kinds: Vec<DiffLineKind> = diff_lines(patch).into_iter().map(|(k, _)| k).collect();
    use DiffLineKind::*;
    assert_eq!(
        kinds,
        [
            Header, Header, Header, Header, Hunk, Context, Removed, Added
        ]
    );
}
