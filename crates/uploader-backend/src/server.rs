//! The accept loop: HTTP/1 with a header-read timeout, and at most `max_connections`
//! connections, the oldest idle one closed to make room for a new one. Slow or silent
//! clients can then neither hold every socket nor run the process out of files, and a new
//! request (health, an upload) is answered at once.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::Service;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

use crate::settings::ServeLimits;

/// Serves `router` on `listener` within `limits` until `shutdown` resolves, then lets the
/// requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop, stopping) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    let table = Arc::new(Table::default());
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let service = TowerToHyperService::new(router);
    loop {
        let mut wait_stop = stopping.clone();
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = wait_stop.wait_for(|stop| *stop) => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of files, say: wait for some to close rather than spin.
                tracing::warn!("cannot accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(slot) = table.admit(limits.max_connections, &stopping).await else {
            break;
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        let busy = slot.busy.clone();
        let requests = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let call = service.call(request);
            let guard = Busy::enter(&busy);
            async move {
                let response = call.await?;
                // Busy until the answer's last byte is written: the body holds the guard.
                Ok::<_, std::convert::Infallible>(response.map(|body| {
                    Body::new(body.map_frame(move |frame| {
                        let _ = &guard;
                        frame
                    }))
                }))
            }
        });
        let connection = http.serve_connection(TokioIo::new(stream), requests);
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            {
                tokio::pin!(connection);
                let mut draining = false;
                loop {
                    tokio::select! {
                        _ = connection.as_mut() => break,
                        () = slot.close.notified() => break,
                        _ = stopping.wait_for(|stop| *stop), if !draining => {
                            // Waiting for headers, or idle: nothing to finish.
                            if slot.busy.load(Ordering::Acquire) == 0 {
                                break;
                            }
                            connection.as_mut().graceful_shutdown();
                            draining = true;
                        }
                    }
                }
            }
            // The socket is closed: only now is its place free.
            drop(slot);
        });
    }
    table.drained().await;
    Ok(())
}

/// The connections open, oldest first.
#[derive(Default)]
struct Table {
    open: Mutex<Open>,
    freed: Notify,
}

#[derive(Default)]
struct Open {
    next: u64,
    connections: BTreeMap<u64, Entry>,
}

struct Entry {
    busy: Arc<AtomicUsize>,
    close: Arc<Notify>,
    /// Told to close; it keeps its place until its socket is closed.
    closing: bool,
}

/// A connection's place in the table, given back when its task ends.
struct Slot {
    table: Arc<Table>,
    id: u64,
    busy: Arc<AtomicUsize>,
    close: Arc<Notify>,
}

impl Table {
    fn open(&self) -> MutexGuard<'_, Open> {
        // The table is a plain map: a panic elsewhere leaves it usable.
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A place for a new connection. When `max` are open, the oldest one waiting for a
    /// request is told to close, and this waits until it has, so sockets never outnumber
    /// `max` by more than the one being admitted; when every one is answering a request, this
    /// waits for one to end (requests are bounded by the request timeout). `None` once the
    /// server is stopping.
    async fn admit(self: &Arc<Self>, max: usize, stopping: &watch::Receiver<bool>) -> Option<Slot> {
        loop {
            let freed = self.freed.notified();
            {
                let mut open = self.open();
                let full = open.connections.len() >= max;
                if full && !open.connections.values().any(|e| e.closing) {
                    let idle = open
                        .connections
                        .values_mut()
                        .find(|e| e.busy.load(Ordering::Acquire) == 0);
                    if let Some(entry) = idle {
                        entry.closing = true;
                        entry.close.notify_one();
                    }
                }
                if !full {
                    let id = open.next;
                    open.next += 1;
                    let busy = Arc::new(AtomicUsize::new(0));
                    let close = Arc::new(Notify::new());
                    open.connections.insert(
                        id,
                        Entry {
                            busy: busy.clone(),
                            close: close.clone(),
                            closing: false,
                        },
                    );
                    return Some(Slot {
                        table: self.clone(),
                        id,
                        busy,
                        close,
                    });
                }
            }
            let mut stopping = stopping.clone();
            tokio::select! {
                () = freed => {}
                _ = stopping.wait_for(|stop| *stop) => return None,
            }
        }
    }

    /// Resolves once every connection has ended.
    async fn drained(&self) {
        loop {
            let freed = self.freed.notified();
            if self.open().connections.is_empty() {
                return;
            }
            freed.await;
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.table.open().connections.remove(&self.id);
        self.table.freed.notify_waiters();
    }
}

/// Marks a connection as answering a request while it lives.
struct Busy(Arc<AtomicUsize>);

impl Busy {
    fn enter(count: &Arc<AtomicUsize>) -> Busy {
        count.fetch_add(1, Ordering::AcqRel);
        Busy(count.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_table_closes_its_oldest_idle_connection_and_never_a_busy_one() {
        let table = Arc::new(Table::default());
        let (_stop, stopping) = watch::channel(false);
        let first = table.admit(2, &stopping).await.unwrap();
        let _busy = Busy::enter(&first.busy);
        let second = table.admit(2, &stopping).await.unwrap();
        let admitting = tokio::spawn({
            let table = table.clone();
            async move { table.admit(2, &stopping).await }
        });
        // The second is idle and the oldest such: it is told to close, and its place is
        // given only once it has.
        tokio::time::timeout(Duration::from_secs(1), second.close.notified())
            .await
            .unwrap();
        assert!(!admitting.is_finished());
        let second_id = second.id;
        drop(second);
        let third = admitting.await.unwrap().unwrap();
        let ids: Vec<u64> = table.open().connections.keys().copied().collect();
        assert_eq!(ids, [first.id, third.id]);
        assert!(third.id > second_id);
    }
}
