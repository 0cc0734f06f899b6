//! How long a job waits before its next attempt: exponential, capped, with jitter so that
//! many files failing together (a dropped Wi-Fi, a throttled bucket) do not retry together.

use std::time::Duration;

use crate::transport::ErrorKind;

#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// The wait after the first failure.
    pub base: Duration,
    /// No wait is longer than this.
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(300),
        }
    }
}

impl Backoff {
    /// The wait after the `attempt`-th failure (1 for the first). `random` is in `[0, 1)`: the
    /// wait is somewhere in the upper half of the exponential step ("equal jitter"). A server
    /// that asked to slow down gets four times longer.
    pub fn delay(&self, kind: ErrorKind, attempt: u32, random: f64) -> Duration {
        let factor = if kind == ErrorKind::Throttled {
            4.0
        } else {
            1.0
        };
        let step =
            self.base.as_secs_f64() * factor * 2f64.powi(attempt.saturating_sub(1).min(30) as i32);
        let step = step.min(self.cap.as_secs_f64());
        Duration::from_secs_f64(step * (0.5 + 0.5 * random.clamp(0.0, 1.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_with_each_attempt_up_to_the_cap() {
        let b = Backoff::default();
        let top = |attempt| b.delay(ErrorKind::Network, attempt, 1.0).as_secs_f64();
        assert_eq!([top(1), top(2), top(3), top(4)], [1.0, 2.0, 4.0, 8.0]);
        assert_eq!(top(30), 300.0);
        assert_eq!(top(u32::MAX), 300.0);
    }

    #[test]
    fn jitter_keeps_the_wait_in_the_upper_half_of_its_step() {
        let b = Backoff::default();
        for attempt in 1..8 {
            let low = b.delay(ErrorKind::Server, attempt, 0.0);
            let high = b.delay(ErrorKind::Server, attempt, 0.999);
            assert!(low * 2 >= high && low < high, "{attempt}: {low:?} {high:?}");
        }
    }

    #[test]
    fn a_throttled_server_gets_longer_waits() {
        let b = Backoff::default();
        assert!(b.delay(ErrorKind::Throttled, 1, 0.5) > b.delay(ErrorKind::Network, 1, 0.5));
    }
}
