//! The bandwidth cap: a token bucket shared by every request. A request takes its bytes
//! before it is sent; when the bucket is in debt it waits until the debt is paid.

use std::sync::Mutex;

use tokio::time::{Duration, Instant};

pub struct Throttle {
    bytes_per_second: f64,
    /// Bytes that may be sent now (negative: owed), as of `at`.
    bucket: Mutex<(f64, Instant)>,
}

impl Throttle {
    pub fn new(bytes_per_second: f64) -> Self {
        Self {
            bytes_per_second,
            // One second's worth may go at once.
            bucket: Mutex::new((bytes_per_second, Instant::now())),
        }
    }

    /// Waits until `bytes` may be sent at the configured rate.
    pub async fn take(&self, bytes: u64) {
        let wait = {
            let mut bucket = self.bucket.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            let refill = now.duration_since(bucket.1).as_secs_f64() * self.bytes_per_second;
            let available = (bucket.0 + refill).min(self.bytes_per_second) - bytes as f64;
            *bucket = (available, now);
            if available < 0.0 {
                Duration::from_secs_f64(-available / self.bytes_per_second)
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
        let throttle = Throttle::new(1000.0);
        let start = Instant::now();
        for _ in 0..10 {
            throttle.take(1000).await;
        }
        let took = start.elapsed().as_secs_f64();
        assert!((8.9..=9.1).contains(&took), "{took}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_bucket_refills_only_up_to_one_second() {
        let throttle = Throttle::new(1000.0);
        tokio::time::sleep(Duration::from_secs(60)).await;
        let start = Instant::now();
        throttle.take(3000).await;
        let took = start.elapsed().as_secs_f64();
        assert!((1.9..=2.1).contains(&took), "{took}");
    }
}
