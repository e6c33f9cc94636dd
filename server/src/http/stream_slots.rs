//! How many live event streams each person holds open, capped.
//!
//! A stream costs nothing while idle, but every open one is read again whenever anything
//! commits, so one client opening thousands (a loop, a forgotten script) would multiply
//! the cost of every change. Past the cap the endpoint answers 429. A slot is held by a
//! guard that lives as long as the stream: however the stream ends (the request became
//! final, the client went away, sign-out, shutdown), dropping it frees the slot.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

#[derive(Clone)]
pub struct StreamSlots {
    max: u32,
    /// User id → streams open now; users with none have no entry.
    open: Arc<Mutex<HashMap<i64, u32>>>,
}

/// One open stream of one user; dropping it frees the slot.
pub struct StreamSlot {
    user: i64,
    open: Arc<Mutex<HashMap<i64, u32>>>,
}

impl StreamSlots {
    pub fn new(max: u32) -> Self {
        Self {
            max,
            open: Arc::default(),
        }
    }

    pub fn max(&self) -> u32 {
        self.max
    }

    /// A slot for one more stream of `user`, or `None` at the cap.
    pub fn open(&self, user: i64) -> Option<StreamSlot> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.get(&user).copied().unwrap_or(0);
        if count >= self.max {
            return None;
        }
        open.insert(user, count + 1);
        Some(StreamSlot {
            user,
            open: self.open.clone(),
        })
    }

    #[cfg(test)]
    fn count(&self, user: i64) -> u32 {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.get(&user).copied().unwrap_or(0)
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.user) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_is_per_user_and_a_dropped_slot_frees_its_place() {
        let slots = StreamSlots::new(2);
        let first = slots.open(1).expect("first");
        let _second = slots.open(1).expect("second");
        assert!(slots.open(1).is_none(), "third refused");
        let _other = slots.open(2).expect("another user has their own");
        drop(first);
        assert_eq!(slots.count(1), 1);
        assert!(slots.open(1).is_some(), "a freed slot can be taken again");
    }

    #[test]
    fn users_without_streams_leave_no_entry() {
        let slots = StreamSlots::new(1);
        drop(slots.open(7));
        assert!(slots.open.lock().unwrap().is_empty());
    }
}
