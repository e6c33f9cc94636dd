//! The bound on sign-ins in flight (`auth.max_login_flows`) without counting the table at
//! every start: this process counts the live flows at most once a second, adds the flows
//! it started since, and counts again only when that estimate reaches the bound. A refusal
//! therefore always rests on a fresh count; other processes' starts are seen within a
//! second.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

/// How long a count of the live flows stands.
const RECOUNT_AFTER: Duration = Duration::from_secs(1);

pub struct FlowBound {
    max: u32,
    state: Mutex<Option<Estimate>>,
}

#[derive(Clone, Copy)]
struct Estimate {
    counted_at: Instant,
    live: u64,
}

/// What the bound says about one more start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Room {
    /// Room for it, by the estimate.
    Yes,
    /// Count the live flows first ([`FlowBound::counted`]) and ask again.
    Count,
}

impl FlowBound {
    pub fn new(max: u32) -> Self {
        Self {
            max,
            state: Mutex::new(None),
        }
    }

    pub fn max(&self) -> u32 {
        self.max
    }

    /// Whether one more flow fits by the estimate; `Yes` counts it in.
    pub fn reserve(&self) -> Room {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match state.as_mut() {
            Some(estimate)
                if estimate.counted_at.elapsed() < RECOUNT_AFTER
                    && estimate.live < u64::from(self.max) =>
            {
                estimate.live += 1;
                Room::Yes
            }
            _ => Room::Count,
        }
    }

    /// Records a fresh count; true (and the new flow counted in) when one more fits.
    pub fn counted(&self, live: u64) -> bool {
        let fits = live < u64::from(self.max);
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        *state = Some(Estimate {
            counted_at: Instant::now(),
            live: live + u64::from(fits),
        });
        fits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_first_then_estimates_until_the_bound() {
        let bound = FlowBound::new(3);
        assert_eq!(bound.reserve(), Room::Count);
        assert!(bound.counted(1));
        assert_eq!(bound.reserve(), Room::Yes, "the third fits");
        assert_eq!(bound.reserve(), Room::Count, "the estimate is at the bound");
        assert!(!bound.counted(3), "a fresh count says full");
        assert_eq!(bound.reserve(), Room::Count, "full: count again next time");
        assert!(bound.counted(0), "they expired");
        assert_eq!(bound.reserve(), Room::Yes);
    }
}
