//! Connect's windowed statistics (Kafka's `SampledStat`: `metrics.num.samples` = 2 windows of
//! `metrics.sample.window.ms` = 30 s) kept with relaxed atomics, so a `-max`, `-avg` or
//! `-rate` means what it means on a JVM worker: over the last 30 to 60 seconds, not since the
//! task started.
//!
//! Each window has one writer, the task's own thread, recording once per batch; readers (a
//! scrape) may see a window half reset, which shifts one sample by a batch at most.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Connect's `metrics.sample.window.ms` default.
pub const WINDOW: Duration = Duration::from_secs(30);
const WINDOW_MS: u64 = WINDOW.as_millis() as u64;
/// Connect's `metrics.num.samples` default.
const SAMPLES: usize = 2;

/// Milliseconds on a monotonic clock shared by every window of the process.
pub(crate) fn clock_ms() -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    BASE.get_or_init(Instant::now).elapsed().as_millis() as u64
}

#[derive(Debug, Default)]
struct Sample {
    /// Which 30-second window of the clock this sample holds (`clock_ms / WINDOW_MS`), plus 1
    /// so that 0 means empty.
    epoch: AtomicU64,
    count: AtomicU64,
    sum: AtomicU64,
    max: AtomicU64,
}

/// Count, sum and maximum of recorded values over the last two windows.
#[derive(Debug, Default)]
pub struct Windowed {
    samples: [Sample; SAMPLES],
}

/// What a window holds when read.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Combined {
    pub count: u64,
    pub sum: u64,
    pub max: u64,
    /// Milliseconds the live samples cover, at least one window less than all of them as
    /// Kafka's `Rate` counts it.
    pub elapsed_ms: u64,
}

impl Combined {
    /// Kafka's `Avg`: NaN with no sample.
    pub fn avg(&self) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            self.sum as f64 / self.count as f64
        }
    }
    /// Kafka's `Max`: NaN with no sample.
    pub fn max(&self) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            self.max as f64
        }
    }
    /// Kafka's `Rate` of the recorded values: their sum per second.
    pub fn rate(&self) -> f64 {
        self.sum as f64 * 1000.0 / self.elapsed_ms.max(1) as f64
    }
}

impl Windowed {
    /// Records one value (a batch's duration in µs, its size, a count of records).
    pub fn record(&self, value: u64) {
        self.record_at(clock_ms(), value);
    }

    pub(crate) fn record_at(&self, now_ms: u64, value: u64) {
        let epoch = now_ms / WINDOW_MS + 1;
        let s = &self.samples[(epoch as usize) % SAMPLES];
        if s.epoch.load(Ordering::Relaxed) != epoch {
            s.count.store(0, Ordering::Relaxed);
            s.sum.store(0, Ordering::Relaxed);
            s.max.store(0, Ordering::Relaxed);
            s.epoch.store(epoch, Ordering::Relaxed);
        }
        s.count.fetch_add(1, Ordering::Relaxed);
        s.sum.fetch_add(value, Ordering::Relaxed);
        s.max.fetch_max(value, Ordering::Relaxed);
    }

    pub fn read(&self) -> Combined {
        self.read_at(clock_ms())
    }

    pub(crate) fn read_at(&self, now_ms: u64) -> Combined {
        let epoch = now_ms / WINDOW_MS + 1;
        let mut c = Combined {
            count: 0,
            sum: 0,
            max: 0,
            elapsed_ms: 0,
        };
        let mut oldest = epoch;
        for s in &self.samples {
            let e = s.epoch.load(Ordering::Relaxed);
            if e == 0 || e + (SAMPLES as u64) <= epoch {
                continue;
            }
            oldest = oldest.min(e);
            c.count += s.count.load(Ordering::Relaxed);
            c.sum += s.sum.load(Ordering::Relaxed);
            c.max = c.max.max(s.max.load(Ordering::Relaxed));
        }
        let start = (oldest - 1) * WINDOW_MS;
        let min_elapsed = (SAMPLES as u64 - 1) * WINDOW_MS;
        c.elapsed_ms = (now_ms - start).max(min_elapsed);
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_older_than_two_windows_are_forgotten() {
        let w = Windowed::default();
        w.record_at(1_000, 10);
        w.record_at(2_000, 30);
        let c = w.read_at(3_000);
        assert_eq!((c.count, c.sum, c.max), (2, 40, 30));
        assert_eq!(c.avg(), 20.0);
        // The next window keeps the first one readable.
        w.record_at(31_000, 5);
        let c = w.read_at(31_000);
        assert_eq!((c.count, c.max), (3, 30));
        // Two windows on, the first is gone and its slot reused.
        w.record_at(61_000, 7);
        let c = w.read_at(61_000);
        assert_eq!((c.count, c.sum, c.max), (2, 12, 7));
        // Nothing recorded for two windows: empty, NaN as Kafka's Avg and Max.
        let c = w.read_at(200_000);
        assert_eq!(c.count, 0);
        assert!(c.avg().is_nan() && c.max().is_nan());
        assert_eq!(c.rate(), 0.0);
    }

    #[test]
    fn a_rate_is_per_second_over_at_least_one_window() {
        let w = Windowed::default();
        // 300 records in the first 10 s: Kafka's Rate divides by 30 s, not 10 s.
        w.record_at(5_000, 100);
        w.record_at(10_000, 200);
        assert_eq!(w.read_at(10_000).rate(), 10.0);
        // 45 s in: the samples cover 45 s.
        w.record_at(40_000, 150);
        assert_eq!(w.read_at(45_000).rate(), 10.0);
    }
}
