//! The measurement loop: warm up, run N timed iterations, keep every
//! sample, report median and p99.
//!
//! Hand-written rather than criterion: several figures are one-off
//! measurements (a push of 1 GiB, a push at one index size) or counts of
//! requests, criterion's results would have to be parsed back out of
//! `target/criterion/**/estimates.json`, and its async support needs its
//! own executor glue; what is needed here is forty lines.

use std::time::{Duration, Instant};

/// Samples of one operation.
#[derive(Debug, Clone)]
pub struct Samples {
    sorted: Vec<Duration>,
}

impl Samples {
    pub fn new(mut samples: Vec<Duration>) -> Samples {
        assert!(!samples.is_empty(), "no samples");
        samples.sort();
        Samples { sorted: samples }
    }

    /// The value at quantile `q` (0..=1), nearest rank.
    pub fn quantile(&self, q: f64) -> Duration {
        let n = self.sorted.len();
        let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
        self.sorted[rank - 1]
    }

    pub fn median(&self) -> Duration {
        self.quantile(0.5)
    }

    pub fn p99(&self) -> Duration {
        self.quantile(0.99)
    }

    /// These samples and `other`'s together.
    pub fn merge(&self, other: &Samples) -> Samples {
        Samples::new(self.sorted.iter().chain(&other.sorted).copied().collect())
    }

    pub fn len(&self) -> usize {
        self.sorted.len()
    }
}

/// Run `op` `warmup` times untimed, then `n` times timed.
pub async fn time_async<F, Fut>(warmup: usize, n: usize, mut op: F) -> Samples
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    for _ in 0..warmup {
        op().await;
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        op().await;
        out.push(t.elapsed());
    }
    Samples::new(out)
}

/// As [`time_async`], for a synchronous operation.
pub fn time_sync(warmup: usize, n: usize, mut op: impl FnMut()) -> Samples {
    for _ in 0..warmup {
        op();
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        op();
        out.push(t.elapsed());
    }
    Samples::new(out)
}

pub fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank() {
        let s = Samples::new((1..=100).rev().map(Duration::from_millis).collect());
        assert_eq!(s.median(), Duration::from_millis(50));
        assert_eq!(s.p99(), Duration::from_millis(99));
        assert_eq!(s.quantile(1.0), Duration::from_millis(100));
        assert_eq!(s.quantile(0.0), Duration::from_millis(1));
        let one = Samples::new(vec![Duration::from_micros(7)]);
        assert_eq!(one.median(), one.p99());
        let both = one.merge(&Samples::new(vec![Duration::from_micros(1)]));
        assert_eq!(
            (both.len(), both.quantile(0.0)),
            (2, Duration::from_micros(1))
        );
    }
}
