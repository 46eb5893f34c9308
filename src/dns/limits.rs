//! Load limits: a per-resolver query rate (governor), and in-flight caps (global and per
//! resolver) so a slow resolver cannot make the engine queue unbounded work.
//!
//! ```text
//! RFC 8906 §4 (operators' view): resolvers and authoritative servers rate-limit clients;
//! a bulk scanner must stay under the rate its resolvers accept.
//! ```

use std::num::NonZeroU32;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::Semaphore;

/// Burst allowed by the per-resolver limiter: 10 ms worth of queries (at least one), so that
/// in any one-second window at most `qps + qps/100` queries leave, while tokio's millisecond
/// timers still let the limiter reach its rate.
pub fn burst_for(qps: NonZeroU32) -> NonZeroU32 {
    NonZeroU32::new((qps.get() / 100).max(1)).unwrap_or(NonZeroU32::MIN)
}

/// The limits that apply to one resolver.
pub struct ResolverLimits {
    /// Queries per second, if limited (`--qps-per-resolver`).
    rate: Option<DefaultDirectRateLimiter>,
    /// Queries awaiting a reply from this resolver.
    pub in_flight: Semaphore,
}

impl ResolverLimits {
    /// Limits for a resolver allowed `qps` queries a second and `in_flight` outstanding queries.
    pub fn new(qps: Option<NonZeroU32>, in_flight: usize) -> ResolverLimits {
        ResolverLimits {
            rate: qps.map(|q| RateLimiter::direct(Quota::per_second(q).allow_burst(burst_for(q)))),
            in_flight: Semaphore::new(in_flight.max(1)),
        }
    }

    /// Waits until the rate limit lets one more query go to this resolver.
    pub async fn until_ready(&self) {
        if let Some(rate) = &self.rate {
            rate.until_ready().await;
        }
    }

    /// Outstanding queries right now (for stats).
    pub fn in_flight_now(&self, cap: usize) -> usize {
        cap.max(1)
            .saturating_sub(self.in_flight.available_permits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_is_a_hundredth_of_the_rate_but_at_least_one() {
        assert_eq!(burst_for(NonZeroU32::new(50).unwrap()).get(), 1);
        assert_eq!(burst_for(NonZeroU32::new(1000).unwrap()).get(), 10);
        assert_eq!(burst_for(NonZeroU32::new(250_000).unwrap()).get(), 2500);
    }

    #[test]
    fn in_flight_cap_counts_taken_permits() {
        let l = ResolverLimits::new(None, 3);
        let _a = l.in_flight.try_acquire().unwrap();
        let _b = l.in_flight.try_acquire().unwrap();
        assert_eq!(l.in_flight_now(3), 2);
        let _c = l.in_flight.try_acquire().unwrap();
        assert!(l.in_flight.try_acquire().is_err());
    }
}
