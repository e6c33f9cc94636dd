//! Slows down guessing: too many failed token or sign-in attempts from one address within
//! a window get 429 until the window passes. Successful attempts are not counted.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

pub struct FailureLimiter {
    max_failures: u32,
    window: Duration,
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl FailureLimiter {
    pub fn new(max_failures: u32, window: Duration) -> Self {
        Self {
            max_failures,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Whether this address used up its failures for the current window.
    pub fn is_blocked(&self, addr: IpAddr) -> bool {
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        failures.get(&addr).is_some_and(|(start, count)| {
            start.elapsed() < self.window && *count >= self.max_failures
        })
    }

    pub fn record_failure(&self, addr: IpAddr) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        // Forget finished windows so the map cannot grow without bound.
        if failures.len() > 10_000 {
            failures.retain(|_, (start, _)| start.elapsed() < self.window);
        }
        let entry = failures.entry(addr).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= self.window {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_and_only_that_address() {
        let limiter = FailureLimiter::new(3, Duration::from_secs(60));
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        for _ in 0..2 {
            limiter.record_failure(a);
        }
        assert!(!limiter.is_blocked(a));
        limiter.record_failure(a);
        assert!(limiter.is_blocked(a));
        assert!(!limiter.is_blocked(b));
    }

    #[test]
    fn a_new_window_starts_fresh() {
        let limiter = FailureLimiter::new(1, Duration::from_millis(20));
        let a: IpAddr = "::1".parse().unwrap();
        limiter.record_failure(a);
        assert!(limiter.is_blocked(a));
        std::thread::sleep(Duration::from_millis(30));
        assert!(!limiter.is_blocked(a));
    }
}
