//! One request: status, what it changes (plan), the manifests, notes and its timeline.

use domain::request::{RequestEvent, RequestLive, RequestStatus};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
mod page;
mod review;

#[cfg(feature = "ssr")]
pub use page::RequestPage;

use review::{CommentForm, ReviewPanel, ReviewState};

use crate::{
    api::{
        ApproveRequest, CancelRequest, CommentOnRequest, RejectRequest, RetryRequest,
        get_request_live,
    },
    components::{island::island_ready, status_badge::RequestStatusBadge, timestamp::Timestamp},
    error::action_error,
};

/// The actions a request page offers; any of them succeeding reloads the request.
#[derive(Clone, Copy)]
pub struct RequestActions {
    pub cancel: ServerAction<CancelRequest>,
    pub approve: ServerAction<ApproveRequest>,
    pub reject: ServerAction<RejectRequest>,
    pub comment: ServerAction<CommentOnRequest>,
    pub retry: ServerAction<RetryRequest>,
}

impl RequestActions {
    fn version(&self) -> usize {
        self.cancel.version().get()
            + self.approve.version().get()
            + self.reject.version().get()
            + self.comment.version().get()
            + self.retry.version().get()
    }
}

/// What tells two loads of a request apart. The status counts on its own: `updated_at` has
/// whole seconds, and a load that raced a commit can hold the new events beside the old
/// status (the request and its timeline are separate reads), so a later load may differ
/// in its status alone.
type Fingerprint = (RequestStatus, String, usize);

fn fingerprint(detail: &RequestLive) -> Fingerprint {
    (
        detail.request.status,
        detail.request.updated_at.clone(),
        detail.events.len(),
    )
}

/// Calls `on_change` whenever the request's live timeline (Server-Sent Events) says
/// something happened. The stream closes when the page goes, and once the request can
/// change no more (the browser would otherwise reconnect to a finished stream forever).
#[cfg(feature = "hydrate")]
fn follow_live(id: i64, on_change: impl Fn() + Clone + 'static) {
    use wasm_bindgen::{JsCast, closure::Closure};
    let Ok(source) = web_sys::EventSource::new(&format!("/api/v1/requests/{id}/events?since=now"))
    else {
        return;
    };
    let on_timeline = Closure::<dyn Fn()>::new(on_change.clone());
    let on_status = {
        let source = source.clone();
        Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            let status = event.data().as_string().unwrap_or_default();
            if RequestStatus::parse("status", &status).is_ok_and(RequestStatus::is_final) {
                source.close();
            }
            on_change();
        })
    };
    let _ =
        source.add_event_listener_with_callback("timeline", on_timeline.as_ref().unchecked_ref());
    let _ = source.add_event_listener_with_callback("status", on_status.as_ref().unchecked_ref());
    // Browser objects stay on the one thread the page runs on.
    let held = send_wrapper::SendWrapper::new((source, on_timeline, on_status));
    on_cleanup(move || {
        let (source, on_timeline, on_status) = held.take();
        source.close();
        drop((on_timeline, on_status));
    });
}

#[cfg(not(feature = "hydrate"))]
fn follow_live(_id: i64, _on_change: impl Fn() + Clone + 'static) {}

/// In the browser the page is already drawn: only its `LiveRequest` island comes to life.
#[cfg(not(feature = "ssr"))]
#[component]
pub fn RequestPage() -> impl IntoView {}

/// The request as it is now: it follows the live timeline and offers what the viewer may
/// do. `children` is the plan as the server drew it.
#[island(lazy)]
fn LiveRequest(live: RequestLive, children: Children) -> impl IntoView {
    island_ready();
    let actions = RequestActions {
        cancel: ServerAction::new(),
        approve: ServerAction::new(),
        reject: ServerAction::new(),
        comment: ServerAction::new(),
        retry: ServerAction::new(),
    };
    let id = live.request.id;
    // Reviews bind to the plan drawn on this page, whatever the plan is by now.
    let shown_plan = live.plan_hash.clone();
    let summary = live.request.clone();
    let current = RwSignal::new(live);
    // Reads the request again and shows it if it changed (parts that did not change are
    // left alone, so a half-written comment survives).
    let reload = move || {
        leptos::task::spawn_local(async move {
            // The page may have gone while the request was read: then nothing is left to
            // update (`try_` rather than a panic on disposed values).
            if let Ok(now) = get_request_live(id).await {
                current.try_update(|shown| {
                    if fingerprint(shown) != fingerprint(&now) {
                        *shown = now;
                    }
                });
            }
        });
    };
    Effect::new(move |seen: Option<usize>| {
        let version = actions.version();
        if seen.is_some_and(|seen| seen != version) {
            reload();
        }
        version
    });
    Effect::new(move |_| follow_live(id, reload));

    let status = Memo::new(move |_| current.with(|c| c.request.status));
    let may_cancel = Memo::new(move |_| current.with(|c| c.may_cancel));
    let review = Memo::new(move |_| current.with(|c| ReviewState::from(c)));
    let notes = Memo::new(move |_| current.with(|c| c.notes.clone()));
    let events = Memo::new(move |_| current.with(|c| c.events.clone()));
    let plan_changed = Memo::new({
        let shown_plan = shown_plan.clone();
        move |_| current.with(|c| c.plan_hash != shown_plan)
    });
    let cancel = actions.cancel;
    let heading = format!("#{} {}", summary.id, summary.title);
    view! {
        <div class="page-header">
            <p class="muted"><a href="/requests">"Requests"</a>" / "{format!("#{}", summary.id)}</p>
            <h1>{heading}" "{move || view! { <RequestStatusBadge status=status.get() /> }}</h1>
            <p class="muted">
                {format!("{} for team ", summary.kind)}
                <a href=format!("/teams/{}", summary.team)>{summary.team.to_string()}</a>
                {format!(" on cluster {} · asked by {} ", summary.cluster, summary.requester_name)}
                <Timestamp value=summary.created_at.clone() />
            </p>
            {(!summary.reason.is_empty()).then(|| view! { <blockquote class="reason">{summary.reason.clone()}</blockquote> })}
        </div>
        {move || plan_changed.get().then(|| view! {
            <p class="notice" role="status" data-testid="plan-changed">
                "The plan changed since this page was drawn: "
                <a href=format!("/requests/{id}")>"reload it"</a>" to read and review the new one."
            </p>
        })}
        {move || may_cancel.get().then(|| view! {
            <ActionForm action=cancel attr:class="actions">
                <input type="hidden" name="id" value=id />
                <button type="submit" class="button secondary danger" disabled=move || cancel.pending().get()>
                    "Cancel request"
                </button>
            </ActionForm>
        })}
        <p class="field-error" role="alert">{move || action_error(cancel.value().get())}</p>
        {move || view! { <ReviewPanel id state=review.get() plan_hash=shown_plan.clone() actions /> }}
        {move || notes.with(|notes| (!notes.is_empty()).then(|| view! {
            <div class="panel panel-note" data-testid="notes">
                {notes.iter().map(|n| view! { <p>{n.clone()}</p> }).collect_view()}
            </div>
        }))}
        <div class="two-columns">
            {children()}
            <section class="card">
                <h2>"Timeline"</h2>
                {move || view! { <Timeline events=events.get() /> }}
                <CommentForm id action=actions.comment />
            </section>
        </div>
    }
}

/// `request.submit` → "submitted the request".
fn describe(event: &RequestEvent) -> String {
    let detail = &event.detail;
    let text = |key: &str| detail[key].as_str().unwrap_or_default().to_owned();
    match (event.action.as_str(), detail["to"].as_str()) {
        ("request.submit", _) => "submitted the request".to_owned(),
        ("request.cancel", _) => "cancelled the request".to_owned(),
        ("request.approve", Some("queued")) => "approved; the request is queued".to_owned(),
        ("request.approve", _) => "approved".to_owned(),
        ("request.reject", _) => "rejected the request".to_owned(),
        ("request.retry", Some("pending_review")) => {
            "retried: applying it now would change something else than was approved, so the new plan needs review".to_owned()
        }
        ("request.retry", _) => "queued the request again".to_owned(),
        ("request.comment", _) => "commented".to_owned(),
        ("request.replanned", _) => {
            "saw the plan change (another change landed on the same objects): approvals of the old plan no longer count".to_owned()
        }
        ("request.fail", _) if detail["rules"] == true => {
            format!("no longer passes the rules: {}", text("error"))
        }
        ("request.claim", _) => format!("started applying (attempt {})", detail["attempt"]),
        ("apply.resume", _) => format!("resumed applying (attempt {})", detail["attempt"]),
        ("apply.progress", _) => text("message"),
        ("request.succeed", _) if detail["dry_run"] == true => {
            "finished: a dry run, nothing was applied to a cluster".to_owned()
        }
        ("request.succeed", _) => "applied; every object is ready".to_owned(),
        ("request.fail", _) => format!("failed: {}", text("error")),
        (other, _) => other.trim_start_matches("request.").replace('_', " "),
    }
}

#[component]
fn Timeline(events: Vec<RequestEvent>) -> impl IntoView {
    view! {
        <ol class="timeline" data-testid="timeline">
            {events.into_iter().map(|e| {
                let comment = e.detail["comment"].as_str().filter(|c| !c.is_empty()).map(str::to_owned);
                view! {
                    <li data-action=e.action.clone()>
                        <strong>{e.actor.clone()}</strong>" "{describe(&e)}" "
                        <span class="muted"><Timestamp value=e.at.clone() /></span>
                        {comment.map(|c| view! { <blockquote class="comment">{c}</blockquote> })}
                    </li>
                }
            }).collect_view()}
        </ol>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(status: &str, events: usize) -> RequestLive {
        let event = serde_json::json!({
            "id": 1, "at": "2026-12-03T20:50:44Z", "actor": "worker", "action": "apply.progress",
            "detail": {}
        });
        serde_json::from_value::<RequestLive>(serde_json::json!({
            "request": {
                "id": 1, "kind": "service", "team": "payments", "cluster": "demo",
                "title": "service payouts", "status": status, "requester": "e@example.com",
                "requester_name": "E", "reason": "", "created_at": "2026-12-03T20:50:43Z",
                "updated_at": "2026-12-03T20:50:44Z"
            },
            "plan_hash": "h", "notes": [],
            "events": vec![event; events], "approvals": [], "required_approvals": 1,
            "may_cancel": false, "may_review": false, "may_retry": false
        }))
        .expect("a request as the page follows it")
    }

    #[test]
    fn a_load_that_differs_only_in_status_is_a_change() {
        // Seen live: a load that raced the worker's last commit held every event but the
        // old status, in the same second as the final state; the page then never caught up.
        assert_ne!(
            fingerprint(&detail("applying", 4)),
            fingerprint(&detail("applied", 4))
        );
        assert_eq!(
            fingerprint(&detail("applied", 4)),
            fingerprint(&detail("applied", 4))
        );
        assert_ne!(
            fingerprint(&detail("applying", 3)),
            fingerprint(&detail("applying", 4))
        );
    }
}
