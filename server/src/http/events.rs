//! `GET /api/v1/requests/{id}/events`: a request's timeline as it happens, over
//! Server-Sent Events.
//!
//! A stream does not poll. It is a live view (`live.rs`): it sleeps until the process's
//! change bus ticks (this process committed, or the store's watcher heard that another
//! did: PostgreSQL `NOTIFY`, SQLite `PRAGMA data_version`) *and* its request moved past
//! what it has sent, then reads the events after the last one sent. Signing out and
//! revoking a token are commits too: the stream then ends. So an idle stream costs no
//! query, and an event reaches the client as soon as its commit is known. While the
//! watcher is down the bus cannot hear other processes, and views are checked every few
//! seconds instead (see `store::Changes::changed`).

use std::{collections::VecDeque, convert::Infallible, sync::Arc};

use axum::{
    Extension,
    extract::{Path, Query, State, rejection::QueryRejection},
    http::HeaderMap,
    response::sse::{Event, KeepAlive, Sse},
};
use domain::{
    Actor, Portal,
    request::{RequestEvent, RequestStatus},
};
use futures::{Stream, StreamExt};
use tracing::Instrument;

use super::{
    AppState,
    api::bad_query,
    error::{ApiError, ErrorBody},
    live::{View, Wake},
    requests::request_id,
    stream_slots::StreamSlot,
};
use crate::auth::Credential;

/// `?since=now`: only what happens from now on (a page that already shows the history).
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// `now` to skip the history.
    #[param(pattern = "^(now)?$")]
    since: Option<String>,
}

/// The request's timeline as it happens (Server-Sent Events): `status` events with the
/// new status, `timeline` events with each new entry (claimed, applying object N of M,
/// waiting for rollout, ready, failed with the reason). `Last-Event-ID` resumes. The
/// stream ends once the request can change no more, and when the session or token it
/// was opened with is signed out or revoked (an expiry is noticed at the next change).
/// Each person may hold `http.max_streams_per_user` streams open at once (429 past that).
#[utoipa::path(get, path = "/requests/{id}/events", tag = "requests",
    params(("id" = i64, Path, minimum = 1, description = "Request id"), EventsQuery),
    responses((status = 200, content_type = "text/event-stream", body = String),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(request = %id, user = %actor.email))]
pub async fn request_events(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Extension(credential): Extension<Credential>,
    Path(id): Path<String>,
    query: Result<Query<EventsQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let id = request_id(&id)?;
    let Query(query) = query.map_err(bad_query)?;
    let after = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(0);
    let slot = state
        .streams
        .open(actor.user_id)
        .ok_or(ApiError::TooManyStreams(state.streams.max()))?;
    // Registered before the first read: a change committed during it still wakes us.
    let view = state.live.open(id, credential);
    // One read answers 404 for an unknown request and gives the history to send.
    let (status, events) = state.portal.request_events_after(&actor, id, after).await?;
    let mut feed = Feed {
        portal: state.portal.clone(),
        view,
        actor,
        id,
        after,
        status: None,
        pending: VecDeque::new(),
        _slot: slot,
    };
    if query.since.as_deref() == Some("now") {
        // The page already shows the history: start after it.
        feed.after = events.last().map_or(after, |e| e.id);
        feed.push(status, Vec::new());
    } else {
        feed.push(status, events);
    }
    // The stream outlives this handler: its logs keep the handler's span (request id,
    // user, request).
    let span = tracing::Span::current();
    let stream = futures::stream::unfold(feed, move |feed| feed.next().instrument(span.clone()));
    let mut stopping = state.stopping.clone();
    // Shutdown waits for open connections; streams end first so it does not wait forever.
    let stream = stream.take_until(async move {
        let _ = stopping.wait_for(|stopping| *stopping).await;
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// One stream: what its client has not seen yet, and what it needs to learn more.
struct Feed {
    portal: Arc<dyn Portal>,
    view: View,
    actor: Actor,
    id: i64,
    /// The last event id sent (or skipped with `since=now`).
    after: i64,
    status: Option<RequestStatus>,
    pending: VecDeque<Event>,
    /// Held for as long as the stream lives.
    _slot: StreamSlot,
}

impl Feed {
    /// The next event to send; `None` ends the stream.
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Self)> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some((Ok(event), self));
            }
            if self.status.is_some_and(RequestStatus::is_final) {
                return None;
            }
            match self.view.next().await {
                Wake::Read => {
                    if !self.refresh().await {
                        return None;
                    }
                }
                Wake::End => {
                    // The browser's reconnect then gets its 401.
                    tracing::info!("signed out or revoked; ending the event stream");
                    return None;
                }
            }
        }
    }

    /// Queues events and a changed status.
    fn push(&mut self, status: RequestStatus, events: Vec<RequestEvent>) {
        for event in events {
            self.after = event.id;
            if let Ok(data) = serde_json::to_string(&event) {
                self.pending.push_back(
                    Event::default()
                        .event("timeline")
                        .id(event.id.to_string())
                        .data(data),
                );
            }
        }
        if self.status != Some(status) {
            self.status = Some(status);
            self.pending
                .push_back(Event::default().event("status").data(status.as_str()));
        }
        self.view.shown(status.as_str(), self.after);
    }

    /// Queues what changed since the last look; `false` when the stream should end (the
    /// request is gone, or the database failed: the browser reconnects and resumes).
    async fn refresh(&mut self) -> bool {
        match self
            .portal
            .request_events_after(&self.actor, self.id, self.after)
            .await
        {
            Ok((status, events)) => {
                self.push(status, events);
                true
            }
            Err(_) => false,
        }
    }
}
