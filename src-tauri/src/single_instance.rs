//! One window per data folder. A second launch ("Open with…", a double-click while the app
//! runs) hands its files to the first window, which comes to the front and reviews them, and
//! exits. Portable: a lock file held by the first process, and a loopback socket whose port
//! and one-time token it writes into the data folder (which only this user can read).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

const LOCK_FILE: &str = "window.lock";
const ADDRESS_FILE: &str = "window.json";
/// How long a second launch keeps trying while the first is still starting.
const HAND_OVER_WITHIN: Duration = Duration::from_secs(5);
/// No hand-over is this long; a longer line is not ours.
const MAX_MESSAGE: u64 = 4 << 20;

pub enum Claim {
    /// This process is the first: keep the listener alive and serve it.
    First(Listener),
    /// The window that has the folder took the paths; this process should exit.
    HandedOver,
}

pub struct Listener {
    /// Held for the life of the process; the OS lets go of it even after a crash.
    _lock: File,
    socket: TcpListener,
    token: String,
}

#[derive(Serialize, Deserialize)]
struct Address {
    port: u16,
    token: String,
}

#[derive(Serialize, Deserialize)]
struct HandOver {
    token: String,
    paths: Vec<PathBuf>,
}

/// Becomes the folder's window, or hands `paths` to the window that is.
pub fn claim(data_dir: &Path, paths: &[PathBuf]) -> std::io::Result<Claim> {
    uploader_core::private::create_dir(data_dir)?;
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(data_dir.join(LOCK_FILE))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return hand_over(data_dir, paths),
        Err(std::fs::TryLockError::Error(e)) => return Err(e),
    }
    let socket = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let token = uuid::Uuid::new_v4().simple().to_string();
    let address = Address {
        port: socket.local_addr()?.port(),
        token: token.clone(),
    };
    write_private(&data_dir.join(ADDRESS_FILE), &serde_json::to_vec(&address)?)?;
    Ok(Claim::First(Listener {
        _lock: lock,
        socket,
        token,
    }))
}

impl Listener {
    /// Calls `on_paths` (on a thread of its own) for each later launch's paths.
    pub fn serve(self, on_paths: impl Fn(Vec<PathBuf>) + Send + 'static) {
        std::thread::spawn(move || {
            let _lock = self._lock;
            for stream in self.socket.incoming().flatten() {
                match receive(stream, &self.token) {
                    Ok(paths) => on_paths(paths),
                    Err(e) => eprintln!("a second launch could not hand over its files: {e}"),
                }
            }
        });
    }
}

fn receive(stream: TcpStream, token: &str) -> std::io::Result<Vec<PathBuf>> {
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut line = String::new();
    BufReader::new(&stream)
        .take(MAX_MESSAGE)
        .read_line(&mut line)?;
    let message: HandOver = serde_json::from_str(&line)?;
    if message.token != token {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "wrong token",
        ));
    }
    (&stream).write_all(b"ok\n")?;
    Ok(message.paths)
}

/// Sends the paths (made absolute: the first window has another working directory) to the
/// window that holds the lock, retrying while it is still starting.
fn hand_over(data_dir: &Path, paths: &[PathBuf]) -> std::io::Result<Claim> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let paths: Vec<PathBuf> = paths.iter().map(|p| cwd.join(p)).collect();
    let started = Instant::now();
    loop {
        match try_hand_over(data_dir, &paths) {
            Ok(()) => return Ok(Claim::HandedOver),
            Err(e) if started.elapsed() >= HAND_OVER_WITHIN => {
                return Err(std::io::Error::other(format!(
                    "another Catalog Uploader window has {} open but does not answer ({e})",
                    data_dir.display()
                )));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

fn try_hand_over(data_dir: &Path, paths: &[PathBuf]) -> std::io::Result<()> {
    let address: Address = serde_json::from_slice(&std::fs::read(data_dir.join(ADDRESS_FILE))?)?;
    let mut stream = TcpStream::connect_timeout(
        &(Ipv4Addr::LOCALHOST, address.port).into(),
        Duration::from_secs(1),
    )?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut message = serde_json::to_vec(&HandOver {
        token: address.token,
        paths: paths.to_vec(),
    })?;
    message.push(b'\n');
    stream.write_all(&message)?;
    let mut answer = String::new();
    BufReader::new(&stream).read_line(&mut answer)?;
    if answer.trim() == "ok" {
        Ok(())
    } else {
        Err(std::io::Error::other("the window did not take the files"))
    }
}

/// Written whole (a reader never sees half) and readable by this user only. The temporary
/// file is made new: a stale one is removed first (a link itself, never what it points to), so
/// a symlink planted at its name is never written through.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temporary = path.with_extension("tmp");
    match std::fs::remove_file(&temporary) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut options = File::options();
    options.create_new(true).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(&temporary)?.write_all(bytes)?;
    std::fs::rename(&temporary, path)
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    /// A data folder whose first window is serving; what it is handed arrives on the channel.
    fn first_window() -> (tempfile::TempDir, mpsc::Receiver<Vec<PathBuf>>) {
        let dir = tempfile::tempdir().unwrap();
        let Claim::First(listener) = claim(dir.path(), &[]).unwrap() else {
            panic!("the first claim should win");
        };
        let (sent, received) = mpsc::channel();
        listener.serve(move |paths| {
            let _ = sent.send(paths);
        });
        (dir, received)
    }

    #[test]
    fn a_second_launch_hands_its_paths_to_the_first_made_absolute() {
        let (dir, received) = first_window();

        let relative = PathBuf::from("shoot/A1_front.jpg");
        let second = claim(dir.path(), std::slice::from_ref(&relative)).unwrap();
        assert!(matches!(second, Claim::HandedOver));
        let paths = received.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(paths, [std::env::current_dir().unwrap().join(relative)]);
    }

    #[test]
    fn a_hand_over_without_the_token_is_refused() {
        let (dir, received) = first_window();
        let address: Address =
            serde_json::from_slice(&std::fs::read(dir.path().join(ADDRESS_FILE)).unwrap()).unwrap();
        let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, address.port)).unwrap();
        stream
            .write_all(b"{\"token\":\"guess\",\"paths\":[\"/etc/passwd\"]}\n")
            .unwrap();
        let mut answer = String::new();
        let _ = BufReader::new(&stream).read_line(&mut answer);
        assert_eq!(answer, "");
        assert!(received.recv_timeout(Duration::from_millis(300)).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_planted_at_the_temporary_name_is_not_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere.txt");
        std::fs::write(&elsewhere, "keep me").unwrap();
        std::os::unix::fs::symlink(&elsewhere, dir.path().join("window.tmp")).unwrap();
        let _first = claim(dir.path(), &[]).unwrap();
        assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "keep me");
        let address: Address =
            serde_json::from_slice(&std::fs::read(dir.path().join(ADDRESS_FILE)).unwrap()).unwrap();
        assert!(address.port > 0);
        assert!(!dir.path().join(ADDRESS_FILE).is_symlink());
    }

    #[cfg(unix)]
    #[test]
    fn the_token_file_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let _first = claim(dir.path(), &[]).unwrap();
        let mode = std::fs::metadata(dir.path().join(ADDRESS_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
