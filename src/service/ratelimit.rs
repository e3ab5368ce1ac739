//! Per-client token buckets for the token endpoint, in process memory
//! (each instance limits its own share; no store round trip per request).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use time::OffsetDateTime;

const SHARDS: usize = 16;

struct Bucket {
    tokens: f64,
    last: OffsetDateTime,
}

pub struct RateLimiter {
    /// Requests per second; 0 turns limiting off.
    rate: f64,
    burst: f64,
    shards: [Mutex<HashMap<String, Bucket>>; SHARDS],
}

impl RateLimiter {
    pub fn new(per_second: u32) -> Self {
        let rate = f64::from(per_second);
        Self {
            rate,
            burst: rate * 2.0,
            shards: std::array::from_fn(|_| Mutex::new(HashMap::new())),
        }
    }

    /// Takes one token for `key`; false when the bucket is empty.
    pub fn allow(&self, key: &str, now: OffsetDateTime) -> bool {
        if self.rate <= 0.0 {
            return true;
        }
        let shard = key.bytes().fold(0usize, |h, b| {
            h.wrapping_mul(31).wrapping_add(usize::from(b))
        }) % SHARDS;
        let mut map = self.shards[shard]
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(bucket) = map.get_mut(key) {
            let elapsed = (now - bucket.last).as_seconds_f64().max(0.0);
            bucket.tokens = (bucket.tokens + elapsed * self.rate).min(self.burst);
            bucket.last = now;
            if bucket.tokens >= 1.0 {
                bucket.tokens -= 1.0;
                return true;
            }
            return false;
        }
        map.insert(
            key.to_owned(),
            Bucket {
                tokens: self.burst - 1.0,
                last: now,
            },
        );
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    #[test]
    fn bucket_allows_burst_then_rate() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let limiter = RateLimiter::new(2);
        let allowed = (0..10).filter(|_| limiter.allow("c", t0)).count();
        assert_eq!(allowed, 4, "burst is twice the rate");
        assert!(!limiter.allow("c", t0));
        assert!(limiter.allow("other", t0), "buckets are per client");
        assert!(
            limiter.allow("c", t0 + Duration::milliseconds(500)),
            "refills at the rate"
        );
        assert!(!limiter.allow("c", t0 + Duration::milliseconds(500)));
        assert!(RateLimiter::new(0).allow("c", t0), "0 turns it off");
    }
}
