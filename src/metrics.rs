//! Prometheus metrics, kept in atomics (no lock on the request path once a
//! series exists) and rendered in the text exposition format.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, RwLock};
use std::time::Duration;

/// Latency bucket upper bounds, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(
            u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }
}

type Counters = RwLock<HashMap<(String, String), Arc<AtomicU64>>>;

#[derive(Default)]
struct Endpoint {
    latency: Histogram,
    by_status: RwLock<HashMap<u16, AtomicU64>>,
}

impl Endpoint {
    fn record(&self, status: u16, elapsed: Duration) {
        self.latency.observe(elapsed);
        if let Ok(read) = self.by_status.read()
            && let Some(c) = read.get(&status)
        {
            c.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if let Ok(mut write) = self.by_status.write() {
            write
                .entry(status)
                .or_default()
                .fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[derive(Default)]
pub struct Metrics {
    /// endpoint pattern → latency histogram and counts by status
    endpoints: RwLock<HashMap<String, Arc<Endpoint>>>,
    /// (method, outcome) → count
    signins: Counters,
    tap_failures: AtomicU64,
    tap_lockouts: AtomicU64,
    store_errors: AtomicU64,
    redis_round_trips: AtomicU64,
}

pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::default);

fn bump(map: &Counters, a: &str, b: &str) {
    if let Ok(read) = map.read()
        && let Some(c) = read.get(&(a.to_owned(), b.to_owned()))
    {
        c.fetch_add(1, Ordering::Relaxed);
        return;
    }
    if let Ok(mut write) = map.write() {
        write
            .entry((a.to_owned(), b.to_owned()))
            .or_default()
            .fetch_add(1, Ordering::Relaxed);
    }
}

impl Metrics {
    /// Records one request; allocation-free once the endpoint was seen.
    pub fn request(&self, endpoint: &str, status: u16, elapsed: Duration) {
        if let Ok(read) = self.endpoints.read()
            && let Some(e) = read.get(endpoint)
        {
            e.record(status, elapsed);
            return;
        }
        if let Ok(mut write) = self.endpoints.write() {
            write
                .entry(endpoint.to_owned())
                .or_default()
                .record(status, elapsed);
        }
    }

    pub fn signin(&self, method: &str, outcome: &str) {
        bump(&self.signins, method, outcome);
    }

    pub fn tap_failure(&self) {
        self.tap_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub fn tap_lockout(&self) {
        self.tap_lockouts.fetch_add(1, Ordering::Relaxed);
    }

    pub fn store_error(&self) {
        self.store_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// One command or pipeline sent to Redis and its answer awaited.
    pub fn redis_round_trip(&self) {
        self.redis_round_trips.fetch_add(1, Ordering::Relaxed);
    }

    /// The text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let endpoints: Vec<(String, Arc<Endpoint>)> = self
            .endpoints
            .read()
            .map(|m| {
                let mut v: Vec<_> = m.iter().map(|(k, e)| (k.clone(), e.clone())).collect();
                v.sort_by(|a, b| a.0.cmp(&b.0));
                v
            })
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "# HELP onramp_http_requests_total HTTP requests by endpoint and status."
        );
        let _ = writeln!(out, "# TYPE onramp_http_requests_total counter");
        for (endpoint, e) in &endpoints {
            if let Ok(map) = e.by_status.read() {
                let mut rows: Vec<_> = map.iter().collect();
                rows.sort_by_key(|r| *r.0);
                for (status, c) in rows {
                    let _ = writeln!(
                        out,
                        "onramp_http_requests_total{{endpoint=\"{endpoint}\",status=\"{status}\"}} {}",
                        c.load(Ordering::Relaxed)
                    );
                }
            }
        }
        let _ = writeln!(
            out,
            "# HELP onramp_http_request_duration_seconds Request latency by endpoint."
        );
        let _ = writeln!(out, "# TYPE onramp_http_request_duration_seconds histogram");
        for (endpoint, e) in &endpoints {
            let h = &e.latency;
            for (i, le) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "onramp_http_request_duration_seconds_bucket{{endpoint=\"{endpoint}\",le=\"{le}\"}} {}",
                    h.buckets[i].load(Ordering::Relaxed)
                );
            }
            let count = h.count.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "onramp_http_request_duration_seconds_bucket{{endpoint=\"{endpoint}\",le=\"+Inf\"}} {count}"
            );
            let _ = writeln!(
                out,
                "onramp_http_request_duration_seconds_sum{{endpoint=\"{endpoint}\"}} {}",
                h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
            );
            let _ = writeln!(
                out,
                "onramp_http_request_duration_seconds_count{{endpoint=\"{endpoint}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP onramp_signins_total Sign-in attempts by method and outcome."
        );
        let _ = writeln!(out, "# TYPE onramp_signins_total counter");
        if let Ok(map) = self.signins.read() {
            let mut rows: Vec<_> = map.iter().collect();
            rows.sort_by(|a, b| a.0.cmp(b.0));
            for ((method, outcome), c) in rows {
                let _ = writeln!(
                    out,
                    "onramp_signins_total{{method=\"{method}\",outcome=\"{outcome}\"}} {}",
                    c.load(Ordering::Relaxed)
                );
            }
        }
        for (name, help, v) in [
            (
                "onramp_tap_failures_total",
                "Failed Temporary Access Pass attempts.",
                &self.tap_failures,
            ),
            (
                "onramp_tap_lockouts_total",
                "Lockouts after too many failed passes.",
                &self.tap_lockouts,
            ),
            (
                "onramp_store_errors_total",
                "Requests that failed because the store was unavailable.",
                &self.store_errors,
            ),
            (
                "onramp_redis_round_trips_total",
                "Commands and pipelines sent to Redis (each awaits its answer).",
                &self.redis_round_trips,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                v.load(Ordering::Relaxed)
            );
        }
        out
    }
}
