//! The life of a job: its states, and the scheduler that moves it through render and upload
//! with leases, retries, backoff and an offline mode.

mod backoff;
mod connectivity;
mod control;
pub(crate) mod liveness;
mod part_plan;
mod progress;
mod render;
mod runner;
mod send;
mod slots;
mod state;
mod throttle;
mod whole;

pub use backoff::Backoff;
pub use connectivity::Connectivity;
pub use control::Control;
pub use part_plan::{MAX_PARTS, MIN_PART, Part, part_size, parts};
pub use progress::{BatchProgress, Meter};
pub use runner::{Drained, Tuning};
pub use slots::Slots;
pub use state::JobState;
pub use throttle::Throttle;
