use serde_json::json;

use super::*;
use crate::{TeamName, request::RequestKind};

const HASH: &str = "9f2c4e0d7b1a86c3e5f4a2b9d8c7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9";

/// The paths at fault, sorted.
fn paths(body: Value) -> Vec<String> {
    let mut paths: Vec<String> = BulkApproval::parse(&body)
        .unwrap_err()
        .0
        .into_iter()
        .map(|e| e.path)
        .collect();
    paths.sort();
    paths
}

#[test]
fn reads_a_list_with_one_comment() {
    let bulk = BulkApproval::parse(&json!({
        "approvals": [{"request_id": 12, "plan_hash": HASH}, {"request_id": 13, "plan_hash": HASH}],
        "comment": "  both fine  "
    }))
    .unwrap();
    assert_eq!(
        bulk.items()
            .iter()
            .map(|i| i.request_id)
            .collect::<Vec<_>>(),
        [12, 13]
    );
    assert_eq!(bulk.comment(), "both fine");
    // JSON Schema counts 62.0 as an integer, so a client may send it.
    let float = json!({"approvals": [{"request_id": 62.0, "plan_hash": HASH}]});
    assert_eq!(
        BulkApproval::parse(&float).unwrap().items()[0].request_id,
        62
    );
    assert_eq!(
        paths(json!({"approvals": [{"request_id": 62.5, "plan_hash": HASH}]})),
        ["approvals[0].request_id"]
    );
    let without_comment =
        BulkApproval::parse(&json!({"approvals": [{"request_id": 1, "plan_hash": HASH}]})).unwrap();
    assert_eq!(without_comment.comment(), "");
}

#[test]
fn names_the_field_at_fault() {
    assert_eq!(paths(json!({"approvals": []})), ["approvals"]);
    assert_eq!(paths(json!({})), ["approvals"]);
    assert_eq!(paths(json!({"approvals": "12"})), ["approvals"]);
    assert_eq!(paths(json!([1])), ["body"]);
    let too_many: Vec<Value> = (1..=101)
        .map(|id| json!({"request_id": id, "plan_hash": HASH}))
        .collect();
    assert_eq!(paths(json!({ "approvals": too_many })), ["approvals"]);
    assert_eq!(
        paths(json!({"approvals": [
            {"request_id": 1, "plan_hash": "ABC"},
            {"request_id": "2", "plan_hash": HASH},
            {"plan_hash": HASH},
            {"request_id": 0, "plan_hash": HASH.to_uppercase()},
            {"request_id": 5},
            7,
        ]})),
        [
            "approvals[0].plan_hash",
            "approvals[1].request_id",
            "approvals[2].request_id",
            "approvals[3].plan_hash",
            "approvals[3].request_id",
            "approvals[4].plan_hash",
            "approvals[5]",
        ]
    );
    assert_eq!(
        paths(
            json!({"approvals": [{"request_id": 1, "plan_hash": HASH, "force": true}], "extra": 1})
        ),
        ["approvals[0].force", "extra"]
    );
    assert_eq!(
        paths(json!({"approvals": [{"request_id": 1, "plan_hash": HASH}], "comment": "a\u{0}b"})),
        ["comment"]
    );
    assert_eq!(
        paths(json!({"approvals": [{"request_id": 1, "plan_hash": HASH}], "comment": 3})),
        ["comment"]
    );
}

#[test]
fn the_page_list_is_checked_the_same_way() {
    let item = |id: i64, hash: &str| ApprovalItem {
        request_id: id,
        plan_hash: hash.into(),
    };
    assert!(BulkApproval::new(vec![item(1, HASH)], "").is_ok());
    let errors = BulkApproval::new(Vec::new(), "").unwrap_err();
    assert_eq!(errors.0[0].path, "approvals");
    assert!(errors.0[0].message.contains("at least one"));
    let errors = BulkApproval::new(vec![item(-3, "")], &"x".repeat(5000)).unwrap_err();
    let paths: Vec<&str> = errors.0.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "approvals[0].request_id",
            "approvals[0].plan_hash",
            "comment"
        ]
    );
}

fn detail(status: RequestStatus, approvals: usize, required: u32) -> RequestDetail {
    let approval = crate::request::view::Approval {
        by: "lee@example.com".into(),
        name: "Lee".into(),
        comment: String::new(),
        at: "2026-01-01T00:00:00Z".into(),
    };
    RequestDetail {
        request: RequestSummary {
            id: 12,
            kind: RequestKind::Service,
            team: TeamName::parse("team", "payments").unwrap(),
            cluster: "demo".into(),
            title: "service ledger".into(),
            status,
            requester: "pat@example.com".into(),
            requester_name: "Pat".into(),
            reason: String::new(),
            created_at: String::new(),
            updated_at: String::new(),
        },
        spec: Value::Null,
        manifests: String::new(),
        plan: crate::request::plan::Plan {
            objects: Vec::new(),
            hash: HASH.into(),
            adopted: None,
            imported: None,
        },
        notes: Vec::new(),
        events: Vec::new(),
        approvals: vec![approval; approvals],
        required_approvals: required,
        may_cancel: false,
        may_review: false,
        may_retry: false,
    }
}

#[test]
fn a_result_says_what_became_of_the_request() {
    let queued = ApprovalResult::of(12, Ok(detail(RequestStatus::Queued, 1, 1)));
    assert_eq!(queued.outcome, ApprovalOutcome::Queued);
    assert!(queued.approved);
    assert_eq!(queued.status, Some(RequestStatus::Queued));
    assert!(queued.message.contains("service ledger"));

    let waiting = ApprovalResult::of(12, Ok(detail(RequestStatus::PendingReview, 1, 2)));
    assert_eq!(waiting.outcome, ApprovalOutcome::Approved);
    assert!(waiting.message.contains("1 of 2"), "{}", waiting.message);

    let changed = ApprovalResult::of(
        12,
        Err(PortalError::PlanChanged {
            message: "the plan of request 12 changed".into(),
            plan: Box::new(detail(RequestStatus::PendingReview, 0, 1).plan),
        }),
    );
    assert_eq!(changed.outcome, ApprovalOutcome::PlanChanged);
    assert!(!changed.approved);
    assert_eq!(changed.status, None);
    assert_eq!(changed.message, "the plan of request 12 changed");

    let forbidden = ApprovalResult::of(13, Err(PortalError::Forbidden("not yours".into())));
    assert_eq!(forbidden.outcome, ApprovalOutcome::Forbidden);
    assert_eq!(forbidden.message, "not allowed: not yours");
    let missing = ApprovalResult::of(14, Err(PortalError::NotFound("request 14".into())));
    assert_eq!(missing.outcome, ApprovalOutcome::NotFound);
    assert_eq!(
        ApprovalResult::listed_twice(12).outcome,
        ApprovalOutcome::Conflict
    );
}

#[test]
fn results_travel_as_snake_case_json() {
    let result = ApprovalResult::of(13, Err(PortalError::Conflict("already approved".into())));
    assert_eq!(
        serde_json::to_value(&result).unwrap(),
        json!({"request_id": 13, "outcome": "conflict", "approved": false, "message": "already approved"})
    );
    let queued = ApprovalResult::of(12, Ok(detail(RequestStatus::Queued, 1, 1)));
    let value = serde_json::to_value(&queued).unwrap();
    assert_eq!(value["outcome"], "queued");
    assert_eq!(value["status"], "queued");
}

#[test]
fn outcome_names_are_the_json_names() {
    use ApprovalOutcome as O;
    for outcome in [
        O::Approved,
        O::Queued,
        O::PlanChanged,
        O::Forbidden,
        O::Conflict,
        O::NotFound,
        O::Invalid,
        O::Unavailable,
    ] {
        assert_eq!(
            serde_json::to_value(outcome).unwrap(),
            json!(outcome.as_str())
        );
        assert_eq!(
            outcome.approved(),
            matches!(outcome, O::Approved | O::Queued)
        );
    }
}
