//! One worker's jobs run side by side, except where they would leave one object differently
//! (two versions of a shared ConfigMap, an apply and a delete): then the job claimed later
//! waits until the earlier one has finished, so that its re-check sees what the earlier one
//! applied, as when one job ran after the other. Jobs that write an object identically
//! (their team's Namespace) do not wait for each other: the order cannot matter.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use tokio::sync::watch;

/// An object on a cluster: `(cluster, kind, namespace, name)`.
pub(super) type ObjectKey = (String, String, String, String);

/// What a job does to each object it touches, as a hash of the object it applies (or of
/// its deletion).
pub(super) type Touches = HashMap<ObjectKey, u64>;

/// Whether the two jobs leave some object differently.
fn conflict(a: &Touches, b: &Touches) -> bool {
    a.iter()
        .any(|(key, what)| b.get(key).is_some_and(|other| other != what))
}

/// The objects of the jobs under way, in the order they were claimed.
pub(super) struct InFlight {
    held: Mutex<Held>,
    /// Bumped whenever a job finishes, to wake those waiting for their turn.
    finished: watch::Sender<u64>,
}

#[derive(Default)]
struct Held {
    next: u64,
    jobs: Vec<(u64, Touches)>,
}

impl Default for InFlight {
    fn default() -> Self {
        Self {
            held: Mutex::default(),
            finished: watch::channel(0).0,
        }
    }
}

impl InFlight {
    fn held(&self) -> std::sync::MutexGuard<'_, Held> {
        // Nothing is left half-changed under the lock, so a panic elsewhere does not matter.
        self.held
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Puts a just-claimed job in line for what it does; call in claim order.
    pub(super) fn reserve(self: &Arc<Self>, objects: Touches) -> Turn {
        let mut held = self.held();
        let seq = held.next;
        held.next += 1;
        held.jobs.push((seq, objects));
        Turn {
            in_flight: self.clone(),
            seq,
        }
    }

    /// Whether a job claimed before `seq` leaves one of its objects differently.
    fn blocked(&self, seq: u64) -> bool {
        let held = self.held();
        let Some((_, mine)) = held.jobs.iter().find(|(s, _)| *s == seq) else {
            return false;
        };
        held.jobs
            .iter()
            .take_while(|(s, _)| *s < seq)
            .any(|(_, theirs)| conflict(theirs, mine))
    }
}

/// A job's place in line; dropping it (the job finished) lets the next ones go.
pub(super) struct Turn {
    in_flight: Arc<InFlight>,
    seq: u64,
}

impl Turn {
    /// Resolves once no job claimed earlier leaves any of this job's objects differently.
    pub(super) async fn wait(&self) {
        let mut finished = self.in_flight.finished.subscribe();
        while self.in_flight.blocked(self.seq) {
            // The sender lives as long as `in_flight`, which this turn holds.
            if finished.changed().await.is_err() {
                return;
            }
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.in_flight
            .held()
            .jobs
            .retain(|(seq, _)| *seq != self.seq);
        self.in_flight.finished.send_modify(|n| *n += 1);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Each named object, written as version 1.
    fn objects(names: &[&str]) -> Touches {
        names.iter().map(|n| (key(n), 1)).collect()
    }

    fn key(name: &str) -> ObjectKey {
        (
            "kind".into(),
            "ConfigMap".into(),
            "payments".into(),
            name.into(),
        )
    }

    async fn goes_now(turn: &Turn) -> bool {
        tokio::time::timeout(Duration::from_millis(50), turn.wait())
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn jobs_on_other_objects_go_at_once() {
        let in_flight = Arc::new(InFlight::default());
        let first = in_flight.reserve(objects(&["orders"]));
        let second = in_flight.reserve(objects(&["billing"]));
        assert!(goes_now(&first).await);
        assert!(goes_now(&second).await);
    }

    #[tokio::test]
    async fn a_job_on_the_same_object_waits_until_the_earlier_one_finishes() {
        let in_flight = Arc::new(InFlight::default());
        let first = in_flight.reserve(objects(&["orders", "orders-config"]));
        let second = in_flight.reserve(HashMap::from([(key("orders-config"), 2)]));
        let third = in_flight.reserve(objects(&["billing"]));
        assert!(
            !goes_now(&second).await,
            "the earlier job writes orders-config otherwise"
        );
        assert!(goes_now(&third).await);

        let waiting = tokio::spawn(async move {
            second.wait().await;
            second
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished());
        drop(first);
        let second = tokio::time::timeout(Duration::from_secs(1), waiting)
            .await
            .expect("the second job goes once the first has finished")
            .unwrap();
        // The earlier job's turn never waits for a later one.
        let fourth = in_flight.reserve(objects(&["orders"]));
        assert!(goes_now(&second).await);
        assert!(goes_now(&fourth).await);
    }

    #[tokio::test]
    async fn jobs_writing_an_object_identically_do_not_wait() {
        let in_flight = Arc::new(InFlight::default());
        let first = in_flight.reserve(objects(&["namespace", "orders"]));
        let second = in_flight.reserve(objects(&["namespace", "billing"]));
        assert!(goes_now(&first).await);
        assert!(goes_now(&second).await);
    }

    #[tokio::test]
    async fn a_job_waits_for_every_earlier_conflicting_job_in_claim_order() {
        let in_flight = Arc::new(InFlight::default());
        let first = in_flight.reserve(objects(&["a"]));
        let second = in_flight.reserve(HashMap::from([(key("a"), 2), (key("b"), 2)]));
        let third = in_flight.reserve(objects(&["b"]));
        drop(first);
        assert!(goes_now(&second).await);
        assert!(!goes_now(&third).await, "the second writes b otherwise");
        drop(second);
        assert!(goes_now(&third).await);
    }
}
