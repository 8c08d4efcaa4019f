//! Login throttling: token buckets of failed logins, one per user and one per client address
//! (10 failures a minute each, refilled continuously); an empty bucket answers 429 with
//! `Retry-After` before any password is hashed. Only failures take tokens. So that strangers'
//! failures cannot lock a user out, a user's own bucket does not apply from an address they
//! logged in from within the last day (that address's own bucket still does).

use crate::error::ApiError;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed logins allowed in a burst, per user and per address; as many come back each minute.
pub const FAILURES_PER_MINUTE: u32 = 10;
/// How long a successful login from an address exempts it from its user's bucket.
const KNOWN_ADDRESS_FOR: Duration = Duration::from_secs(24 * 3600);
/// Past this many entries, a map forgets what no longer matters (full buckets, old addresses).
const PRUNE_AT: usize = 10_000;

/// Who a bucket counts the failures of.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Subject {
    /// A user by id, or the name given when no user has it.
    User(String),
    Address(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(now: Instant) -> Self {
        Bucket { tokens: f64::from(FAILURES_PER_MINUTE), at: now }
    }

    fn refilled(self, now: Instant) -> Self {
        let rate = f64::from(FAILURES_PER_MINUTE) / 60.0;
        let tokens = (self.tokens + now.duration_since(self.at).as_secs_f64() * rate).min(f64::from(FAILURES_PER_MINUTE));
        Bucket { tokens, at: now }
    }

    /// How long until one failure is allowed again (zero: now).
    fn wait(self) -> Duration {
        let rate = f64::from(FAILURES_PER_MINUTE) / 60.0;
        Duration::from_secs_f64(((1.0 - self.tokens) / rate).max(0.0))
    }
}

#[derive(Debug, Default)]
struct State {
    buckets: HashMap<Subject, Bucket>,
    known: HashMap<(String, IpAddr), Instant>,
}

impl State {
    /// The buckets a login of `user` from `address` answers to: the address's, and the user's
    /// unless they logged in from there within the last day.
    fn subjects(&self, user: &str, address: IpAddr, now: Instant) -> Vec<Subject> {
        let known = self.known.get(&(user.to_owned(), address)).is_some_and(|at| now.duration_since(*at) < KNOWN_ADDRESS_FOR);
        let mut subjects = vec![Subject::Address(address)];
        if !known {
            subjects.push(Subject::User(user.to_owned()));
        }
        subjects
    }
}

/// One server's login throttle.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    state: Mutex<State>,
}

impl LoginThrottle {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `user` (an id, or the name given) may try to log in from `address` now.
    pub fn check(&self, user: &str, address: IpAddr) -> Result<(), ApiError> {
        let now = Instant::now();
        let state = self.state();
        let wait = state
            .subjects(user, address, now)
            .iter()
            .filter_map(|s| state.buckets.get(s))
            .map(|b| b.refilled(now).wait())
            .max()
            .unwrap_or_default();
        if wait.is_zero() {
            return Ok(());
        }
        let retry_after = wait.as_secs_f64().ceil() as u64;
        Err(ApiError::TooManyRequests {
            message: format!(
                "too many failed logins (at most {FAILURES_PER_MINUTE} a minute per user and per address): retry in {retry_after} s"
            ),
            retry_after,
        })
    }

    /// Counts a failed login of `user` from `address`.
    pub fn failed(&self, user: &str, address: IpAddr) {
        let now = Instant::now();
        let mut state = self.state();
        for subject in state.subjects(user, address, now) {
            let bucket = state.buckets.get(&subject).map_or_else(|| Bucket::full(now), |b| b.refilled(now));
            state.buckets.insert(subject, Bucket { tokens: (bucket.tokens - 1.0).max(0.0), ..bucket });
        }
        if state.buckets.len() > PRUNE_AT {
            state.buckets.retain(|_, b| b.refilled(now).tokens < f64::from(FAILURES_PER_MINUTE));
        }
    }

    /// Remembers that `user` logged in from `address`.
    pub fn succeeded(&self, user: &str, address: IpAddr) {
        let now = Instant::now();
        let mut state = self.state();
        state.known.insert((user.to_owned(), address), now);
        if state.known.len() > PRUNE_AT {
            state.known.retain(|_, at| now.duration_since(*at) < KNOWN_ADDRESS_FOR);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn failures_empty_the_buckets_of_the_user_and_the_address() {
        let throttle = LoginThrottle::default();
        throttle.succeeded("alice", addr(9));
        for _ in 0..FAILURES_PER_MINUTE {
            throttle.check("alice", addr(1)).unwrap();
            throttle.failed("alice", addr(1));
        }
        let refused = throttle.check("alice", addr(1)).unwrap_err();
        assert!(matches!(refused, ApiError::TooManyRequests { retry_after: 6, .. }), "{refused:?}");
        // The address is spent for everyone; alice is spent from strangers' addresses...
        assert!(throttle.check("bob", addr(1)).is_err());
        assert!(throttle.check("alice", addr(2)).is_err());
        // ...but not from where she logged in before; others elsewhere are untouched.
        throttle.check("alice", addr(9)).unwrap();
        throttle.check("bob", addr(2)).unwrap();
        // Failures from an address a user logged in from spend that address only, not the user.
        throttle.succeeded("carol", addr(7));
        for _ in 0..FAILURES_PER_MINUTE {
            throttle.failed("carol", addr(7));
        }
        assert!(throttle.check("carol", addr(7)).is_err());
        throttle.check("carol", addr(8)).unwrap();
    }

    #[test]
    fn buckets_refill_continuously() {
        let now = Instant::now();
        let empty = Bucket { tokens: 0.0, at: now };
        assert_eq!(empty.wait(), Duration::from_secs(6));
        let later = empty.refilled(now + Duration::from_secs(3));
        assert!((later.tokens - 0.5).abs() < 1e-9);
        assert!(empty.refilled(now + Duration::from_secs(600)).tokens <= f64::from(FAILURES_PER_MINUTE));
        assert!(empty.refilled(now + Duration::from_secs(6)).wait().is_zero());
    }
}
