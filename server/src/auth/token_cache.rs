//! Recently verified access tokens, so a client's burst of API calls costs one database
//! lookup every few seconds instead of one per call: on the by-name benchmark each lookup
//! was a fifth of the request's CPU, most of it handing the statement to the database
//! thread and back.
//!
//! An entry lasts `TTL` at most, never past the token's own expiry, and only while the
//! store's data version (the change bus, see `store::changes`) stays where it was when the
//! database answered. Revoking a token, deactivating its owner or changing their groups
//! commits an audit event, which moves that version in this process at once and in every
//! other process as soon as its watcher hears of it (PostgreSQL `NOTIFY`, SQLite's
//! `data_version`): every server then asks the database again on the next call. While a
//! watcher is blind (not live) nothing is cached at all. Only tokens that verified are
//! kept, so invalid guesses cannot fill it.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use domain::Actor;

/// How long a verified token is trusted without asking the database again.
pub const TTL: Duration = Duration::from_secs(5);
/// Entries kept at most; when full, the cache starts over.
const CAPACITY: usize = 10_000;

/// What a lookup saw before it asked the database: the cache's generation and the store's
/// data version.
#[derive(Debug, Clone, Copy)]
pub struct Seen {
    pub generation: u64,
    pub version: u64,
}

#[derive(Default)]
pub struct TokenCache {
    /// Token hash → who it is, until when that holds and at which data version the
    /// database said so; and how many times the cache was forgotten, under the same lock.
    entries: Mutex<Entries>,
}

struct Entry {
    actor: Actor,
    until: Instant,
    version: u64,
}

#[derive(Default)]
struct Entries {
    tokens: HashMap<String, Entry>,
    generation: u64,
}

impl TokenCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The token's holder, while the entry is fresh and nothing changed since (`version`
    /// is the store's data version now).
    pub fn get(&self, token_hash: &str, now: Instant, version: u64) -> Option<Actor> {
        self.lock()
            .tokens
            .get(token_hash)
            .filter(|entry| now < entry.until && entry.version == version)
            .map(|entry| entry.actor.clone())
    }

    /// Which forgetting the cache is at: read before asking the database, handed back to
    /// `insert`.
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Trusts the token until `until` (at most `TTL` from `now`) and while the data
    /// version stays `version` (read before asking the database), unless the cache was
    /// forgotten since `generation` was read: a revocation may have landed after the
    /// database answered, and that answer must not outlive it.
    pub fn insert(
        &self,
        token_hash: String,
        actor: Actor,
        seen: Seen,
        now: Instant,
        until: Instant,
    ) {
        let until = until.min(now + TTL);
        if until <= now {
            return;
        }
        let mut entries = self.lock();
        if entries.generation != seen.generation {
            return;
        }
        if entries.tokens.len() >= CAPACITY {
            entries.tokens.retain(|_, entry| now < entry.until);
            if entries.tokens.len() >= CAPACITY {
                entries.tokens.clear();
            }
        }
        let version = seen.version;
        entries.tokens.insert(
            token_hash,
            Entry {
                actor,
                until,
                version,
            },
        );
    }

    /// Forgets every token (after a revocation), including answers still on their way.
    pub fn clear(&self) {
        let mut entries = self.lock();
        entries.tokens.clear();
        entries.generation += 1;
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().tokens.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(generation: u64) -> Seen {
        Seen {
            generation,
            version: 0,
        }
    }

    fn actor(email: &str) -> Actor {
        Actor {
            user_id: 1,
            email: email.into(),
            name: email.into(),
            groups: vec!["payments".into()],
            admin: false,
            teams: Vec::new(),
            scopes: domain::Scopes::ALL,
        }
    }

    #[test]
    fn a_token_is_trusted_for_the_ttl_and_no_longer() {
        let cache = TokenCache::default();
        let now = Instant::now();
        cache.insert(
            "h".into(),
            actor("a@x"),
            seen(0),
            now,
            now + Duration::from_secs(3600),
        );
        assert_eq!(cache.get("h", now, 0).map(|a| a.email), Some("a@x".into()));
        assert!(
            cache
                .get("h", now + TTL - Duration::from_millis(1), 0)
                .is_some()
        );
        assert!(cache.get("h", now + TTL, 0).is_none());
        assert!(cache.get("other", now, 0).is_none());
    }

    #[test]
    fn never_past_the_tokens_own_expiry() {
        let cache = TokenCache::default();
        let now = Instant::now();
        let expiry = now + Duration::from_secs(1);
        cache.insert("h".into(), actor("a@x"), seen(0), now, expiry);
        assert!(
            cache
                .get("h", expiry - Duration::from_millis(1), 0)
                .is_some()
        );
        assert!(cache.get("h", expiry, 0).is_none());
        // Already expired: not kept at all.
        cache.insert("old".into(), actor("b@x"), seen(0), now, now);
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn clearing_forgets_everyone() {
        let cache = TokenCache::default();
        let now = Instant::now();
        cache.insert("h".into(), actor("a@x"), seen(0), now, now + TTL);
        cache.clear();
        assert!(cache.get("h", now, 0).is_none());
    }

    #[test]
    fn a_full_cache_drops_stale_entries_first_then_starts_over() {
        let cache = TokenCache::default();
        let now = Instant::now();
        let short = now + Duration::from_millis(10);
        for i in 0..CAPACITY {
            cache.insert(format!("{i}"), actor("a@x"), seen(0), now, short);
        }
        let later = short + Duration::from_millis(1);
        cache.insert("fresh".into(), actor("b@x"), seen(0), later, later + TTL);
        assert_eq!(cache.len(), 1, "stale entries dropped");
        for i in 1..CAPACITY {
            cache.insert(format!("{i}"), actor("a@x"), seen(0), later, later + TTL);
        }
        cache.insert("one more".into(), actor("c@x"), seen(0), later, later + TTL);
        assert_eq!(cache.len(), 1, "started over when all were live");
        assert!(cache.get("one more", later, 0).is_some());
    }

    #[test]
    fn an_answer_older_than_a_revocation_is_not_kept() {
        let cache = TokenCache::default();
        let now = Instant::now();
        // A lookup reads the generation, then asks the database, which still says valid...
        let generation = cache.generation();
        // ... while the token is revoked and the cache forgotten ...
        cache.clear();
        // ... so the older answer is dropped, not trusted for the next five seconds.
        cache.insert("h".into(), actor("a@x"), seen(generation), now, now + TTL);
        assert!(cache.get("h", now, 0).is_none());
        // A lookup that starts after the revocation is kept as usual.
        cache.insert(
            "h".into(),
            actor("a@x"),
            seen(cache.generation()),
            now,
            now + TTL,
        );
        assert!(cache.get("h", now, 0).is_some());
    }

    #[test]
    fn a_change_anywhere_forgets_what_was_verified_before_it() {
        let cache = TokenCache::default();
        let now = Instant::now();
        cache.insert("h".into(), actor("a@x"), seen(0), now, now + TTL);
        assert!(cache.get("h", now, 0).is_some());
        // A revocation or deactivation, here or in another process, moved the version.
        assert!(cache.get("h", now, 1).is_none());
    }
}
