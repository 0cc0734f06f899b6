//! Whether the server can be reached. A network error makes the queue ask once (a cheap
//! probe); if there is no answer it goes offline: nothing is claimed and no attempt is
//! counted, and a probe with backoff brings it back online by itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::watch;

use crate::events::{Event, EventBus};
use crate::transport::Transport;

pub struct Connectivity {
    online: watch::Sender<bool>,
    probing: AtomicBool,
    /// The first wait between probes while offline; it doubles up to `max_interval`.
    pub first_interval: Duration,
    pub max_interval: Duration,
}

impl Connectivity {
    pub fn new(first_interval: Duration, max_interval: Duration) -> Self {
        Self {
            online: watch::Sender::new(true),
            probing: AtomicBool::new(false),
            first_interval,
            max_interval,
        }
    }

    pub fn is_online(&self) -> bool {
        *self.online.borrow()
    }

    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.online.subscribe()
    }

    /// After a network error: is the server reachable? If not, the queue goes offline and a
    /// background probe brings it back. Returns whether it is online.
    pub async fn check(
        self: &Arc<Self>,
        transport: &Arc<dyn Transport>,
        events: &EventBus,
    ) -> bool {
        if !self.is_online() {
            return false;
        }
        if transport.probe().await.is_ok() {
            return true;
        }
        self.go_offline(transport, events);
        false
    }

    fn go_offline(self: &Arc<Self>, transport: &Arc<dyn Transport>, events: &EventBus) {
        if self.online.send_replace(false) {
            events.send(Event::Connectivity { online: false });
        }
        if self.probing.swap(true, Ordering::SeqCst) {
            return;
        }
        let this = Arc::clone(self);
        let transport = Arc::clone(transport);
        let events = events.clone();
        tokio::spawn(async move {
            let mut wait = this.first_interval;
            loop {
                tokio::time::sleep(wait).await;
                if transport.probe().await.is_ok() {
                    break;
                }
                wait = (wait * 2).min(this.max_interval);
            }
            this.probing.store(false, Ordering::SeqCst);
            this.online.send_replace(true);
            events.send(Event::Connectivity { online: true });
        });
    }
}
