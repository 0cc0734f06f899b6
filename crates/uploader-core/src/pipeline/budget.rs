//! A cap on the megapixels decoded at once, so that memory stays bounded by picture size, not
//! by how many files run in parallel: twenty 24 MP photos may decode side by side, three
//! 100 MP scans may not.

use std::sync::{Arc, Condvar, Mutex, PoisonError};

#[derive(Debug)]
pub struct Budget {
    capacity: u64,
    in_use: Mutex<u64>,
    freed: Condvar,
}

/// Megapixels held until dropped.
#[derive(Debug)]
pub struct Permit {
    budget: Arc<Budget>,
    megapixels: u64,
}

impl Budget {
    pub fn new(megapixels: u64) -> Self {
        Self {
            capacity: megapixels.max(1),
            in_use: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    /// Waits until a `width`×`height` picture fits. One larger than the whole budget waits
    /// for the budget to empty and then runs alone.
    pub fn acquire(self: &Arc<Self>, width: u32, height: u32) -> Permit {
        let megapixels = (u64::from(width) * u64::from(height))
            .div_ceil(1_000_000)
            .clamp(1, self.capacity);
        let mut in_use = self.in_use.lock().unwrap_or_else(PoisonError::into_inner);
        while *in_use + megapixels > self.capacity {
            in_use = self
                .freed
                .wait(in_use)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *in_use += megapixels;
        Permit {
            budget: Arc::clone(self),
            megapixels,
        }
    }

    pub fn in_use(&self) -> u64 {
        *self.in_use.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut in_use = self
            .budget
            .in_use
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *in_use -= self.megapixels;
        self.budget.freed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn pictures_wait_until_their_megapixels_fit_and_a_huge_one_runs_alone() {
        let budget = Arc::new(Budget::new(100));
        let peak = AtomicU64::new(0);
        // 40 MP each: at most two at once. 400 MP: alone, counted as the whole budget.
        let sizes = [(8000, 5000); 6].into_iter().chain([(20000, 20000)]);
        std::thread::scope(|s| {
            for (w, h) in sizes {
                let (budget, peak) = (&budget, &peak);
                s.spawn(move || {
                    let _permit = budget.acquire(w, h);
                    peak.fetch_max(budget.in_use(), Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                });
            }
        });
        assert_eq!(budget.in_use(), 0);
        assert!(peak.load(Ordering::SeqCst) <= 100);
    }
}
