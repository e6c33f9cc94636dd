//! The request state machine, as one pure function: (request, who, what, team policy) →
//! the new state or a typed refusal. The store applies the answer in one transaction, as a
//! compare-and-set on the state it was decided from. Everything else that asks "may this
//! happen?" — the page's buttons, the review queue, the worker — asks `decide`.

use serde::{Deserialize, Serialize};

use super::RequestStatus;
use crate::{Actor, TeamName};

/// Longest review comment accepted, in characters.
pub const MAX_COMMENT_LEN: usize = 4000;

/// Who acts: a signed-in person, or Stargate itself (the worker applying a request, or a
/// re-check finding that its plan or the rules changed under it).
#[derive(Debug, Clone, Copy)]
pub enum Who<'a> {
    Person(&'a Actor),
    System,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Approve {
        comment: String,
    },
    Reject {
        comment: String,
    },
    Cancel,
    /// A lead or admin puts a failed request back: into the queue when applying it now
    /// changes what was approved and nothing else, back to review when the plan changed
    /// (another change landed on the same objects meanwhile).
    Retry {
        plan_changed: bool,
    },
    /// The worker takes a queued request, or takes over one whose worker stopped.
    Claim,
    /// The worker finished: the objects are applied and ready.
    Succeed,
    /// Applying failed, or the request no longer passes the rules (then also while it waits
    /// for review or in the queue). The reason is recorded with the event.
    Fail,
    /// The plan changed under a waiting request: it goes (back) to review with the new plan,
    /// and approvals of the old one no longer count (they bind to its hash).
    Replan,
}

impl Action {
    pub const NAMES: [&'static str; 8] = [
        "approve", "reject", "cancel", "retry", "claim", "succeed", "fail", "replan",
    ];

    pub fn name(&self) -> &'static str {
        match self {
            Self::Approve { .. } => "approve",
            Self::Reject { .. } => "reject",
            Self::Cancel => "cancel",
            Self::Retry { .. } => "retry",
            Self::Claim => "claim",
            Self::Succeed => "succeed",
            Self::Fail => "fail",
            Self::Replan => "replan",
        }
    }
}

/// What the machine needs to know of a request.
#[derive(Debug, Clone)]
pub struct RequestFacts<'a> {
    pub status: RequestStatus,
    pub team: &'a TeamName,
    pub requester_id: i64,
    /// People whose approval of the current plan is recorded.
    pub approved_by: &'a [i64],
}

/// The team's rule for how many distinct people must approve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReviewPolicy {
    pub required_approvals: u32,
}

impl ReviewPolicy {
    /// Whether `approvals` distinct approvals of the current plan queue the request. The
    /// one place this is compared: `decide` and the store's count inside its transaction.
    pub fn enough(self, approvals: usize) -> bool {
        approvals >= self.required_approvals.max(1) as usize
    }
}

/// An allowed step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub to: RequestStatus,
    /// An approval to record (it may not yet be enough to queue).
    pub records_approval: bool,
    /// The request enters the queue: a job is created with the change.
    pub queues_job: bool,
}

/// Why an action is refused, by kind: each maps to one HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// 403: this person may not do this to this request.
    #[error("{0}")]
    NotAllowed(String),
    /// 409: not from the request's current state.
    #[error("{0}")]
    WrongState(String),
    /// 422: the input is not acceptable (e.g. a rejection without a reason).
    #[error("{0}")]
    Invalid(String),
}

fn step(to: RequestStatus) -> Step {
    Step {
        to,
        records_approval: false,
        queues_job: false,
    }
}

fn wrong_state(action: &Action, status: RequestStatus) -> Refusal {
    Refusal::WrongState(format!(
        "cannot {} a request that is {}",
        action.name(),
        status.label().to_lowercase()
    ))
}

/// Decides `action` by `who` on `request`. Checks run in a fixed order — who may act,
/// then the state, then the input — so the same refusal always comes first.
pub fn decide(
    request: &RequestFacts<'_>,
    who: Who<'_>,
    action: &Action,
    policy: ReviewPolicy,
) -> Result<Step, Refusal> {
    use RequestStatus as S;
    let status = request.status;
    match (who, action) {
        (Who::System, Action::Claim | Action::Succeed | Action::Fail | Action::Replan) => {
            decide_for_stargate(status, action)
        }
        (Who::System, _) => Err(Refusal::NotAllowed(format!(
            "Stargate does not {} requests: people do",
            action.name()
        ))),
        (Who::Person(_), Action::Claim | Action::Succeed | Action::Fail | Action::Replan) => Err(
            Refusal::NotAllowed("only Stargate applies and re-plans requests".into()),
        ),
        (Who::Person(actor), Action::Cancel) if !actor.scopes.request => {
            Err(Refusal::NotAllowed(missing_scope("request", action)))
        }
        (
            Who::Person(actor),
            Action::Approve { .. } | Action::Reject { .. } | Action::Retry { .. },
        ) if !actor.scopes.review => Err(Refusal::NotAllowed(missing_scope("review", action))),
        (Who::Person(actor), Action::Cancel) => {
            if actor.user_id != request.requester_id {
                return Err(Refusal::NotAllowed(
                    "only the person who asked may cancel a request".into(),
                ));
            }
            if status != S::PendingReview {
                return Err(wrong_state(action, status));
            }
            Ok(step(S::Cancelled))
        }
        (Who::Person(actor), Action::Retry { plan_changed }) => {
            if !actor.may_review_for(request.team) {
                return Err(Refusal::NotAllowed(format!(
                    "only leads of team {} and admins retry its requests",
                    request.team
                )));
            }
            if status != S::Failed {
                return Err(wrong_state(action, status));
            }
            Ok(if *plan_changed {
                step(S::PendingReview)
            } else {
                Step {
                    to: S::Queued,
                    records_approval: false,
                    queues_job: true,
                }
            })
        }
        (Who::Person(actor), Action::Approve { .. } | Action::Reject { .. }) => {
            if !actor.may_review_for(request.team) {
                return Err(Refusal::NotAllowed(format!(
                    "only leads of team {} and admins review its requests",
                    request.team
                )));
            }
            let approving = matches!(action, Action::Approve { .. });
            if approving && actor.user_id == request.requester_id {
                return Err(Refusal::NotAllowed(
                    "nobody approves their own request: another lead must review it".into(),
                ));
            }
            if status != S::PendingReview {
                return Err(wrong_state(action, status));
            }
            match action {
                Action::Approve { comment } => {
                    check_comment(comment, false)?;
                    if request.approved_by.contains(&actor.user_id) {
                        return Err(Refusal::WrongState(
                            "you already approved this plan; another person must approve too"
                                .into(),
                        ));
                    }
                    let enough = policy.enough(request.approved_by.len() + 1);
                    Ok(Step {
                        to: if enough { S::Queued } else { S::PendingReview },
                        records_approval: true,
                        queues_job: enough,
                    })
                }
                Action::Reject { comment } => {
                    check_comment(comment, true)?;
                    Ok(step(S::Rejected))
                }
                _ => Err(wrong_state(action, status)),
            }
        }
    }
}

/// What a person may do to a request now, each answered by `decide`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Offers {
    pub cancel: bool,
    /// Approve (and so reject): a reviewer who has not yet approved this plan.
    pub review: bool,
    pub retry: bool,
}

pub fn offers(request: &RequestFacts<'_>, actor: &Actor, policy: ReviewPolicy) -> Offers {
    let allowed = |action: Action| decide(request, Who::Person(actor), &action, policy).is_ok();
    Offers {
        cancel: allowed(Action::Cancel),
        review: allowed(Action::Approve {
            comment: String::new(),
        }),
        retry: allowed(Action::Retry {
            plan_changed: false,
        }),
    }
}

/// Stargate's own steps (the worker's, a re-check's): they depend on the state alone.
pub fn decide_for_stargate(status: RequestStatus, action: &Action) -> Result<Step, Refusal> {
    use RequestStatus as S;
    let to = match (action, status) {
        (Action::Claim, S::Queued | S::Applying) => S::Applying,
        (Action::Succeed, S::Applying) => S::Applied,
        (Action::Fail, S::PendingReview | S::Queued | S::Applying) => S::Failed,
        (Action::Replan, S::PendingReview | S::Queued) => S::PendingReview,
        (Action::Claim | Action::Succeed | Action::Fail | Action::Replan, _) => {
            return Err(wrong_state(action, status));
        }
        _ => {
            return Err(Refusal::NotAllowed(format!(
                "Stargate does not {} requests: people do",
                action.name()
            )));
        }
    };
    Ok(step(to))
}

/// The refusal of a token without the scope an action needs.
pub fn missing_scope(scope: &str, action: &Action) -> String {
    format!(
        "this access token may not {} requests: it lacks the {scope:?} scope",
        action.name()
    )
}

fn check_comment(comment: &str, required: bool) -> Result<(), Refusal> {
    match comment_problem(comment, required) {
        Some(problem) => Err(Refusal::Invalid(problem)),
        None => Ok(()),
    }
}

/// What is wrong with a review comment or a timeline comment, if anything.
pub fn comment_problem(comment: &str, required: bool) -> Option<String> {
    let comment = comment.trim();
    if required && comment.is_empty() {
        return Some("say why: a rejection needs a comment the requester can act on".into());
    }
    if comment.chars().count() > MAX_COMMENT_LEN {
        return Some(format!(
            "a comment may be at most {MAX_COMMENT_LEN} characters"
        ));
    }
    // Text people read, stored as text: no control characters besides line breaks and tabs.
    if comment
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Some("must not contain control characters".into());
    }
    None
}

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
mod tests;
