//! Reconnect delays with exponential backoff and full jitter (spec §5.4,
//! [RECON-08], [RECON-09]): before attempt `n` wait a uniformly random time
//! between 0 and `min(RECONNECT_MAX, RECONNECT_BASE * 2^n)`.

use std::time::Duration;

use tandem_proto::random::{self, Random};

/// `RECONNECT_BASE` (spec §10.3).
pub const RECONNECT_BASE: Duration = Duration::from_millis(250);
/// `RECONNECT_MAX` (spec §10.3).
pub const RECONNECT_MAX: Duration = Duration::from_secs(30);

/// The reconnect schedule of one client.
pub struct Backoff {
    base: Duration,
    max: Duration,
    attempt: u32,
    rng: Box<dyn Random>,
}

impl Backoff {
    /// A schedule with these bounds, drawing jitter from `rng`.
    pub fn new(base: Duration, max: Duration, rng: Box<dyn Random>) -> Self {
        Self {
            base,
            max,
            attempt: 0,
            rng,
        }
    }

    /// The ceiling of the next delay: `min(max, base * 2^attempt)`.
    pub fn ceiling(&self) -> Duration {
        self.base
            .saturating_mul(1u32 << self.attempt.min(20))
            .min(self.max)
    }

    /// The delay before the next attempt, uniformly random in
    /// `0..=ceiling` ("full jitter"); counts the attempt.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling();
        self.attempt = self.attempt.saturating_add(1);
        let bits: [u8; 8] = random::array(self.rng.as_mut());
        // 53 random bits give a uniform fraction in [0, 1].
        let fraction = (u64::from_le_bytes(bits) >> 11) as f64 / (1u64 << 53) as f64;
        ceiling.mul_f64(fraction)
    }

    /// Attempts counted since the last reset.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// A connection held long enough: start again from `base`.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_proto::random::SeededRandom;

    #[test]
    fn delays_stay_under_a_doubling_ceiling_capped_at_the_maximum() {
        let mut backoff = Backoff::new(
            RECONNECT_BASE,
            RECONNECT_MAX,
            Box::new(SeededRandom::new(3)),
        );
        let mut ceilings = Vec::new();
        for _ in 0..12 {
            let ceiling = backoff.ceiling();
            let delay = backoff.next_delay();
            assert!(delay <= ceiling, "{delay:?} above {ceiling:?}");
            ceilings.push(ceiling.as_millis());
        }
        assert_eq!(
            ceilings,
            [
                250, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000, 30000
            ]
        );
        backoff.reset();
        assert_eq!(backoff.ceiling(), RECONNECT_BASE);
    }

    #[test]
    fn jitter_spreads_over_the_whole_range() {
        let mut backoff = Backoff::new(
            Duration::from_secs(1),
            Duration::from_secs(1),
            Box::new(SeededRandom::new(9)),
        );
        let delays: Vec<Duration> = (0..200).map(|_| backoff.next_delay()).collect();
        let low = delays.iter().filter(|d| **d < Duration::from_millis(250));
        let high = delays.iter().filter(|d| **d > Duration::from_millis(750));
        assert!(low.count() > 20 && high.count() > 20);
    }
}
