//! A TCP proxy that injects network faults between the S3 client and the test server.
//!
//! The upload queue must survive resets, throttling, stalls and outages, and SeaweedFS on
//! loopback never produces any of them, so integration tests put this proxy in between.
//! Faults are decided per HTTP/1.1 request, not per connection: the S3 client keeps
//! connections alive, so hundreds of requests share a handful of them. The proxy parses only
//! the client's side (request heads and body framing); the server's side, `100 Continue`
//! included, is copied untouched. Each request's faults come from an RNG seeded with the seed,
//! the connection's number and the request's number on it: a run with the same seed, whose
//! client sends the same requests on the same connections, gets the same faults.

use std::future::poll_fn;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Poll;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Where the body's length is unknown (chunked, or not HTTP), a reset or stall falls within
/// this many body bytes, so it still hits short bodies.
const RESET_WINDOW: u64 = 4096;
const STALL_WINDOW: u64 = 1024;
/// A longer request head is not HTTP as far as the proxy cares: the rest of the connection is
/// forwarded as plain bytes rather than buffered without end.
const MAX_HEAD: usize = 64 * 1024;
/// The same for a chunk-size or trailer line.
const MAX_LINE: usize = 8 * 1024;
/// Longer than any method S3 uses; a longer first word means the bytes are not HTTP.
const MAX_METHOD: usize = 16;
/// How long a `SlowDown` answer keeps reading the unread body before closing (see `slow_down`),
/// and at most waits for the server's last answer to get through first (see `Up::settle`).
const LINGER: Duration = Duration::from_secs(3);
/// The server→client direction counts as done once quiet for this long (see `Up::settle`).
const SETTLE: Duration = Duration::from_millis(10);
/// A request reset after it went through in full is reset when its answer starts, or after
/// this long if none comes (the answer may have come early, before the body was through).
const RESPONSE_WAIT: Duration = Duration::from_secs(5);
const READ_SIZE: usize = 16 * 1024;
const REBIND_ATTEMPTS: u32 = 20;
const REBIND_PAUSE: Duration = Duration::from_millis(100);

const BAD_GATEWAY_BODY: &str =
    "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>";
const SLOW_DOWN_BODY: &str =
    "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";

/// Which faults to inject, each decided per request. `Faults::default()` injects none.
///
/// Bytes that do not parse as HTTP/1.1 requests (and everything after them on that
/// connection) are one "request" of unknown length, with the same probabilities.
#[derive(Clone, Debug)]
pub struct Faults {
    /// Probability that a request is reset (RST to both sides): cut off within its head, within
    /// its body, or once sent in full, when the answer starts, so the server acted on it but
    /// the client never gets the answer.
    pub reset: f64,
    /// Probability that the proxy answers a request `503 SlowDown` itself, without forwarding
    /// it, then closes the connection (`Connection: close`).
    pub slow_down: f64,
    /// Probability that a request pauses once, at a random byte of it, for `stall_for`.
    pub stall: f64,
    pub stall_for: Duration,
    /// Seeds the RNG of each (connection, request) pair so a run's faults can be replayed.
    pub seed: u64,
    /// Connections forwarded at once; more wait in the listen backlog. Read only by `start`.
    pub max_connections: usize,
    /// Probability that the proxy answers a request `502 Bad Gateway` with an HTML page, as a
    /// load balancer in front of a failing server does, then closes the connection.
    pub bad_gateway: f64,
    /// Every HEAD is answered `403 Forbidden` with no body, as AWS answers a HEAD of a missing
    /// key to a caller that may not list the bucket.
    pub forbid_head: bool,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            reset: 0.0,
            slow_down: 0.0,
            stall: 0.0,
            stall_for: Duration::from_secs(2),
            seed: 0,
            max_connections: 64,
            bad_gateway: 0.0,
            forbid_head: false,
        }
    }
}

/// A loopback proxy to one upstream address. Dropping it (or `stop`) ends every task it
/// spawned and closes every connection.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    state: Mutex<State>,
}

struct Shared {
    upstream: SocketAddr,
    faults: Mutex<Faults>,
    limit: Arc<Semaphore>,
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
    connections: AtomicU64,
    requests: AtomicU64,
    resets: AtomicU64,
    slow_downs: AtomicU64,
    bad_gateways: AtomicU64,
    stalls: AtomicU64,
}

struct State {
    /// The open listener and its connections; `None` while gone away.
    session: Option<Session>,
    /// Every accept loop spawned. Each owns its connections' tasks in a `JoinSet`, so
    /// aborting these (or dropping the set) ends every task.
    tasks: JoinSet<()>,
    stopped: bool,
}

/// Shared with the accept loop so `go_away` can close the listener itself, at once: an aborted
/// task only drops its listener when next polled, and until then connects would succeed.
type Slot = Arc<Mutex<Option<TcpListener>>>;

struct Session {
    listener: Slot,
    /// Dropping it tells the accept loop and its connections to close.
    _kill: watch::Sender<()>,
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards every connection to `upstream`.
    pub async fn start(upstream: SocketAddr, faults: Faults) -> io::Result<FaultProxy> {
        let listener = bind((Ipv4Addr::LOCALHOST, 0).into())?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream,
            limit: Arc::new(Semaphore::new(faults.max_connections.max(1))),
            faults: Mutex::new(faults),
            bytes_up: AtomicU64::new(0),
            bytes_down: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            resets: AtomicU64::new(0),
            slow_downs: AtomicU64::new(0),
            bad_gateways: AtomicU64::new(0),
            stalls: AtomicU64::new(0),
        });
        let proxy = FaultProxy {
            addr,
            shared,
            state: Mutex::new(State {
                session: None,
                tasks: JoinSet::new(),
                stopped: false,
            }),
        };
        open(&mut lock(&proxy.state), &proxy.shared, listener);
        Ok(proxy)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The S3 endpoint URL to give the client instead of the server's.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Faults for requests that start from now on, on open connections too.
    /// `max_connections` is ignored here: the limit is fixed at `start`.
    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.shared.faults) = faults;
    }

    /// Simulates an outage: new connects are refused from the moment this returns, and every
    /// open connection is reset.
    pub fn go_away(&self) {
        let session = lock(&self.state).session.take();
        if let Some(session) = session {
            drop(lock(&session.listener).take());
        }
    }

    /// Ends an outage: listens on the same port again. A no-op if not gone away; an error
    /// after `stop` or if the port stays taken.
    pub async fn come_back(&self) -> io::Result<()> {
        {
            let state = lock(&self.state);
            if state.stopped {
                return Err(io::Error::other("the proxy was stopped"));
            }
            if state.session.is_some() {
                return Ok(());
            }
        }
        let listener = rebind(self.addr).await?;
        let mut state = lock(&self.state);
        if state.stopped {
            return Err(io::Error::other("the proxy was stopped"));
        }
        if state.session.is_none() {
            open(&mut state, &self.shared, listener);
        }
        Ok(())
    }

    /// Closes the listener and aborts every task now, as dropping does; counters stay readable.
    pub fn stop(&self) {
        self.go_away();
        let mut state = lock(&self.state);
        state.stopped = true;
        state.tasks.abort_all();
    }

    /// Client-to-server bytes forwarded.
    pub fn bytes_up(&self) -> u64 {
        self.shared.bytes_up.load(Ordering::Relaxed)
    }

    /// Server-to-client bytes forwarded.
    pub fn bytes_down(&self) -> u64 {
        self.shared.bytes_down.load(Ordering::Relaxed)
    }

    /// Connections accepted, faulty or not.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::Relaxed)
    }

    /// Requests parsed from clients, faulty or not; bytes that are not HTTP are not counted.
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// Faults injected, as opposed to drawn: a fault drawn for a byte the request never
    /// reaches, or on a connection the client closed first, is not counted.
    pub fn resets(&self) -> u64 {
        self.shared.resets.load(Ordering::Relaxed)
    }

    pub fn slow_downs(&self) -> u64 {
        self.shared.slow_downs.load(Ordering::Relaxed)
    }

    /// Requests answered `502 Bad Gateway` by the proxy.
    pub fn bad_gateways(&self) -> u64 {
        self.shared.bad_gateways.load(Ordering::Relaxed)
    }

    pub fn stalls(&self) -> u64 {
        self.shared.stalls.load(Ordering::Relaxed)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A poisoned lock only means a test panicked elsewhere; the data is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    // Lets `come_back` take the port again while connections through it sit in TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

async fn rebind(addr: SocketAddr) -> io::Result<TcpListener> {
    let mut attempt = 1;
    loop {
        match bind(addr) {
            Ok(listener) => return Ok(listener),
            Err(e) if attempt >= REBIND_ATTEMPTS => return Err(e),
            Err(_) => {
                attempt += 1;
                tokio::time::sleep(REBIND_PAUSE).await;
            }
        }
    }
}

fn open(state: &mut State, shared: &Arc<Shared>, listener: TcpListener) {
    let slot: Slot = Arc::new(Mutex::new(Some(listener)));
    let (kill, killed) = watch::channel(());
    state
        .tasks
        .spawn(accept_loop(shared.clone(), slot.clone(), killed));
    state.session = Some(Session {
        listener: slot,
        _kill: kill,
    });
    // Reap accept loops that ended after earlier outages.
    while state.tasks.try_join_next().is_some() {}
}

async fn accept_loop(shared: Arc<Shared>, slot: Slot, killed: watch::Receiver<()>) {
    let mut connections = JoinSet::new();
    let mut kill = killed.clone();
    loop {
        tokio::select! {
            _ = kill.changed() => break,
            Some(_) = connections.join_next() => {}
            next = next_connection(&shared, &slot) => match next {
                None => break,
                // Such as EMFILE: the next accept may work, but must not spin.
                Some(Err(_)) => tokio::time::sleep(Duration::from_millis(10)).await,
                Some(Ok((client, permit))) => {
                    let index = shared.connections.fetch_add(1, Ordering::Relaxed);
                    connections.spawn(serve(shared.clone(), client, index, killed.clone(), permit));
                }
            },
        }
    }
    // Gone away: the connections see the same signal and reset themselves.
    while connections.join_next().await.is_some() {}
}

/// Waits for a free slot, then accepts; `None` once the listener is closed.
async fn next_connection(
    shared: &Shared,
    slot: &Slot,
) -> Option<io::Result<(TcpStream, OwnedSemaphorePermit)>> {
    let permit = shared.limit.clone().acquire_owned().await.ok()?;
    // The lock is held only within one poll, never across an await.
    poll_fn(|cx| match lock(slot).as_ref() {
        None => Poll::Ready(None),
        Some(listener) => listener
            .poll_accept(cx)
            .map(|accepted| Some(accepted.map(|(client, _)| client))),
    })
    .await
    .map(|accepted| accepted.map(|client| (client, permit)))
}

/// One request's faults, drawn when its head has been read.
#[derive(Debug, Default)]
struct RequestPlan {
    /// The proxy answers the request itself, with this.
    canned: Option<Canned>,
    /// Reset once this many of the request's bytes are through; if the request is shorter,
    /// when its answer starts.
    reset_at: Option<u64>,
    /// Pause before forwarding the request's byte at this offset.
    stall_at: Option<u64>,
    stall_for: Duration,
}

impl RequestPlan {
    /// `head` is the head's length in bytes (0 for bytes that are not HTTP).
    fn draw(faults: &Faults, connection: u64, request: u64, head: u64, body: Body) -> RequestPlan {
        let mut rng = Rng::new(faults.seed, connection, request);
        // Every value is drawn whatever the probabilities, so changing one fault's probability
        // does not reshuffle the others.
        let slow_down = rng.chance(faults.slow_down);
        let reset = rng.chance(faults.reset);
        let reset_where = rng.below(3);
        let reset_offset = rng.next_u64();
        let stall = rng.chance(faults.stall);
        let stall_offset = rng.next_u64();
        let head = head.max(1);
        let reset_at = match (body, reset_where) {
            (Body::Rest, _) => reset_offset % RESET_WINDOW,
            // The server never sees the whole head.
            (_, 0) => reset_offset % head,
            (Body::Length(len), 1) if len > 0 => head + reset_offset % len,
            (Body::Chunked, 1) => head + reset_offset % RESET_WINDOW,
            // Past the end: the request goes through in full and the answer is lost.
            _ => u64::MAX,
        };
        let stall_at = match body {
            Body::Length(len) => stall_offset % (head + len),
            Body::Chunked => stall_offset % (head + STALL_WINDOW),
            Body::Rest => stall_offset % STALL_WINDOW,
        };
        // Drawn last, so that seeds drawn before it still give the same faults.
        let bad_gateway = rng.chance(faults.bad_gateway);
        let canned = if slow_down {
            Some(Canned::SlowDown)
        } else if bad_gateway {
            Some(Canned::BadGateway)
        } else {
            None
        };
        RequestPlan {
            canned,
            reset_at: reset.then_some(reset_at),
            stall_at: stall.then_some(stall_at),
            stall_for: faults.stall_for,
        }
    }
}

/// splitmix64: tiny, deterministic, and good enough to pick faults.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, connection: u64, request: u64) -> Rng {
        // One splitmix step between the two indexes, so no (connection, request) pairs collide
        // the way a plain xor of both would let them.
        let mut per_connection = Rng(seed ^ connection.wrapping_mul(0xD1B5_4A32_D192_ED03));
        Rng(per_connection.next_u64() ^ request.wrapping_mul(0x8CB9_2BA7_2F3D_8DD7))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn chance(&mut self, probability: f64) -> bool {
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        unit < probability
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }
}

enum End {
    /// Both sides finished normally.
    Closed,
    /// A planned reset.
    Reset,
    /// A request was read in full and must be answered by the proxy.
    Canned(Canned),
    /// An I/O error on either side, or the proxy went away.
    Broken,
}

async fn serve(
    shared: Arc<Shared>,
    mut client: TcpStream,
    connection: u64,
    mut killed: watch::Receiver<()>,
    _permit: OwnedSemaphorePermit,
) {
    let _ = client.set_nodelay(true);
    let mut upstream = tokio::select! {
        connected = TcpStream::connect(shared.upstream) => match connected {
            Ok(upstream) => upstream,
            // Unreachable server: the client sees a reset, as it would without the proxy.
            Err(_) => return reset(&client),
        },
        _ = killed.changed() => return reset(&client),
    };
    let _ = upstream.set_nodelay(true);
    let end = tokio::select! {
        end = forward(&mut client, &mut upstream, connection, &shared) => end,
        _ = killed.changed() => End::Broken,
    };
    match end {
        End::Closed => {}
        End::Reset => {
            // Counted before the streams drop, so a client that sees the reset sees the count.
            shared.resets.fetch_add(1, Ordering::Relaxed);
            reset(&client);
            reset(&upstream);
        }
        End::Canned(canned) => {
            // The server answered all it was sent: a plain close, as a client's would be.
            drop(upstream);
            tokio::select! {
                _ = answer(&mut client, &shared, canned) => {}
                _ = killed.changed() => reset(&client),
            }
        }
        End::Broken => {
            reset(&client);
            reset(&upstream);
        }
    }
}

/// Makes the coming close send RST instead of FIN, as a dropped network path or crashed
/// peer would look to the client.
fn reset(stream: &TcpStream) {
    let _ = stream.set_zero_linger();
}

/// An answer the proxy gives itself instead of the server's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Canned {
    /// S3's throttling error.
    SlowDown,
    /// A load balancer's HTML error page.
    BadGateway,
    /// A HEAD refused, with no body.
    Forbidden,
}

/// Answers the request just read as `canned` says, then closes.
async fn answer(client: &mut TcpStream, shared: &Shared, canned: Canned) {
    let (status, kind, body) = match canned {
        Canned::SlowDown => {
            shared.slow_downs.fetch_add(1, Ordering::Relaxed);
            ("503 Slow Down", "application/xml", SLOW_DOWN_BODY)
        }
        Canned::BadGateway => {
            shared.bad_gateways.fetch_add(1, Ordering::Relaxed);
            ("502 Bad Gateway", "text/html", BAD_GATEWAY_BODY)
        }
        Canned::Forbidden => ("403 Forbidden", "application/xml", ""),
    };
    // A HEAD's answer has no body, whatever its Content-Length says.
    let length = if canned == Canned::Forbidden {
        0
    } else {
        body.len()
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {length}\r\n\
         Connection: close\r\n\r\n{body}"
    );
    if client.write_all(response.as_bytes()).await.is_err() || client.shutdown().await.is_err() {
        return;
    }
    // Closing with unread bytes would send RST, and the client could lose the answer (or fail
    // its write first): a body not waited for after `Expect: 100-continue`, or anything sent
    // after the request. Reading on until the client closes makes the close clean.
    let mut sink = vec![0u8; READ_SIZE];
    let _ = tokio::time::timeout(LINGER, async {
        while matches!(client.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}

/// What the client→server direction tells the server→client one, and back. Both run in one
/// task; atomics only because the task must be `Send`.
#[derive(Default)]
struct Link {
    /// Server→client bytes forwarded on this connection.
    down_bytes: AtomicU64,
    /// The server→client direction is writing bytes not yet in `down_bytes`.
    writing: AtomicBool,
    /// The server→client direction has ended.
    down_closed: AtomicBool,
    /// Reset as soon as the server answers anything.
    reset_on_response: AtomicBool,
}

/// Copies both ways until both sides have closed, passing each half-close on.
async fn forward(
    client: &mut TcpStream,
    upstream: &mut TcpStream,
    connection: u64,
    shared: &Shared,
) -> End {
    let (client_read, mut client_write) = client.split();
    let (mut upstream_read, mut upstream_write) = upstream.split();
    let link = Link::default();
    let mut up = pin!(
        Up {
            reader: Reader::new(client_read),
            to: &mut upstream_write,
            shared,
            link: &link,
            connection,
            requests: 0,
            response_mark: None,
            plan: RequestPlan::default(),
            sent: 0,
            swallow: false,
        }
        .run()
    );
    let mut down = pin!(down(&mut upstream_read, &mut client_write, shared, &link));
    let (mut up_open, mut down_open) = (true, true);
    while up_open || down_open {
        let flow = tokio::select! {
            flow = &mut up, if up_open => {
                up_open = false;
                flow
            }
            flow = &mut down, if down_open => {
                down_open = false;
                flow
            }
        };
        match flow {
            Ok(Flow::Eof) => {}
            Ok(Flow::Reset) => return End::Reset,
            // Dropping `down` here is safe: `Up::settle` waited until it sat idle in a read.
            Ok(Flow::Canned(canned)) => return End::Canned(canned),
            Err(_) => return End::Broken,
        }
    }
    End::Closed
}

enum Flow {
    Eof,
    Reset,
    Canned(Canned),
}

/// Server to client: copied as is, but for a planned reset when an answer starts.
async fn down<R, W>(from: &mut R, to: &mut W, shared: &Shared, link: &Link) -> io::Result<Flow>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; READ_SIZE];
    let flow = loop {
        let n = from.read(&mut buf).await?;
        if link.reset_on_response.load(Ordering::Relaxed) {
            break Flow::Reset;
        }
        if n == 0 {
            to.shutdown().await?;
            break Flow::Eof;
        }
        link.writing.store(true, Ordering::Relaxed);
        to.write_all(&buf[..n]).await?;
        link.writing.store(false, Ordering::Relaxed);
        shared.bytes_down.fetch_add(n as u64, Ordering::Relaxed);
        link.down_bytes.fetch_add(n as u64, Ordering::Relaxed);
    };
    link.down_closed.store(true, Ordering::Relaxed);
    Ok(flow)
}

/// How a request's body is framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Body {
    Length(u64),
    Chunked,
    /// Not HTTP, or framing the proxy cannot follow: everything until the client closes.
    Rest,
}

enum Head {
    /// A request head of this many bytes, buffered.
    Request {
        len: usize,
        body: Body,
        expect_continue: bool,
    },
    /// The buffered bytes do not start an HTTP/1.1 request the proxy can frame.
    Unparsable,
    /// The client closed between requests.
    Eof,
}

/// How forwarding (or swallowing) one request ended.
enum Step {
    Done,
    Reset,
    /// The client closed before the request's end.
    Eof,
}

/// Client-side bytes, buffered so request heads can be looked at before they go on.
struct Reader<R> {
    inner: R,
    buf: Vec<u8>,
    /// `buf[..pos]` has been handled.
    pos: usize,
}

impl<R: AsyncRead + Unpin> Reader<R> {
    fn new(inner: R) -> Self {
        Reader {
            inner,
            buf: Vec::with_capacity(READ_SIZE),
            pos: 0,
        }
    }

    fn buffered(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    fn consume(&mut self, n: usize) {
        self.pos += n;
    }

    /// Reads more after what is buffered; false at EOF. Callers pass everything buffered on
    /// before filling, except a partial head or line, so the move here stays small.
    async fn fill(&mut self) -> io::Result<bool> {
        self.buf.drain(..self.pos);
        self.pos = 0;
        let len = self.buf.len();
        self.buf.resize(len + READ_SIZE, 0);
        let read = self.inner.read(&mut self.buf[len..]).await;
        self.buf.truncate(len + read.as_ref().map_or(0, |n| *n));
        Ok(read? > 0)
    }
}

/// Client to server: request by request, each with its own faults.
struct Up<'a, R, W> {
    reader: Reader<R>,
    to: &'a mut W,
    shared: &'a Shared,
    link: &'a Link,
    connection: u64,
    /// Requests started on this connection; numbers each one's RNG.
    requests: u64,
    /// `link.down_bytes` when the last forwarded request started: later bytes answer it.
    response_mark: Option<u64>,
    /// The current request's faults, and how many of its bytes have gone through.
    plan: RequestPlan,
    sent: u64,
    /// Read the current request without forwarding it: it is answered `SlowDown`.
    swallow: bool,
}

impl<R, W> Up<'_, R, W>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    async fn run(mut self) -> io::Result<Flow> {
        loop {
            let (head, body, expect_continue) = match self.read_head().await? {
                Head::Eof => {
                    self.to.shutdown().await?;
                    return Ok(Flow::Eof);
                }
                Head::Request {
                    len,
                    body,
                    expect_continue,
                } => {
                    self.shared.requests.fetch_add(1, Ordering::Relaxed);
                    (len, body, expect_continue)
                }
                Head::Unparsable => (0, Body::Rest, false),
            };
            let faults = lock(&self.shared.faults).clone();
            self.plan =
                RequestPlan::draw(&faults, self.connection, self.requests, head as u64, body);
            self.requests += 1;
            self.sent = 0;
            if self.shared_forbids_head() {
                self.plan.canned = Some(Canned::Forbidden);
            }
            if let Some(canned) = self.plan.canned {
                self.swallow = true;
                // A client waiting for `100 Continue` gets the answer instead, as from a server
                // that rejects early; `slow_down` drains the body after answering.
                let body = if expect_continue {
                    Body::Length(0)
                } else {
                    body
                };
                if let Step::Eof = self.message(head, body).await? {
                    self.to.shutdown().await?;
                    return Ok(Flow::Eof);
                }
                self.settle().await;
                return Ok(Flow::Canned(canned));
            }
            self.response_mark = Some(self.link.down_bytes.load(Ordering::Relaxed));
            if body == Body::Rest && self.plan.reset_at.is_some() {
                // No request boundaries: any answer means the request got through.
                self.link.reset_on_response.store(true, Ordering::Relaxed);
            }
            match self.message(head, body).await? {
                Step::Done => {}
                Step::Reset => return Ok(Flow::Reset),
                Step::Eof => {
                    self.to.shutdown().await?;
                    return Ok(Flow::Eof);
                }
            }
            if self.plan.reset_at.is_some() {
                // Through in full: the server acts on it, and the reset takes its answer.
                self.link.reset_on_response.store(true, Ordering::Relaxed);
                tokio::time::sleep(RESPONSE_WAIT).await;
                return Ok(Flow::Reset);
            }
        }
    }

    /// The buffered request is a HEAD and the faults say to refuse HEADs.
    fn shared_forbids_head(&self) -> bool {
        lock(&self.shared.faults).forbid_head && self.reader.buffered().starts_with(b"HEAD ")
    }

    /// Reads up to the end of a request head, leaving it buffered.
    async fn read_head(&mut self) -> io::Result<Head> {
        let mut scanned = 0;
        loop {
            let data = self.reader.buffered();
            if !data.is_empty() {
                if !plausible_request_line(data) {
                    return Ok(Head::Unparsable);
                }
                if let Some(end) = find(&data[scanned..], b"\r\n\r\n") {
                    let len = scanned + end + 4;
                    return Ok(match parse_head(&data[..len]) {
                        Some((body, expect_continue)) => Head::Request {
                            len,
                            body,
                            expect_continue,
                        },
                        None => Head::Unparsable,
                    });
                }
                if data.len() >= MAX_HEAD {
                    return Ok(Head::Unparsable);
                }
                scanned = data.len().saturating_sub(3);
            }
            if !self.reader.fill().await? {
                return Ok(if self.reader.buffered().is_empty() {
                    Head::Eof
                } else {
                    Head::Unparsable
                });
            }
        }
    }

    /// Forwards (or swallows) one request whose head of `head` bytes is buffered.
    async fn message(&mut self, head: usize, body: Body) -> io::Result<Step> {
        if self.pass(head).await? {
            return Ok(Step::Reset);
        }
        match body {
            Body::Length(len) => self.pass_exact(len).await,
            Body::Chunked => self.pass_chunked().await,
            Body::Rest => self.pass_rest().await,
        }
    }

    async fn pass_exact(&mut self, mut left: u64) -> io::Result<Step> {
        while left > 0 {
            if self.reader.buffered().is_empty() && !self.reader.fill().await? {
                return Ok(Step::Eof);
            }
            let take = left.min(self.reader.buffered().len() as u64);
            if self.pass(take as usize).await? {
                return Ok(Step::Reset);
            }
            left -= take;
        }
        Ok(Step::Done)
    }

    /// Chunk-size lines, data and trailers, up to the empty line that ends them.
    async fn pass_chunked(&mut self) -> io::Result<Step> {
        loop {
            let Some(line) = self.line().await? else {
                return self.pass_rest().await;
            };
            // 15 hex digits at most, so adding the CRLF cannot overflow.
            let Some(size) = chunk_size(&self.reader.buffered()[..line]) else {
                return self.pass_rest().await;
            };
            if self.pass(line).await? {
                return Ok(Step::Reset);
            }
            if size == 0 {
                break;
            }
            match self.pass_exact(size + 2).await? {
                Step::Done => {}
                other => return Ok(other),
            }
        }
        loop {
            let Some(line) = self.line().await? else {
                return self.pass_rest().await;
            };
            let last = line == 2;
            if last && let Some(at) = self.plan.stall_at {
                // A stall drawn past the end of a body of unknown length holds back its last
                // line instead of being lost.
                self.plan.stall_at = Some(at.min(self.sent));
            }
            if self.pass(line).await? {
                return Ok(Step::Reset);
            }
            if last {
                return Ok(Step::Done);
            }
        }
    }

    /// Framing is lost: forwards everything until the client closes. A request being
    /// swallowed is answered at once instead; `slow_down` drains the rest.
    async fn pass_rest(&mut self) -> io::Result<Step> {
        if self.swallow {
            return Ok(Step::Done);
        }
        loop {
            let len = self.reader.buffered().len();
            if len > 0 && self.pass(len).await? {
                return Ok(Step::Reset);
            }
            if !self.reader.fill().await? {
                return Ok(Step::Eof);
            }
        }
    }

    /// The length of the buffered line, CRLF included, reading more as needed; `None` at EOF
    /// or if the line is too long.
    async fn line(&mut self) -> io::Result<Option<usize>> {
        let mut scanned = 0;
        loop {
            let data = self.reader.buffered();
            if let Some(end) = find(&data[scanned..], b"\r\n") {
                return Ok(Some(scanned + end + 2));
            }
            if data.len() > MAX_LINE {
                return Ok(None);
            }
            scanned = data.len().saturating_sub(1);
            if !self.reader.fill().await? {
                return Ok(None);
            }
        }
    }

    /// Forwards the next `len` buffered bytes of the current request, pausing and stopping
    /// where its plan says; true if the reset point was reached.
    async fn pass(&mut self, len: usize) -> io::Result<bool> {
        if self.swallow {
            self.reader.consume(len);
            return Ok(false);
        }
        let mut chunk = &self.reader.buffered()[..len];
        let mut reset_now = false;
        if let Some(at) = self.plan.reset_at {
            let room = at.saturating_sub(self.sent);
            if chunk.len() as u64 >= room {
                chunk = &chunk[..room as usize];
                reset_now = true;
            }
        }
        if let Some(at) = self.plan.stall_at
            && self.sent + chunk.len() as u64 > at
        {
            let (before, after) = chunk.split_at(at.saturating_sub(self.sent) as usize);
            self.to.write_all(before).await?;
            self.sent += before.len() as u64;
            self.shared
                .bytes_up
                .fetch_add(before.len() as u64, Ordering::Relaxed);
            self.shared.stalls.fetch_add(1, Ordering::Relaxed);
            self.plan.stall_at = None;
            tokio::time::sleep(self.plan.stall_for).await;
            chunk = after;
        }
        self.to.write_all(chunk).await?;
        self.sent += chunk.len() as u64;
        self.shared
            .bytes_up
            .fetch_add(chunk.len() as u64, Ordering::Relaxed);
        self.reader.consume(len);
        Ok(reset_now)
    }

    /// Waits until the server→client direction has passed on the answer to the last forwarded
    /// request, so the `SlowDown` answer neither cuts into it nor comes before it.
    ///
    /// Only the client side is parsed, so "passed on" is judged, not known: the answer has
    /// started (bytes went down since that request started), nothing is being written, and
    /// nothing more came for `SETTLE`. For hyper this always holds already: it sends a request
    /// on a kept-alive connection only after reading the whole previous answer, and never
    /// pipelines. The wait only guards other clients, and gives up after `LINGER`.
    async fn settle(&self) {
        let Some(mark) = self.response_mark else {
            return;
        };
        let deadline = Instant::now() + LINGER;
        let mut last = None;
        loop {
            let seen = self.link.down_bytes.load(Ordering::Relaxed);
            let quiet =
                seen > mark && last == Some(seen) && !self.link.writing.load(Ordering::Relaxed);
            if quiet || self.link.down_closed.load(Ordering::Relaxed) || Instant::now() >= deadline
            {
                return;
            }
            last = Some(seen);
            tokio::time::sleep(SETTLE).await;
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Whether `data` can start a request line: an uppercase method, then a space. Lets plain
/// byte streams (and the tests' echo clients) through at once instead of waiting for a head.
fn plausible_request_line(data: &[u8]) -> bool {
    for (i, &byte) in data.iter().enumerate().take(MAX_METHOD + 1) {
        if byte == b' ' {
            return i > 0;
        }
        if !(byte.is_ascii_uppercase() || byte == b'-') {
            return false;
        }
    }
    data.len() <= MAX_METHOD
}

/// The body's framing and whether the client expects `100 Continue`; `None` if the head is
/// not HTTP/1.x or its framing is ambiguous or beyond the proxy.
fn parse_head(head: &[u8]) -> Option<(Body, bool)> {
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line));
    let request_line = lines.next()?;
    if !(request_line.ends_with(b" HTTP/1.1") || request_line.ends_with(b" HTTP/1.0")) {
        return None;
    }
    let (mut length, mut chunked, mut expect_continue) = (None, false, false);
    for line in lines.take_while(|line| !line.is_empty()) {
        // Obsolete line folding: a continuation the proxy would misread.
        if line.starts_with(b" ") || line.starts_with(b"\t") {
            return None;
        }
        let colon = line.iter().position(|&b| b == b':')?;
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if name.eq_ignore_ascii_case(b"content-length") {
            if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let len = std::str::from_utf8(value).ok()?.parse::<u64>().ok()?;
            if length.is_some_and(|seen| seen != len) {
                return None;
            }
            length = Some(len);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            // Only `chunked` as the last coding frames the body.
            let last = value.rsplit(|&b| b == b',').next()?.trim_ascii();
            if !last.eq_ignore_ascii_case(b"chunked") {
                return None;
            }
            chunked = true;
        } else if name.eq_ignore_ascii_case(b"expect") {
            expect_continue = value.eq_ignore_ascii_case(b"100-continue");
        }
    }
    // Transfer-Encoding overrides Content-Length (RFC 9112, 6.3); a request with neither has
    // no body.
    let body = if chunked {
        Body::Chunked
    } else {
        Body::Length(length.unwrap_or(0))
    };
    Some((body, expect_continue))
}

/// The size on a chunk-size line (CRLF included), extensions ignored.
fn chunk_size(line: &[u8]) -> Option<u64> {
    let line = line.strip_suffix(b"\r\n")?;
    let digits = line.split(|&b| b == b';').next()?.trim_ascii();
    if digits.is_empty() || digits.len() > 15 || !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u64::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};

    const BOUND: Duration = Duration::from_secs(10);

    async fn within<F: Future>(what: &str, future: F) -> F::Output {
        tokio::time::timeout(BOUND, future)
            .await
            .unwrap_or_else(|_| panic!("{what} took over {BOUND:?}"))
    }

    /// An upstream that echoes every connection back until it half-closes.
    /// Everything the proxy sends back until it closes, as text.
    async fn answer_text(client: &mut TcpStream) -> String {
        let mut answer = Vec::new();
        within("the answer", client.read_to_end(&mut answer))
            .await
            .unwrap();
        String::from_utf8(answer).unwrap()
    }

    async fn echo_upstream() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut read, mut write) = stream.split();
                    let _ = tokio::io::copy(&mut read, &mut write).await;
                    let _ = write.shutdown().await;
                });
            }
        });
        addr
    }

    /// An upstream that answers every request on a kept-alive connection `200 OK`, with the
    /// request's body as its own.
    async fn http_upstream() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut stream = BufReader::new(stream);
                    while let Ok(Some((_, body))) = read_message(&mut stream).await {
                        // One write: a second small one could wait on Nagle and a delayed ACK.
                        let mut answer =
                            format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len())
                                .into_bytes();
                        answer.extend_from_slice(&body);
                        if stream.write_all(&answer).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        addr
    }

    /// Reads one HTTP message, head and body (by Content-Length or chunked); `None` if the
    /// peer closed before it.
    async fn read_message<R: AsyncBufRead + Unpin>(
        from: &mut R,
    ) -> io::Result<Option<(String, Vec<u8>)>> {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if from.read_line(&mut line).await? == 0 {
                return match head.is_empty() {
                    true => Ok(None),
                    false => Err(io::ErrorKind::UnexpectedEof.into()),
                };
            }
            head.push_str(&line);
            if line == "\r\n" {
                break;
            }
        }
        let header = |name: &str| {
            head.lines().find_map(|line| {
                let (key, value) = line.split_once(':')?;
                key.eq_ignore_ascii_case(name)
                    .then(|| value.trim().to_owned())
            })
        };
        let mut body = Vec::new();
        if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
            loop {
                let mut line = String::new();
                from.read_line(&mut line).await?;
                let digits = line.trim().split(';').next().unwrap_or_default();
                let size = usize::from_str_radix(digits, 16).map_err(io::Error::other)?;
                if size == 0 {
                    // Trailers, up to the empty line.
                    while !matches!(line.as_str(), "\r\n" | "") {
                        line.clear();
                        from.read_line(&mut line).await?;
                    }
                    break;
                }
                let start = body.len();
                body.resize(start + size, 0);
                from.read_exact(&mut body[start..]).await?;
                from.read_exact(&mut [0u8; 2]).await?;
            }
        } else if let Some(len) = header("content-length") {
            body.resize(len.parse().map_err(io::Error::other)?, 0);
            from.read_exact(&mut body).await?;
        }
        Ok(Some((head, body)))
    }

    /// What a client saw of its requests.
    #[derive(Debug, Default)]
    struct Outcome {
        ok: u64,
        slowed: u64,
        reset: u64,
    }

    /// Sends `count` requests one at a time, each after the last answer, as hyper does: on one
    /// kept-alive connection, and on a new one whenever the proxy closed or reset it.
    async fn send_requests(proxy: &FaultProxy, count: usize, chunked: bool) -> Outcome {
        let mut outcome = Outcome::default();
        let mut open: Option<BufReader<TcpStream>> = None;
        for i in 0..count {
            let stream = match &mut open {
                Some(stream) => stream,
                None => open.insert(BufReader::new(
                    TcpStream::connect(proxy.addr()).await.unwrap(),
                )),
            };
            let body = format!("body of request {i}; ").repeat(i % 5 + 1);
            let request = if chunked {
                let mut request = format!(
                    "PUT /bucket/k{i} HTTP/1.1\r\nhost: s3\r\ntransfer-encoding: chunked\r\n\r\n"
                );
                for piece in body.as_bytes().chunks(13) {
                    request.push_str(&format!("{:x};chunk-signature=abc\r\n", piece.len()));
                    request.push_str(std::str::from_utf8(piece).unwrap());
                    request.push_str("\r\n");
                }
                request.push_str("0\r\nx-amz-checksum-crc32: AAAAAA==\r\n\r\n");
                request
            } else {
                format!(
                    "PUT /bucket/k{i} HTTP/1.1\r\nHost: s3\r\ncontent-LENGTH: {}\r\n\r\n{body}",
                    body.len()
                )
            };
            let answer = match stream.write_all(request.as_bytes()).await {
                Ok(()) => within("the answer", read_message(stream)).await,
                Err(e) => Err(e),
            };
            match answer {
                Ok(Some((head, back))) if head.starts_with("HTTP/1.1 200 OK\r\n") => {
                    assert_eq!(back, body.as_bytes(), "request {i} came back whole");
                    outcome.ok += 1;
                }
                Ok(Some((head, back))) => {
                    assert!(head.starts_with("HTTP/1.1 503 Slow Down\r\n"), "{head}");
                    assert!(head.contains("\r\nConnection: close\r\n"), "{head}");
                    assert_eq!(back, SLOW_DOWN_BODY.as_bytes());
                    assert!(closed(stream.get_mut()).await, "closed after the 503");
                    outcome.slowed += 1;
                    open = None;
                }
                Ok(None) | Err(_) => {
                    outcome.reset += 1;
                    open = None;
                }
            }
        }
        outcome
    }

    async fn echoes(client: &mut TcpStream, message: &[u8]) {
        client.write_all(message).await.unwrap();
        let mut back = vec![0u8; message.len()];
        within("the echo", client.read_exact(&mut back))
            .await
            .unwrap();
        assert_eq!(back, message);
    }

    /// True once the peer has closed or reset the connection.
    async fn closed(client: &mut TcpStream) -> bool {
        let mut buf = [0u8; 64];
        matches!(
            within("the close", client.read(&mut buf)).await,
            Ok(0) | Err(_)
        )
    }

    #[tokio::test]
    async fn forwards_bytes_both_ways_and_counts_them() {
        let proxy = FaultProxy::start(echo_upstream().await, Faults::default())
            .await
            .unwrap();
        assert_eq!(proxy.endpoint(), format!("http://{}", proxy.addr()));
        assert!(proxy.addr().ip().is_loopback());
        let mut client = TcpStream::connect(proxy.addr()).await.unwrap();
        echoes(&mut client, b"hello").await;
        let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        client.write_all(&big).await.unwrap();
        client.shutdown().await.unwrap();
        let mut back = Vec::new();
        within("the rest", client.read_to_end(&mut back))
            .await
            .unwrap();
        assert_eq!(back, big, "the half-close passes through after the data");
        let total = 5 + big.len() as u64;
        assert_eq!((proxy.bytes_up(), proxy.bytes_down()), (total, total));
        assert_eq!(proxy.connections(), 1);
        assert_eq!(
            (proxy.resets(), proxy.slow_downs(), proxy.stalls()),
            (0, 0, 0)
        );
    }

    #[tokio::test]
    async fn slow_down_answers_503_with_an_s3_error_body() {
        let faults = Faults {
            slow_down: 1.0,
            ..Faults::default()
        };
        let proxy = FaultProxy::start(echo_upstream().await, faults)
            .await
            .unwrap();
        let mut client = TcpStream::connect(proxy.addr()).await.unwrap();
        let body = vec![b'x'; 200_000];
        let head = format!(
            "PUT /bucket/key HTTP/1.1\r\nHost: s3\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        client.write_all(head.as_bytes()).await.unwrap();
        // The proxy reads the whole request before it answers.
        client.write_all(&body).await.unwrap();
        let answer = answer_text(&mut client).await;
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 Slow Down\r\n"), "{head}");
        assert!(head.contains("\r\nContent-Type: application/xml"), "{head}");
        assert!(head.contains("\r\nConnection: close"), "{head}");
        assert!(
            head.contains(&format!("\r\nContent-Length: {}", body.len())),
            "{head}"
        );
        assert_eq!(
            body,
            "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
        );
        assert_eq!(proxy.slow_downs(), 1);
        assert_eq!(proxy.requests(), 1);
        assert_eq!(proxy.bytes_up(), 0, "nothing reaches the server");
    }

    #[tokio::test]
    async fn a_bad_gateway_is_an_html_page_and_a_forbidden_head_has_no_body() {
        // (faults, request, status line, content type, body)
        let cases = [
            (
                Faults {
                    bad_gateway: 1.0,
                    ..Faults::default()
                },
                "GET /bucket/key HTTP/1.1\r\nHost: s3\r\n\r\n",
                "HTTP/1.1 502 Bad Gateway\r\n",
                "text/html",
                BAD_GATEWAY_BODY,
            ),
            (
                Faults {
                    forbid_head: true,
                    ..Faults::default()
                },
                "HEAD /bucket/key HTTP/1.1\r\nHost: s3\r\n\r\n",
                "HTTP/1.1 403 Forbidden\r\n",
                "application/xml",
                "",
            ),
        ];
        for (faults, request, status, kind, expected) in cases {
            let proxy = FaultProxy::start(echo_upstream().await, faults)
                .await
                .unwrap();
            let mut client = TcpStream::connect(proxy.addr()).await.unwrap();
            client.write_all(request.as_bytes()).await.unwrap();
            let answer = answer_text(&mut client).await;
            let (head, body) = answer.split_once("\r\n\r\n").unwrap();
            assert!(head.starts_with(status), "{head}");
            assert!(
                head.contains(&format!("\r\nContent-Type: {kind}")),
                "{head}"
            );
            assert_eq!(body, expected);
            assert_eq!(proxy.bytes_up(), 0, "nothing reaches the server");
        }
        // Only HEADs are refused.
        let proxy = FaultProxy::start(
            echo_upstream().await,
            Faults {
                forbid_head: true,
                ..Faults::default()
            },
        )
        .await
        .unwrap();
        let mut client = TcpStream::connect(proxy.addr()).await.unwrap();
        client
            .write_all(b"GET /bucket/key HTTP/1.1\r\nHost: s3\r\n\r\n")
            .await
            .unwrap();
        client.shutdown().await.unwrap();
        let answer = answer_text(&mut client).await;
        assert!(answer.starts_with("GET /bucket/key"), "{answer}");
    }

    #[tokio::test]
    async fn slow_down_does_not_wait_for_a_body_held_back_for_100_continue() {
        let faults = Faults {
            slow_down: 1.0,
            ..Faults::default()
        };
        let proxy = FaultProxy::start(http_upstream().await, faults)
            .await
            .unwrap();
        let mut client = BufReader::new(TcpStream::connect(proxy.addr()).await.unwrap());
        let head = "PUT /bucket/key HTTP/1.1\r\nHost: s3\r\nExpect: 100-continue\r\n\
                    Content-Length: 1000\r\n\r\n";
        client.write_all(head.as_bytes()).await.unwrap();
        let (head, _) = within("the answer", read_message(&mut client))
            .await
            .unwrap()
            .unwrap();
        assert!(head.starts_with("HTTP/1.1 503 Slow Down\r\n"), "{head}");
        // A client that sends the body anyway still gets a clean close.
        client.write_all(&[b'x'; 1000]).await.unwrap();
        assert!(closed(client.get_mut()).await);
        assert_eq!(proxy.bytes_up(), 0, "nothing reaches the server");
    }

    #[tokio::test]
    async fn faults_are_drawn_per_request_on_a_keep_alive_connection() {
        let faults = Faults {
            slow_down: 0.1,
            seed: 11,
            ..Faults::default()
        };
        let proxy = FaultProxy::start(http_upstream().await, faults)
            .await
            .unwrap();
        let outcome = send_requests(&proxy, 200, false).await;
        assert!(outcome.slowed > 0 && outcome.ok > 0, "{outcome:?}");
        assert_eq!(outcome.reset, 0, "{outcome:?}");
        assert_eq!(proxy.slow_downs(), outcome.slowed);
        assert_eq!(proxy.requests(), 200);
        // Only a `SlowDown` closes a connection.
        assert_eq!(proxy.connections(), 1 + outcome.slowed);
        assert_eq!((proxy.resets(), proxy.stalls()), (0, 0));
    }

    #[tokio::test]
    async fn resets_are_drawn_per_request_on_a_keep_alive_connection() {
        let faults = Faults {
            reset: 0.1,
            seed: 12,
            ..Faults::default()
        };
        let proxy = FaultProxy::start(http_upstream().await, faults)
            .await
            .unwrap();
        let outcome = send_requests(&proxy, 200, false).await;
        assert!(outcome.reset > 0 && outcome.ok > 0, "{outcome:?}");
        assert_eq!(outcome.slowed, 0, "{outcome:?}");
        assert_eq!(proxy.resets(), outcome.reset);
        assert_eq!(proxy.requests(), 200);
        assert_eq!(proxy.connections(), 1 + outcome.reset);
    }

    #[tokio::test]
    async fn chunked_requests_are_framed_and_faulted_one_by_one() {
        let faults = Faults {
            slow_down: 0.1,
            stall: 0.1,
            stall_for: Duration::from_millis(1),
            seed: 13,
            ..Faults::default()
        };
        let proxy = FaultProxy::start(http_upstream().await, faults)
            .await
            .unwrap();
        let outcome = send_requests(&proxy, 200, true).await;
        assert!(outcome.slowed > 0, "{outcome:?}");
        assert_eq!(outcome.ok + outcome.slowed, 200, "{outcome:?}");
        // A request framed wrong would make every later one on its connection unparsable.
        assert_eq!(proxy.requests(), 200);
        assert_eq!(proxy.slow_downs(), outcome.slowed);
        // Drawn past the end of a short chunked body, a stall still happens, at its end.
        assert!(proxy.stalls() > 5, "{}", proxy.stalls());
    }

    #[test]
    fn request_heads_are_framed_like_a_server_would() {
        let parse = |head: &str| parse_head(head.as_bytes());
        assert_eq!(
            parse("GET / HTTP/1.1\r\nHost: s3\r\n\r\n"),
            Some((Body::Length(0), false))
        );
        assert_eq!(
            parse("PUT /k HTTP/1.1\r\nCONTENT-length:  42 \r\nexpect: 100-Continue\r\n\r\n"),
            Some((Body::Length(42), true))
        );
        assert_eq!(
            parse(
                "PUT /k HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"
            ),
            Some((Body::Chunked, false))
        );
        for unframeable in [
            "PUT /k HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            "PUT /k HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
            "PUT /k HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
            "PUT /k HTTP/1.1\r\nX-A: 1\r\n folded\r\n\r\n",
            "PUT /k HTTP/2\r\n\r\n",
        ] {
            assert_eq!(parse(unframeable), None, "{unframeable:?}");
        }
        assert!(plausible_request_line(b"PU"));
        assert!(plausible_request_line(b"PUT /"));
        assert!(!plausible_request_line(b"hello"));
        assert!(!plausible_request_line(b" PUT"));
        assert_eq!(chunk_size(b"1f;chunk-signature=abc\r\n"), Some(31));
        assert_eq!(chunk_size(b"0\r\n"), Some(0));
        assert_eq!(chunk_size(b"zz\r\n"), None);
    }

    #[tokio::test]
    async fn reset_closes_the_connection_abruptly() {
        let faults = Faults {
            reset: 1.0,
            seed: 7,
            ..Faults::default()
        };
        let proxy = FaultProxy::start(http_upstream().await, faults)
            .await
            .unwrap();
        // A short request is reset when the answer starts at the latest; a long one mid-body.
        let short = b"GET /bucket/key HTTP/1.1\r\nHost: s3\r\n\r\n".to_vec();
        let mut long =
            b"PUT /bucket/key HTTP/1.1\r\nHost: s3\r\nContent-Length: 8192\r\n\r\n".to_vec();
        long.extend_from_slice(&[b'x'; 8192]);
        for request in [short, long] {
            let mut client = TcpStream::connect(proxy.addr()).await.unwrap();
            // Writing may already fail: the reset can come before the first byte.
            let _ = client.write_all(&request).await;
            let mut answer = Vec::new();
            let read = within("the reset", client.read_to_end(&mut answer)).await;
            assert!(
                read.is_err() || answer.is_empty(),
                "got an answer through a reset: {:?}",
                String::from_utf8_lossy(&answer)
            );
        }
        assert_eq!(proxy.resets(), 2);
        assert_eq!(proxy.bytes_down(), 0);
    }

    #[tokio::test]
    async fn stall_pauses_once_then_forwards_everything() {
        let faults = Faults {
            stall: 1.0,
            stall_for: Duration::from_millis(50),
            ..Faults::default()
        };
        let proxy = FaultProxy::start(echo_upstream().await, faults)
            .await
            .unwrap();
        let mut client = TcpStream::connect(proxy.addr()).await.unwrap();
        // Not HTTP: one request of unknown length, so the stall falls within the stall window.
        echoes(&mut client, &[b's'; 2 * STALL_WINDOW as usize]).await;
        assert_eq!(proxy.stalls(), 1);
    }

    #[tokio::test]
    async fn go_away_refuses_connections_until_it_comes_back() {
        let proxy = FaultProxy::start(echo_upstream().await, Faults::default())
            .await
            .unwrap();
        let addr = proxy.addr();
        let mut open = TcpStream::connect(addr).await.unwrap();
        echoes(&mut open, b"before").await;

        proxy.go_away();
        let refused = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
        assert!(closed(&mut open).await, "open connections are killed");

        proxy.come_back().await.unwrap();
        assert_eq!(proxy.addr(), addr);
        let mut again = TcpStream::connect(addr).await.unwrap();
        echoes(&mut again, b"after").await;
        assert_eq!(proxy.connections(), 2);
    }

    #[tokio::test]
    async fn extra_connections_wait_for_a_free_slot() {
        let faults = Faults {
            max_connections: 1,
            ..Faults::default()
        };
        let proxy = FaultProxy::start(echo_upstream().await, faults)
            .await
            .unwrap();
        let mut first = TcpStream::connect(proxy.addr()).await.unwrap();
        echoes(&mut first, b"first").await;
        let mut second = TcpStream::connect(proxy.addr()).await.unwrap();
        second.write_all(b"second").await.unwrap();
        let mut back = [0u8; 6];
        let waited =
            tokio::time::timeout(Duration::from_millis(200), second.read_exact(&mut back)).await;
        assert!(
            waited.is_err(),
            "the second connection was forwarded at once"
        );
        drop(first);
        within("the second echo", second.read_exact(&mut back))
            .await
            .unwrap();
        assert_eq!(&back, b"second");
    }

    #[tokio::test]
    async fn stops_every_task_when_dropped() {
        let faults = Faults {
            max_connections: 1,
            ..Faults::default()
        };
        let proxy = FaultProxy::start(echo_upstream().await, faults)
            .await
            .unwrap();
        let addr = proxy.addr();
        let mut open = TcpStream::connect(addr).await.unwrap();
        echoes(&mut open, b"open").await;
        // Another one waiting for a slot, so the accept loop is busy too.
        let _waiting = TcpStream::connect(addr).await.unwrap();
        // Every task holds `shared`: once none does, none is left.
        let shared = Arc::downgrade(&proxy.shared);

        drop(proxy);
        within("the tasks' end", async {
            while shared.strong_count() > 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        assert!(closed(&mut open).await, "open connections are closed");
        let refused = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
    }
}
