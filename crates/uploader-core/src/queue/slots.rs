//! How many requests may be in flight at once. The number can change while uploads run (the
//! settings screen): growing adds permits at once; shrinking takes permits back as requests
//! finish, so none in flight is interrupted.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub struct Slots {
    semaphore: Arc<Semaphore>,
    size: AtomicUsize,
}

impl Slots {
    pub fn new(size: usize) -> Self {
        Self {
            semaphore: Arc::new(Semaphore::new(size)),
            size: AtomicUsize::new(size),
        }
    }

    pub fn size(&self) -> usize {
        self.size.load(Ordering::SeqCst)
    }

    /// Waits for a free slot; `None` only if the semaphore were closed, which it never is.
    pub async fn acquire(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.semaphore).acquire_owned().await.ok()
    }

    /// Sets the number of slots. Must run inside a tokio runtime when it shrinks.
    pub fn resize(&self, size: usize) {
        let size = size.max(1);
        let old = self.size.swap(size, Ordering::SeqCst);
        if size > old {
            self.semaphore.add_permits(size - old);
        } else if size < old {
            let mut owed = old - size;
            owed -= self.semaphore.forget_permits(owed);
            if owed > 0 {
                // The rest are in use: each is forgotten when its request ends.
                let semaphore = Arc::clone(&self.semaphore);
                tokio::spawn(async move {
                    if let Ok(permits) = semaphore.acquire_many_owned(owed as u32).await {
                        permits.forget();
                    }
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn shrinking_waits_for_requests_in_flight_and_growing_frees_slots_at_once() {
        let slots = Slots::new(3);
        let held: Vec<_> = futures_held(&slots, 3).await;
        slots.resize(1);
        assert_eq!(slots.size(), 1);
        drop(held);
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        // Three were released and two forgotten: one slot is left.
        let one = slots.acquire().await;
        assert!(one.is_some());
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(50), slots.acquire())
                .await
                .is_err(),
            "a second slot should not be free"
        );
        slots.resize(4);
        let more = futures_held(&slots, 3).await;
        assert_eq!(more.len(), 3);
    }

    async fn futures_held(slots: &Slots, n: usize) -> Vec<OwnedSemaphorePermit> {
        let mut held = Vec::new();
        for _ in 0..n {
            held.push(slots.acquire().await.unwrap());
        }
        held
    }
}
