//! The bandwidth cap: a token bucket shared by every request. A request takes its bytes
//! before it is sent; when the bucket is in debt it waits until the debt is paid. The rate can
//! change while uploads run (the settings screen), and `None` lets everything through.

use std::sync::Mutex;

use tokio::time::{Duration, Instant};

pub struct Throttle {
    /// Bytes per second (`None`: no cap), and the bytes that may be sent now (negative: owed)
    /// as of the instant.
    bucket: Mutex<(Option<f64>, f64, Instant)>,
}

impl Throttle {
    pub fn new(bytes_per_second: Option<f64>) -> Self {
        // One second's worth may go at once.
        let full = bytes_per_second.unwrap_or(0.0);
        Self {
            bucket: Mutex::new((bytes_per_second, full, Instant::now())),
        }
    }

    /// The cap from now on; a debt owed under the old rate is forgiven.
    pub fn set_rate(&self, bytes_per_second: Option<f64>) {
        let mut bucket = self.bucket.lock().unwrap_or_else(|p| p.into_inner());
        *bucket = (
            bytes_per_second,
            bytes_per_second.unwrap_or(0.0),
            Instant::now(),
        );
    }

    pub fn rate(&self) -> Option<f64> {
        self.bucket.lock().unwrap_or_else(|p| p.into_inner()).0
    }

    /// Waits until `bytes` may be sent at the current rate.
    pub async fn take(&self, bytes: u64) {
        let wait = {
            let mut bucket = self.bucket.lock().unwrap_or_else(|p| p.into_inner());
            let Some(rate) = bucket.0 else {
                return;
            };
            let now = Instant::now();
            let refill = now.duration_since(bucket.2).as_secs_f64() * rate;
            let available = (bucket.1 + refill).min(rate) - bytes as f64;
            *bucket = (Some(rate), available, now);
            if available < 0.0 {
                Duration::from_secs_f64(-available / rate)
            } else {
                Duration::ZERO
            }
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn sending_ten_seconds_worth_takes_about_nine_seconds_after_the_first() {
        let throttle = Throttle::new(Some(1000.0));
        let start = Instant::now();
        for _ in 0..10 {
            throttle.take(1000).await;
        }
        let took = start.elapsed().as_secs_f64();
        assert!((8.9..=9.1).contains(&took), "{took}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_bucket_refills_only_up_to_one_second() {
        let throttle = Throttle::new(Some(1000.0));
        tokio::time::sleep(Duration::from_secs(60)).await;
        let start = Instant::now();
        throttle.take(3000).await;
        let took = start.elapsed().as_secs_f64();
        assert!((1.9..=2.1).contains(&took), "{took}");
    }

    #[tokio::test(start_paused = true)]
    async fn no_rate_lets_everything_through_and_a_new_rate_applies_at_once() {
        let throttle = Throttle::new(None);
        let start = Instant::now();
        throttle.take(1_000_000_000).await;
        assert_eq!(start.elapsed(), Duration::ZERO);
        throttle.set_rate(Some(1000.0));
        throttle.take(3000).await;
        let took = start.elapsed().as_secs_f64();
        assert!((1.9..=2.1).contains(&took), "{took}");
        throttle.set_rate(None);
        let again = Instant::now();
        throttle.take(1_000_000).await;
        assert_eq!(again.elapsed(), Duration::ZERO);
    }
}
