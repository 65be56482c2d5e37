//! The retry policy of the cluster backend: which failures are retried, and after how long.
//!
//! A pure function of the attempt number, what went wrong and the server's `Retry-After`, so it is
//! tested without a cluster. Only transient failures are retried: 429 (too many requests, honouring
//! `Retry-After`), 5xx server errors (but not 501), dropped or reset connections and timeouts.
//! Semantic 4xx answers (invalid, forbidden, conflict, not found, quota) are never retried: trying
//! again would give the same answer.

use std::time::Duration;

/// What one attempt of a request ended with, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The server answered with this HTTP status (an error status: 4xx or 5xx).
    Status(u16),
    /// The connection failed: refused, reset, dropped mid-response.
    Connection,
    /// The request took longer than the request timeout.
    Timeout,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Wait this long, then try again.
    Retry(Duration),
    /// The failure is transient but the attempts are used up: report the cluster unavailable.
    Exhausted,
    /// The failure is an answer, not an accident: report it at once.
    Fail,
}

/// How a cluster backend retries transient failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (default 6). `1` disables retries.
    pub max_attempts: u32,
    /// The delay before the second attempt; it doubles at each attempt (default 200 ms).
    pub base_delay: Duration,
    /// The longest computed delay between two attempts (default 10 s).
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured; a larger one is cut to this (default 60 s).
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_attempts: 6, base_delay: Duration::from_millis(200), max_delay: Duration::from_secs(10), max_retry_after: Duration::from_secs(60) }
    }
}

impl RetryPolicy {
    /// No retries at all: every failure is reported at once.
    pub fn never() -> Self {
        RetryPolicy { max_attempts: 1, ..RetryPolicy::default() }
    }

    /// Whether an outcome is transient (worth another attempt).
    pub fn is_transient(outcome: Outcome) -> bool {
        match outcome {
            Outcome::Connection | Outcome::Timeout => true,
            // 408 Request Timeout, 429 Too Many Requests; 5xx except 501 Not Implemented
            // (and 505 HTTP Version Not Supported), which will not change by themselves.
            Outcome::Status(code) => code == 408 || code == 429 || ((500..600).contains(&code) && code != 501 && code != 505),
        }
    }

    /// Decides what to do after attempt number `attempt` (1 for the first) failed with `outcome`.
    ///
    /// `retry_after` is the server's `Retry-After` (header, or `details.retryAfterSeconds` of the
    /// Status); it is honoured as a minimum wait. `jitter` in `[0, 1]` spreads the computed backoff
    /// over `[50 %, 100 %]` of its value, so that many clients failing together do not come back
    /// together (callers pass a random number; tests pass a fixed one).
    pub fn decide(&self, attempt: u32, outcome: Outcome, retry_after: Option<Duration>, jitter: f64) -> Decision {
        if !Self::is_transient(outcome) {
            return Decision::Fail;
        }
        if attempt >= self.max_attempts {
            return Decision::Exhausted;
        }
        Decision::Retry(self.delay(attempt, retry_after, jitter))
    }

    /// The wait after failed attempt number `attempt` (exponential, capped, with jitter; at least
    /// the server's `Retry-After`, itself capped by `max_retry_after`).
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
        let exponent = attempt.saturating_sub(1).min(30);
        let backoff = self.base_delay.saturating_mul(1u32 << exponent).min(self.max_delay);
        let jitter = if jitter.is_finite() { jitter.clamp(0.0, 1.0) } else { 1.0 };
        let backoff = backoff.mul_f64(0.5 + jitter / 2.0);
        match retry_after {
            Some(server) => backoff.max(server.min(self.max_retry_after)),
            None => backoff,
        }
    }
}

/// Parses an HTTP `Retry-After` value given in seconds (the form the API server uses).
/// HTTP dates are not supported and give `None` (the computed backoff applies).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// A small, fast pseudo-random source for jitter (not for anything secret).
#[derive(Debug)]
pub(crate) struct Jitter(std::sync::atomic::AtomicU64);

impl Jitter {
    /// Seeded from the clock.
    pub(crate) fn new() -> Self {
        let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0x9E37_79B9_7F4A_7C15);
        Jitter(std::sync::atomic::AtomicU64::new(seed))
    }

    /// The next number in `[0, 1)` (splitmix64).
    pub(crate) fn next(&self) -> f64 {
        let mut z = self.0.fetch_add(0x9E37_79B9_7F4A_7C15, std::sync::atomic::Ordering::Relaxed).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn semantic_client_errors_are_never_retried() {
        let p = RetryPolicy::default();
        for code in [400, 401, 403, 404, 405, 409, 410, 415, 422] {
            assert_eq!(p.decide(1, Outcome::Status(code), None, 0.5), Decision::Fail, "HTTP {code}");
            // not even with a Retry-After
            assert_eq!(p.decide(1, Outcome::Status(code), Some(MS(1000)), 0.5), Decision::Fail, "HTTP {code}");
        }
        assert_eq!(p.decide(1, Outcome::Status(501), None, 0.5), Decision::Fail);
    }

    #[test]
    fn transient_failures_are_retried() {
        let p = RetryPolicy::default();
        for outcome in [
            Outcome::Status(429),
            Outcome::Status(500),
            Outcome::Status(502),
            Outcome::Status(503),
            Outcome::Status(504),
            Outcome::Status(408),
            Outcome::Connection,
            Outcome::Timeout,
        ] {
            assert!(matches!(p.decide(1, outcome, None, 0.5), Decision::Retry(_)), "{outcome:?}");
        }
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = RetryPolicy::default();
        // jitter 1.0 = the full computed delay
        let delays: Vec<_> = (1..=8).map(|a| p.delay(a, None, 1.0)).collect();
        assert_eq!(delays[..6], [MS(200), MS(400), MS(800), MS(1600), MS(3200), MS(6400)]);
        assert_eq!(delays[6], Duration::from_secs(10));
        assert_eq!(delays[7], Duration::from_secs(10));
        // jitter 0.0 = half of it
        assert_eq!(p.delay(1, None, 0.0), MS(100));
        assert_eq!(p.delay(3, None, 0.0), MS(400));
        // nonsense jitter does not panic nor shrink the delay below half
        assert_eq!(p.delay(1, None, f64::NAN), MS(200));
        assert_eq!(p.delay(1, None, -3.0), MS(100));
        // huge attempt numbers do not overflow
        assert_eq!(p.delay(u32::MAX, None, 1.0), Duration::from_secs(10));
    }

    #[test]
    fn retry_after_is_honoured_as_a_minimum_and_capped() {
        let p = RetryPolicy::default();
        assert_eq!(p.decide(1, Outcome::Status(429), Some(Duration::from_secs(1)), 0.5), Decision::Retry(Duration::from_secs(1)));
        // a computed delay longer than Retry-After wins
        assert_eq!(p.delay(6, Some(Duration::from_secs(1)), 1.0), MS(6400));
        // an absurd Retry-After is cut
        assert_eq!(p.delay(1, Some(Duration::from_secs(86_400)), 0.5), Duration::from_secs(60));
        // Retry-After also applies to 503
        assert_eq!(p.decide(2, Outcome::Status(503), Some(Duration::from_secs(2)), 0.0), Decision::Retry(Duration::from_secs(2)));
    }

    #[test]
    fn attempts_run_out() {
        let p = RetryPolicy::default();
        assert!(matches!(p.decide(5, Outcome::Status(503), None, 0.5), Decision::Retry(_)));
        assert_eq!(p.decide(6, Outcome::Status(503), None, 0.5), Decision::Exhausted);
        assert_eq!(p.decide(7, Outcome::Connection, None, 0.5), Decision::Exhausted);
        // a permanent failure stays a failure, whatever the attempt
        assert_eq!(p.decide(6, Outcome::Status(422), None, 0.5), Decision::Fail);
        let never = RetryPolicy::never();
        assert_eq!(never.decide(1, Outcome::Status(429), Some(Duration::from_secs(1)), 0.5), Decision::Exhausted);
    }

    #[test]
    fn parses_retry_after_seconds() {
        assert_eq!(parse_retry_after("1"), Some(Duration::from_secs(1)));
        assert_eq!(parse_retry_after(" 30 "), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }

    #[test]
    fn jitter_stays_in_range() {
        let j = Jitter::new();
        for _ in 0..1000 {
            let x = j.next();
            assert!((0.0..1.0).contains(&x), "{x}");
        }
    }
}
