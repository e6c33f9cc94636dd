//! Every (state, action, actor) triple against the lifecycle as DESIGN.md draws it,
//! written out as its own table rather than derived from `decide`.

use super::*;
use crate::{TeamMembership, TeamRole};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    RequesterEngineer,
    RequesterLead,
    Lead,
    OtherTeamLead,
    Engineer,
    Admin,
    System,
}

const ROLES: [Role; 7] = [
    Role::RequesterEngineer,
    Role::RequesterLead,
    Role::Lead,
    Role::OtherTeamLead,
    Role::Engineer,
    Role::Admin,
    Role::System,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    To(RequestStatus),
    Forbidden,
    Conflict,
}

const REQUESTER: i64 = 1;

fn team() -> TeamName {
    TeamName::parse("team", "payments").unwrap()
}

fn actor(role: Role) -> Actor {
    let (user_id, admin, teams): (i64, bool, Vec<(&str, TeamRole)>) = match role {
        Role::RequesterEngineer => (REQUESTER, false, vec![("payments", TeamRole::Member)]),
        Role::RequesterLead => (REQUESTER, false, vec![("payments", TeamRole::Lead)]),
        Role::Lead => (2, false, vec![("payments", TeamRole::Lead)]),
        Role::OtherTeamLead => (3, false, vec![("search", TeamRole::Lead)]),
        Role::Engineer => (4, false, vec![("payments", TeamRole::Member)]),
        Role::Admin | Role::System => (5, true, vec![]),
    };
    Actor {
        user_id,
        email: format!("user{user_id}@example.com"),
        name: format!("User {user_id}"),
        groups: vec![],
        admin,
        teams: teams
            .into_iter()
            .map(|(t, role)| TeamMembership {
                team: TeamName::parse("t", t).unwrap(),
                role,
            })
            .collect(),
        scopes: crate::Scopes::ALL,
    }
}

fn action(name: &str) -> Action {
    match name {
        "approve" => Action::Approve {
            comment: String::new(),
        },
        "reject" => Action::Reject {
            comment: "needs a readiness probe".into(),
        },
        "cancel" => Action::Cancel,
        "retry" => Action::Retry {
            plan_changed: false,
        },
        "claim" => Action::Claim,
        "succeed" => Action::Succeed,
        "fail" => Action::Fail,
        _ => Action::Replan,
    }
}

/// The lifecycle, one row per action (one approval required).
fn expected(status: RequestStatus, action: &str, role: Role) -> Expect {
    use Expect::*;
    use RequestStatus as S;
    let reviewer = matches!(role, Role::Lead | Role::RequesterLead | Role::Admin);
    let requester = matches!(role, Role::RequesterEngineer | Role::RequesterLead);
    match action {
        "claim" | "succeed" | "fail" | "replan" if role != Role::System => Forbidden,
        "claim" => {
            // A job whose worker stopped is taken over while its request is applying.
            if matches!(status, S::Queued | S::Applying) {
                To(S::Applying)
            } else {
                Conflict
            }
        }
        "succeed" => {
            if status == S::Applying {
                To(S::Applied)
            } else {
                Conflict
            }
        }
        "fail" => {
            // Applying failed, or a waiting request no longer passes the rules.
            if matches!(status, S::PendingReview | S::Queued | S::Applying) {
                To(S::Failed)
            } else {
                Conflict
            }
        }
        "replan" => {
            if matches!(status, S::PendingReview | S::Queued) {
                To(S::PendingReview)
            } else {
                Conflict
            }
        }
        _ if role == Role::System => Forbidden,
        "cancel" if !requester => Forbidden,
        "cancel" => {
            if status == S::PendingReview {
                To(S::Cancelled)
            } else {
                Conflict
            }
        }
        "retry" if !reviewer => Forbidden,
        "retry" => {
            if status == S::Failed {
                To(S::Queued)
            } else {
                Conflict
            }
        }
        "approve" if !reviewer || requester => Forbidden,
        "approve" => {
            if status == S::PendingReview {
                To(S::Queued)
            } else {
                Conflict
            }
        }
        "reject" if !reviewer => Forbidden,
        "reject" => {
            if status == S::PendingReview {
                To(S::Rejected)
            } else {
                Conflict
            }
        }
        other => panic!("no expectation for {other}"),
    }
}

fn outcome(result: Result<Step, Refusal>) -> Expect {
    match result {
        Ok(step) => Expect::To(step.to),
        Err(Refusal::NotAllowed(_)) => Expect::Forbidden,
        Err(Refusal::WrongState(_)) => Expect::Conflict,
        Err(Refusal::Invalid(why)) => panic!("valid input refused: {why}"),
    }
}

#[test]
fn every_state_action_and_actor_follows_the_lifecycle() {
    let team = team();
    let mut checked = 0;
    for status in RequestStatus::ALL {
        for name in Action::NAMES {
            for role in ROLES {
                let facts = RequestFacts {
                    status,
                    team: &team,
                    requester_id: REQUESTER,
                    approved_by: &[],
                };
                let actor = actor(role);
                let who = if role == Role::System {
                    Who::System
                } else {
                    Who::Person(&actor)
                };
                let policy = ReviewPolicy {
                    required_approvals: 1,
                };
                let got = outcome(decide(&facts, who, &action(name), policy));
                assert_eq!(
                    got,
                    expected(status, name, role),
                    "{status:?} × {name} × {role:?}"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 7 * 8 * 7);
}

#[test]
fn queueing_is_the_only_step_that_creates_a_job() {
    let team = team();
    let lead = actor(Role::Lead);
    let pending = RequestFacts {
        status: RequestStatus::PendingReview,
        team: &team,
        requester_id: REQUESTER,
        approved_by: &[],
    };
    let one = ReviewPolicy {
        required_approvals: 1,
    };
    let approve = action("approve");
    let step = decide(&pending, Who::Person(&lead), &approve, one).unwrap();
    assert!(step.records_approval && step.queues_job);
    let reject = decide(&pending, Who::Person(&lead), &action("reject"), one).unwrap();
    assert!(!reject.queues_job && !reject.records_approval);
    let failed = RequestFacts {
        status: RequestStatus::Failed,
        ..pending.clone()
    };
    let retry = decide(&failed, Who::Person(&lead), &action("retry"), one).unwrap();
    assert!(retry.queues_job && !retry.records_approval);
    // A retry whose plan changed meanwhile goes back to review instead.
    let changed = Action::Retry { plan_changed: true };
    let back = decide(&failed, Who::Person(&lead), &changed, one).unwrap();
    assert_eq!(back.to, RequestStatus::PendingReview);
    assert!(!back.queues_job && !back.records_approval);
}

#[test]
fn what_a_page_offers_is_what_decide_allows() {
    let team = team();
    let one = ReviewPolicy {
        required_approvals: 2,
    };
    let approved_by = [2];
    for status in RequestStatus::ALL {
        for role in ROLES.into_iter().filter(|r| *r != Role::System) {
            let actor = actor(role);
            let facts = RequestFacts {
                status,
                team: &team,
                requester_id: REQUESTER,
                approved_by: &approved_by,
            };
            let offered = offers(&facts, &actor, one);
            let allowed = |a: Action| decide(&facts, Who::Person(&actor), &a, one).is_ok();
            assert_eq!(
                offered.cancel,
                allowed(Action::Cancel),
                "{status:?} {role:?}"
            );
            assert_eq!(
                offered.retry,
                allowed(action("retry")),
                "{status:?} {role:?}"
            );
            assert_eq!(
                offered.review,
                allowed(action("approve")),
                "{status:?} {role:?}"
            );
            // A lead who already approved this plan is not asked again.
            if role == Role::Lead {
                assert!(!offered.review);
            }
        }
    }
}

#[test]
fn enough_approvals_is_at_least_one() {
    let none = ReviewPolicy {
        required_approvals: 0,
    };
    assert!(!none.enough(0));
    assert!(none.enough(1));
    let two = ReviewPolicy {
        required_approvals: 2,
    };
    assert!(!two.enough(1));
    assert!(two.enough(2));
}

#[test]
fn two_required_approvals_need_two_distinct_people() {
    let team = team();
    let lead = actor(Role::Lead);
    let admin = actor(Role::Admin);
    let two = ReviewPolicy {
        required_approvals: 2,
    };
    let mut facts = RequestFacts {
        status: RequestStatus::PendingReview,
        team: &team,
        requester_id: REQUESTER,
        approved_by: &[],
    };
    let approve = action("approve");
    let first = decide(&facts, Who::Person(&lead), &approve, two).unwrap();
    assert_eq!(first.to, RequestStatus::PendingReview);
    assert!(first.records_approval && !first.queues_job);

    let approved_by = [lead.user_id];
    facts.approved_by = &approved_by;
    assert!(matches!(
        decide(&facts, Who::Person(&lead), &approve, two),
        Err(Refusal::WrongState(_))
    ));
    let second = decide(&facts, Who::Person(&admin), &approve, two).unwrap();
    assert_eq!(second.to, RequestStatus::Queued);
    assert!(second.queues_job);
}

#[test]
fn a_rejection_needs_a_reason_and_comments_have_a_limit() {
    let team = team();
    let lead = actor(Role::Lead);
    let facts = RequestFacts {
        status: RequestStatus::PendingReview,
        team: &team,
        requester_id: REQUESTER,
        approved_by: &[],
    };
    let one = ReviewPolicy {
        required_approvals: 1,
    };
    for blank in ["", "   "] {
        let reject = Action::Reject {
            comment: blank.into(),
        };
        assert!(matches!(
            decide(&facts, Who::Person(&lead), &reject, one),
            Err(Refusal::Invalid(_))
        ));
    }
    let long = Action::Approve {
        comment: "x".repeat(MAX_COMMENT_LEN + 1),
    };
    assert!(matches!(
        decide(&facts, Who::Person(&lead), &long, one),
        Err(Refusal::Invalid(_))
    ));
    // Who may act is checked before the input: an engineer hears "not allowed".
    let engineer = actor(Role::Engineer);
    let reject = Action::Reject {
        comment: String::new(),
    };
    assert!(matches!(
        decide(&facts, Who::Person(&engineer), &reject, one),
        Err(Refusal::NotAllowed(_))
    ));
}

#[test]
fn comments_are_plain_text() {
    assert_eq!(comment_problem("fine\nby me\t✓", false), None);
    assert!(comment_problem("nul\u{0}byte", false).is_some());
    assert!(comment_problem("   ", true).is_some());
    assert_eq!(comment_problem("", false), None);
}

#[test]
fn a_token_without_the_scope_is_refused_whoever_holds_it() {
    let team = team();
    let mut lead = actor(Role::Lead);
    lead.scopes = crate::Scopes {
        request: true,
        review: false,
    };
    let pending = RequestFacts {
        status: RequestStatus::PendingReview,
        team: &team,
        requester_id: REQUESTER,
        approved_by: &[],
    };
    let one = ReviewPolicy {
        required_approvals: 1,
    };
    for name in ["approve", "reject"] {
        let refused = decide(&pending, Who::Person(&lead), &action(name), one);
        assert!(
            matches!(&refused, Err(Refusal::NotAllowed(why)) if why.contains("\"review\" scope")),
            "{name}: {refused:?}"
        );
    }
    assert!(!offers(&pending, &lead, one).review);
    let mut requester = actor(Role::RequesterEngineer);
    requester.scopes = crate::Scopes::READ;
    assert!(matches!(
        decide(&pending, Who::Person(&requester), &Action::Cancel, one),
        Err(Refusal::NotAllowed(_))
    ));
}
