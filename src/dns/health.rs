//! Resolver health: a resolver that fails again and again (timeouts, SERVFAIL, REFUSED) is
//! backed off for a while, doubling each time, and then let back in by a single probe query;
//! the other resolvers carry the load meanwhile. Time is passed in, so this is deterministic.
//!
//! ```text
//! RFC 1035 §7.2: "the resolver should [...] keep a history of [...] servers" and prefer the
//! ones that answer; RFC 9520 §3: a failing server is not to be queried again at once.
//! ```

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// When to give up on a resolver for a while.
#[derive(Debug, Clone, Copy)]
pub struct HealthConfig {
    /// Consecutive failures that put a resolver into backoff.
    pub failures_to_back_off: u32,
    /// First backoff period; doubled on each failed probe.
    pub backoff_min: Duration,
    /// Longest backoff period.
    pub backoff_max: Duration,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            failures_to_back_off: 8,
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
        }
    }
}

/// May a query go to this resolver now?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    /// Healthy: use it.
    Usable,
    /// Backoff expired and this caller holds the single probe: use it, and report the result.
    Probe,
    /// Backed off until the given instant (or a probe is already out).
    BackedOff(Instant),
}

#[derive(Debug)]
struct Backoff {
    until: Instant,
    period: Duration,
}

/// Health of one resolver. Success and the common "healthy" check are lock-free.
#[derive(Debug)]
pub struct Health {
    config: HealthConfig,
    consecutive_failures: AtomicU32,
    backed_off: AtomicBool,
    probe_out: AtomicBool,
    backoff: Mutex<Option<Backoff>>,
    /// How many times this resolver entered backoff (shown in stats).
    pub backoffs: AtomicU64,
}

impl Health {
    /// A healthy resolver.
    pub fn new(config: HealthConfig) -> Health {
        Health {
            config,
            consecutive_failures: AtomicU32::new(0),
            backed_off: AtomicBool::new(false),
            probe_out: AtomicBool::new(false),
            backoff: Mutex::new(None),
            backoffs: AtomicU64::new(0),
        }
    }

    /// Whether a query may go to this resolver at `now`. A `Probe` answer reserves the one
    /// probe; the caller must report its result with `success` or `failure`.
    pub fn check(&self, now: Instant) -> Availability {
        if !self.backed_off.load(Ordering::Relaxed) {
            return Availability::Usable;
        }
        let guard = self.backoff.lock().unwrap_or_else(|e| e.into_inner());
        let until = match &*guard {
            Some(b) => b.until,
            None => return Availability::Usable,
        };
        if now >= until
            && self
                .probe_out
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            return Availability::Probe;
        }
        Availability::BackedOff(until)
    }

    /// Whether the resolver is in backoff now (for stats).
    pub fn is_backed_off(&self) -> bool {
        self.backed_off.load(Ordering::Relaxed)
    }

    /// A reply that is an answer (NOERROR, NXDOMAIN): the resolver is healthy again.
    pub fn success(&self) {
        if self.consecutive_failures.load(Ordering::Relaxed) != 0 {
            self.consecutive_failures.store(0, Ordering::Relaxed);
        }
        if self.backed_off.load(Ordering::Relaxed) {
            let mut guard = self.backoff.lock().unwrap_or_else(|e| e.into_inner());
            *guard = None;
            self.backed_off.store(false, Ordering::Relaxed);
            self.probe_out.store(false, Ordering::Release);
        }
    }

    /// A timeout, SERVFAIL or REFUSED at `now`. Returns true when this failure started (or
    /// extended) a backoff.
    pub fn failure(&self, now: Instant) -> bool {
        let n = self.consecutive_failures.fetch_add(1, Ordering::Relaxed) + 1;
        let mut guard = self.backoff.lock().unwrap_or_else(|e| e.into_inner());
        match &mut *guard {
            Some(b) => {
                // Only a failed probe (backoff expired) extends it; stragglers sent before the
                // backoff began do not.
                if now < b.until || !self.probe_out.load(Ordering::Acquire) {
                    return false;
                }
                b.period = (b.period * 2).min(self.config.backoff_max);
                b.until = now + b.period;
                self.probe_out.store(false, Ordering::Release);
                self.backoffs.fetch_add(1, Ordering::Relaxed);
                true
            }
            None if n >= self.config.failures_to_back_off => {
                *guard = Some(Backoff {
                    until: now + self.config.backoff_min,
                    period: self.config.backoff_min,
                });
                self.backed_off.store(true, Ordering::Relaxed);
                self.backoffs.fetch_add(1, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> HealthConfig {
        HealthConfig {
            failures_to_back_off: 3,
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(4),
        }
    }

    #[test]
    fn repeated_failures_back_off_and_success_resets_the_count() {
        let h = Health::new(cfg());
        let t = Instant::now();
        h.failure(t);
        h.failure(t);
        h.success();
        h.failure(t);
        h.failure(t);
        assert_eq!(h.check(t), Availability::Usable);
        assert!(h.failure(t));
        assert_eq!(
            h.check(t),
            Availability::BackedOff(t + Duration::from_secs(1))
        );
        assert_eq!(h.backoffs.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn after_backoff_exactly_one_probe_goes_out() {
        let h = Health::new(cfg());
        let t = Instant::now();
        for _ in 0..3 {
            h.failure(t);
        }
        let later = t + Duration::from_secs(1);
        assert_eq!(h.check(later), Availability::Probe);
        assert!(matches!(h.check(later), Availability::BackedOff(_)));
        h.success();
        assert_eq!(h.check(later), Availability::Usable);
    }

    #[test]
    fn failed_probe_doubles_backoff_up_to_the_maximum() {
        let h = Health::new(cfg());
        let mut t = Instant::now();
        for _ in 0..3 {
            h.failure(t);
        }
        for expect in [2, 4, 4] {
            t += Duration::from_secs(10);
            assert_eq!(h.check(t), Availability::Probe);
            assert!(h.failure(t));
            assert_eq!(
                h.check(t),
                Availability::BackedOff(t + Duration::from_secs(expect))
            );
        }
    }

    #[test]
    fn stragglers_failing_during_backoff_do_not_extend_it() {
        let h = Health::new(cfg());
        let t = Instant::now();
        for _ in 0..3 {
            h.failure(t);
        }
        assert!(!h.failure(t + Duration::from_millis(10)));
        assert_eq!(
            h.check(t),
            Availability::BackedOff(t + Duration::from_secs(1))
        );
    }
}
