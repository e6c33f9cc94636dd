//! Slows down guessing and flooding: a fixed-window counter per key (a client address, an
//! account). Failed token and sign-in attempts are counted per client, refused sign-ins
//! per account, sign-ins started per client; past the limit the key gets 429 until its
//! window passes.

use std::{
    collections::HashMap,
    hash::Hash,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Keys kept before finished windows are swept out, so the map cannot grow without bound.
/// A sweep runs at most once a window: under a flood from many addresses it stays a cost
/// per window, not per request, and the map holds at most the keys of about two windows.
const SWEEP_ABOVE: usize = 10_000;

pub struct RateLimit<K> {
    max: u32,
    window: Duration,
    counts: Mutex<Counts<K>>,
}

struct Counts<K> {
    by_key: HashMap<K, (Instant, u32)>,
    swept: Instant,
}

impl<K: Hash + Eq + Clone> RateLimit<K> {
    pub fn new(max: u32, window: Duration) -> Self {
        Self {
            max,
            window,
            counts: Mutex::new(Counts {
                by_key: HashMap::new(),
                swept: Instant::now(),
            }),
        }
    }

    /// Whether `key` used up its count for the current window.
    pub fn is_blocked(&self, key: &K) -> bool {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts
            .by_key
            .get(key)
            .is_some_and(|(start, count)| start.elapsed() < self.window && *count >= self.max)
    }

    /// Counts one event for `key`; true while it stays within the limit (the event that
    /// reaches the limit still counts as within it).
    pub fn record(&self, key: &K) -> bool {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if counts.by_key.len() > SWEEP_ABOVE && counts.swept.elapsed() >= self.window {
            let window = self.window;
            counts
                .by_key
                .retain(|_, (start, _)| start.elapsed() < window);
            counts.swept = Instant::now();
        }
        let entry = counts
            .by_key
            .entry(key.clone())
            .or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= self.window {
            *entry = (Instant::now(), 0);
        }
        entry.1 = entry.1.saturating_add(1);
        entry.1 <= self.max
    }

    /// Counts one event for `key` unless it is blocked already; false when it is.
    pub fn take(&self, key: &K) -> bool {
        !self.is_blocked(key) && self.record(key)
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;

    #[test]
    fn blocks_after_the_limit_and_only_that_key() {
        let limiter = RateLimit::new(3, Duration::from_secs(60));
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        for _ in 0..2 {
            assert!(limiter.record(&a));
        }
        assert!(!limiter.is_blocked(&a));
        assert!(limiter.record(&a), "the third is within a limit of three");
        assert!(limiter.is_blocked(&a));
        assert!(!limiter.is_blocked(&b));
        assert!(!limiter.record(&a));
    }

    #[test]
    fn take_counts_until_the_limit_then_refuses() {
        let limiter = RateLimit::new(2, Duration::from_secs(60));
        let account = "pat@example.com".to_owned();
        assert!(limiter.take(&account));
        assert!(limiter.take(&account));
        assert!(!limiter.take(&account));
        assert!(limiter.take(&"sam@example.com".to_owned()));
    }

    #[test]
    fn a_new_window_starts_fresh() {
        let limiter = RateLimit::new(1, Duration::from_millis(20));
        let a: IpAddr = "::1".parse().unwrap();
        limiter.record(&a);
        assert!(limiter.is_blocked(&a));
        std::thread::sleep(Duration::from_millis(30));
        assert!(!limiter.is_blocked(&a));
    }
}
