//! Order statistics of measured samples.

use std::time::Duration;

/// Median, 99th percentile, mean and max of a set of durations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    pub count: usize,
    pub median: Duration,
    pub p99: Duration,
    pub mean: Duration,
    pub max: Duration,
}

impl Stats {
    /// `None` for no samples. Percentiles by the nearest-rank method.
    pub fn of(samples: &[Duration]) -> Option<Stats> {
        if samples.is_empty() {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        let rank =
            |p: f64| sorted[((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
        let total: Duration = sorted.iter().sum();
        Some(Stats {
            count: sorted.len(),
            median: rank(0.5),
            p99: rank(0.99),
            mean: total / sorted.len() as u32,
            max: sorted[sorted.len() - 1],
        })
    }
}

/// Milliseconds with two decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let s = Stats::of(&samples).unwrap();
        assert_eq!(s.median, Duration::from_millis(50));
        assert_eq!(s.p99, Duration::from_millis(99));
        assert_eq!(s.max, Duration::from_millis(100));
        assert_eq!(s.mean, Duration::from_micros(50_500));
        assert_eq!(
            Stats::of(&[Duration::from_millis(7)]).unwrap().p99,
            Duration::from_millis(7)
        );
        assert!(Stats::of(&[]).is_none());
    }
}
