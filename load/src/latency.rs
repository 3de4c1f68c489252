//! Latency recording: an HDR histogram of nanoseconds (three significant
//! digits, up to ten minutes), merged across pairs, read as quantiles in
//! microseconds.

use std::time::Duration;

use hdrhistogram::Histogram;

/// Latencies of one measurement.
#[derive(Clone, Debug)]
pub(crate) struct Latency(Histogram<u64>);

impl Latency {
    /// An empty recorder.
    pub(crate) fn new() -> Self {
        // Constant bounds and precision, valid for hdrhistogram: this
        // cannot fail.
        let histogram = Histogram::new_with_bounds(1, 600_000_000_000, 3)
            .expect("constant histogram bounds are valid");
        Self(histogram)
    }

    /// Records one latency.
    pub(crate) fn record(&mut self, latency: Duration) {
        let nanos = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        self.0.saturating_record(nanos.max(1));
    }

    /// Adds another recorder's latencies.
    pub(crate) fn merge(&mut self, other: &Latency) {
        // Both have the same bounds; on a mismatch the other's values are
        // recorded one by one, clamped.
        if self.0.add(&other.0).is_err() {
            for value in other.0.iter_recorded() {
                self.0
                    .saturating_record_n(value.value_iterated_to(), value.count_at_value());
            }
        }
    }

    /// How many latencies were recorded.
    pub(crate) fn count(&self) -> u64 {
        self.0.len()
    }

    /// The quantile `q` (0.5, 0.99, 0.999) in microseconds.
    pub(crate) fn micros(&self, q: f64) -> f64 {
        self.0.value_at_quantile(q) as f64 / 1_000.0
    }
}

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_come_out_in_microseconds() {
        let mut a = Latency::new();
        let mut b = Latency::new();
        for i in 1..=99u64 {
            a.record(Duration::from_micros(i));
        }
        b.record(Duration::from_millis(50));
        a.merge(&b);
        assert_eq!(a.count(), 100);
        assert!((a.micros(0.5) - 50.0).abs() < 1.0);
        assert!(a.micros(0.999) > 49_000.0);
    }
}
