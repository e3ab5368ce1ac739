//! Temporary Access Pass lockout (ARCHITECTURE.md, "Security rules"): the
//! rules and the state machine of one attempt bucket, free of I/O so that
//! both stores apply exactly the same steps atomically (the embedded store
//! runs [`Bucket::apply`] in a write transaction; Redis runs the same steps
//! in one Lua script, checked against this code by the conformance suite).
//!
//! An attempt is *reserved* before its pass is hashed, so no more than a
//! bucket's limit of verifications ever happen in its window, however many
//! requests race. Three buckets guard every attempt, consulted in this order:
//!
//! 1. the client address (all names): 50 per window, growing lock;
//! 2. the user name from that address: 10 per window, growing lock;
//! 3. the user name from everywhere: 30 per window, a fixed lock that never
//!    grows, so that strangers (even from many addresses) keep a person out
//!    for at most the first lock period per window.
//!
//! A growing lock doubles per *lock* (not per failure) within 24 hours, up
//! to 24 hours. Attempts refused while locked are only counted; the lock's
//! audit story is one event when it starts and one when it is over.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// The limits of one kind of bucket. Times in milliseconds, like the
/// stored state, so the Redis script computes the very same numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// Verifications allowed per window.
    pub limit: u32,
    pub window_ms: i64,
    pub first_lock_ms: i64,
    /// The longest a growing lock lasts.
    pub max_lock_ms: i64,
    /// Whether each further lock (within `history_ms`) doubles the period.
    pub grows: bool,
    /// How long past locks count towards the next one's length.
    pub history_ms: i64,
}

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;

/// Failures count towards a lock within this window.
pub const WINDOW: Duration = Duration::minutes(15);
pub const FIRST_LOCK: Duration = Duration::minutes(5);

/// Every attempt from one client address, whatever the name.
pub const ADDRESS: Rules = Rules {
    limit: 50,
    window_ms: 15 * MINUTE_MS,
    first_lock_ms: 5 * MINUTE_MS,
    max_lock_ms: 24 * HOUR_MS,
    grows: true,
    history_ms: 24 * HOUR_MS,
};

/// One user name from one client address.
pub const NAME_FROM_ADDRESS: Rules = Rules {
    limit: 10,
    ..ADDRESS
};

/// One user name from all addresses together: a fixed lock.
pub const NAME: Rules = Rules {
    limit: 30,
    grows: false,
    ..ADDRESS
};

/// After an administrator clears a name, its bucket (holding the new
/// generation of its per-address buckets) is kept at least this long, so
/// that no per-address bucket of an older generation can come back.
pub const GENERATION_KEEP: Duration = Duration::hours(48);

/// The state of one bucket. Field names are short: Redis keeps them as the
/// fields of a hash.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    /// Reservations in the current window.
    pub n: u32,
    /// End of the current window (ms; 0 = none).
    pub we: i64,
    /// Locked until (ms; 0 = not locked).
    pub lu: i64,
    /// Attempts refused during the current lock.
    pub rf: u32,
    /// Locks so far, for the growing period.
    pub lk: u32,
    /// When `lk` is forgotten (ms).
    pub lku: i64,
    /// Generation of the per-address buckets of a name (bumped on clear).
    pub g: u64,
    /// Keep the record at least until then (ms).
    pub ku: i64,
}

/// What to do to a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Reserve one verification, or refuse it.
    Reserve(Rules),
    /// Give back one reservation (the attempt succeeded).
    Release,
    /// Forget everything (an administrator cleared the lock, or a new pass
    /// was issued) and move on to a new generation of per-address buckets.
    Clear { keep_ms: i64 },
}

/// The answer to [`Op::Reserve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Granted,
    /// Locked until `until_ms`; `new_lock` for the one attempt that started it.
    Refused {
        until_ms: i64,
        new_lock: bool,
    },
}

/// A lock that was over (or cleared) when the bucket was next touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndedLock {
    pub until_ms: i64,
    /// Attempts refused while it held.
    pub refused: u32,
}

/// What [`Bucket::apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// For `Reserve`; `Granted` for the other operations.
    pub verdict: Verdict,
    pub ended: Option<EndedLock>,
    /// The bucket's generation after the operation.
    pub generation: u64,
}

impl Rules {
    /// The length of the `nth` lock (1-based).
    pub fn lock_ms(&self, nth: u32) -> i64 {
        if !self.grows {
            return self.first_lock_ms;
        }
        let doublings = nth.saturating_sub(1).min(20);
        self.first_lock_ms
            .saturating_mul(1i64 << doublings)
            .min(self.max_lock_ms)
    }
}

impl Bucket {
    /// Applies `op` at `now_ms`. The stores run this atomically.
    pub fn apply(&mut self, op: Op, now_ms: i64) -> Applied {
        let mut ended = None;
        if self.lu != 0 && self.lu <= now_ms {
            ended = Some(EndedLock {
                until_ms: self.lu,
                refused: self.rf,
            });
            self.lu = 0;
            self.rf = 0;
            self.n = 0;
            self.we = 0;
        }
        let verdict = match op {
            Op::Reserve(rules) => self.reserve(rules, now_ms),
            Op::Release => {
                self.n = self.n.saturating_sub(1);
                Verdict::Granted
            }
            Op::Clear { keep_ms } => {
                if self.lu > now_ms {
                    ended = Some(EndedLock {
                        until_ms: self.lu,
                        refused: self.rf,
                    });
                }
                *self = Bucket {
                    g: self.g.wrapping_add(1),
                    ku: now_ms.saturating_add(keep_ms),
                    ..Bucket::default()
                };
                Verdict::Granted
            }
        };
        Applied {
            verdict,
            ended,
            generation: self.g,
        }
    }

    fn reserve(&mut self, rules: Rules, now_ms: i64) -> Verdict {
        if self.lu > now_ms {
            self.rf = self.rf.saturating_add(1);
            return Verdict::Refused {
                until_ms: self.lu,
                new_lock: false,
            };
        }
        if self.we <= now_ms {
            self.n = 0;
            self.we = now_ms.saturating_add(rules.window_ms);
        }
        if self.n < rules.limit {
            self.n += 1;
            return Verdict::Granted;
        }
        if self.lku <= now_ms {
            self.lk = 0;
        }
        self.lk = self.lk.saturating_add(1);
        self.lku = now_ms.saturating_add(rules.history_ms);
        self.lu = now_ms.saturating_add(rules.lock_ms(self.lk));
        self.rf = 1;
        self.n = 0;
        self.we = 0;
        Verdict::Refused {
            until_ms: self.lu,
            new_lock: true,
        }
    }

    /// Until when the record matters (ms); a store may drop it after that.
    pub fn keep_until_ms(&self) -> i64 {
        self.we.max(self.lu).max(self.lku).max(self.ku)
    }

    /// The lock holding at `now_ms`, if any.
    pub fn locked_until_ms(&self, now_ms: i64) -> Option<i64> {
        (self.lu > now_ms).then_some(self.lu)
    }
}

/// Milliseconds since the epoch.
pub fn ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The time `ms` milliseconds after the epoch.
pub fn time_of(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Store ids of the three buckets of an attempt. `name` is the normalised
/// user name; `generation` comes from the name's bucket.
pub fn address_id(address: &str) -> String {
    format!("a:{address}")
}

pub fn name_id(name: &str) -> String {
    format!("n:{name}")
}

pub fn pair_id(name: &str, address: &str, generation: u64) -> String {
    // The name's length keeps "name:address" splits apart.
    format!("p:{generation}:{}:{name}:{address}", name.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_800_000_000_000;

    fn reserve(b: &mut Bucket, rules: Rules, now: i64) -> Verdict {
        b.apply(Op::Reserve(rules), now).verdict
    }

    #[test]
    fn the_limit_is_never_exceeded_and_one_attempt_starts_the_lock() {
        let mut b = Bucket::default();
        for _ in 0..10 {
            assert_eq!(reserve(&mut b, NAME_FROM_ADDRESS, T0), Verdict::Granted);
        }
        assert_eq!(
            reserve(&mut b, NAME_FROM_ADDRESS, T0),
            Verdict::Refused {
                until_ms: T0 + 5 * MINUTE_MS,
                new_lock: true
            }
        );
        for _ in 0..100 {
            assert!(matches!(
                reserve(&mut b, NAME_FROM_ADDRESS, T0 + 1),
                Verdict::Refused {
                    new_lock: false,
                    ..
                }
            ));
        }
        assert_eq!(b.rf, 101);
    }

    #[test]
    fn the_period_grows_per_lock_not_per_failure() {
        let mut b = Bucket::default();
        let mut now = T0;
        let mut periods = Vec::new();
        for _ in 0..4 {
            for _ in 0..10 {
                reserve(&mut b, NAME_FROM_ADDRESS, now);
            }
            // Many refused attempts during one lock do not lengthen it.
            let Verdict::Refused { until_ms, .. } = reserve(&mut b, NAME_FROM_ADDRESS, now) else {
                panic!("expected a lock");
            };
            for _ in 0..500 {
                reserve(&mut b, NAME_FROM_ADDRESS, now);
            }
            periods.push((until_ms - now) / MINUTE_MS);
            now = until_ms;
        }
        assert_eq!(periods, [5, 10, 20, 40]);
    }

    #[test]
    fn growth_is_capped_and_forgotten_after_a_day() {
        assert_eq!(ADDRESS.lock_ms(1), 5 * MINUTE_MS);
        assert_eq!(ADDRESS.lock_ms(9), 1280 * MINUTE_MS);
        assert_eq!(ADDRESS.lock_ms(10), 24 * HOUR_MS);
        assert_eq!(ADDRESS.lock_ms(u32::MAX), 24 * HOUR_MS);
        let mut b = Bucket {
            lk: 3,
            lku: T0 - 1,
            n: 10,
            we: T0 + 1,
            ..Bucket::default()
        };
        assert_eq!(
            reserve(&mut b, NAME_FROM_ADDRESS, T0),
            Verdict::Refused {
                until_ms: T0 + 5 * MINUTE_MS,
                new_lock: true
            }
        );
    }

    #[test]
    fn the_name_lock_never_grows() {
        let mut b = Bucket::default();
        let mut now = T0;
        for _ in 0..5 {
            for _ in 0..30 {
                assert_eq!(reserve(&mut b, NAME, now), Verdict::Granted);
            }
            let Verdict::Refused { until_ms, .. } = reserve(&mut b, NAME, now) else {
                panic!("expected a lock");
            };
            assert_eq!(until_ms - now, 5 * MINUTE_MS);
            now = until_ms;
        }
    }

    #[test]
    fn a_new_window_starts_after_the_old_one() {
        let mut b = Bucket::default();
        for _ in 0..9 {
            reserve(&mut b, NAME_FROM_ADDRESS, T0);
        }
        let later = T0 + 15 * MINUTE_MS;
        for _ in 0..10 {
            assert_eq!(reserve(&mut b, NAME_FROM_ADDRESS, later), Verdict::Granted);
        }
    }

    #[test]
    fn an_ended_lock_is_reported_once_with_its_refusals() {
        let mut b = Bucket::default();
        for _ in 0..11 {
            reserve(&mut b, NAME_FROM_ADDRESS, T0);
        }
        reserve(&mut b, NAME_FROM_ADDRESS, T0 + 1);
        let after = T0 + 5 * MINUTE_MS;
        let applied = b.apply(Op::Reserve(NAME_FROM_ADDRESS), after);
        assert_eq!(applied.verdict, Verdict::Granted);
        assert_eq!(
            applied.ended,
            Some(EndedLock {
                until_ms: after,
                refused: 2
            })
        );
        assert_eq!(b.apply(Op::Reserve(NAME_FROM_ADDRESS), after).ended, None);
    }

    #[test]
    fn release_gives_back_one_reservation() {
        let mut b = Bucket::default();
        for _ in 0..10 {
            reserve(&mut b, NAME_FROM_ADDRESS, T0);
        }
        b.apply(Op::Release, T0);
        assert_eq!(reserve(&mut b, NAME_FROM_ADDRESS, T0), Verdict::Granted);
        let mut empty = Bucket::default();
        empty.apply(Op::Release, T0);
        assert_eq!(empty.n, 0);
    }

    #[test]
    fn clearing_ends_the_lock_and_starts_a_new_generation() {
        let mut b = Bucket::default();
        for _ in 0..31 {
            reserve(&mut b, NAME, T0);
        }
        reserve(&mut b, NAME, T0);
        let applied = b.apply(
            Op::Clear {
                keep_ms: 48 * HOUR_MS,
            },
            T0 + 1,
        );
        assert_eq!(applied.generation, 1);
        assert_eq!(
            applied.ended,
            Some(EndedLock {
                until_ms: T0 + 5 * MINUTE_MS,
                refused: 2
            })
        );
        assert_eq!(b.keep_until_ms(), T0 + 1 + 48 * HOUR_MS);
        assert_eq!(reserve(&mut b, NAME, T0 + 2), Verdict::Granted);
        // Clearing a bucket that holds no lock reports none.
        assert_eq!(b.apply(Op::Clear { keep_ms: 0 }, T0 + 3).ended, None);
    }

    #[test]
    fn ids_keep_generations_and_parts_apart() {
        assert_ne!(pair_id("a", "b", 0), pair_id("a", "b", 1));
        assert_ne!(pair_id("x:1", "2", 0), pair_id("x", "1:2", 0));
        assert_ne!(name_id("x"), address_id("x"));
        assert_eq!(time_of(ms(time_of(T0))), time_of(T0));
    }
}
