//! The driver's clock: the core's [`Instant`] measured from one tokio
//! instant, and the wall-clock time at that instant, read together once so
//! that message timestamps (spec §7.1) and timers (§10.3) agree.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tandem_proto::Instant;

/// A monotonic epoch and the Unix time at it.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    epoch: tokio::time::Instant,
    wall_at_epoch_ms: u64,
}

impl Clock {
    /// Starts a clock now.
    pub fn start() -> Self {
        let epoch = tokio::time::Instant::now();
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Self {
            epoch,
            wall_at_epoch_ms: u64::try_from(wall.as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// Unix milliseconds at the epoch, for `PrimaryConfig::wall_clock_at_epoch_ms`.
    pub fn wall_at_epoch_ms(&self) -> u64 {
        self.wall_at_epoch_ms
    }

    /// The core's time now.
    pub fn now(&self) -> Instant {
        self.at(tokio::time::Instant::now())
    }

    /// The core's time at a tokio instant.
    pub fn at(&self, instant: tokio::time::Instant) -> Instant {
        Instant::from_duration(instant.saturating_duration_since(self.epoch))
    }

    /// The tokio instant of a core deadline.
    pub fn deadline(&self, at: Instant) -> tokio::time::Instant {
        self.epoch + at.since_epoch()
    }

    /// Unix milliseconds now, on the same clock as message timestamps.
    pub fn wall_now_ms(&self) -> u64 {
        let since = u64::try_from(self.now().since_epoch().as_millis()).unwrap_or(u64::MAX);
        self.wall_at_epoch_ms.saturating_add(since)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_map_back_and_forth() {
        let clock = Clock::start();
        let at = clock.now() + Duration::from_millis(1500);
        assert_eq!(clock.at(clock.deadline(at)), at);
        assert!(clock.wall_now_ms() >= clock.wall_at_epoch_ms());
    }
}
