//! The model-based test: seeded random sequences of what staff do on two workstations (drop a
//! photo, the same bytes again, a re-shoot under the same name, `--replace`, remove a photo or
//! an old version, go offline and back, a SIGKILL mid-upload, run the deletion worker or the
//! direct drain), run with the real `uploader` CLI (and in backend mode the real backend and
//! its worker) against SeaweedFS, beside a model of what each key must hold. After each
//! sequence every key is read back (SHA-256) and compared with the model, and the writes and
//! deletes the proxy saw are counted against the model's: I1–I5 as histories, not end states.
//!
//! `CATALOG_MODEL_SECONDS` bounds a run (default 60 per mode); `CATALOG_MODEL_SEQUENCES` asks
//! for a number of sequences instead; `CATALOG_MODEL_SEED` is the first seed (then +1, +2…;
//! 10000 by default, so CI runs the same sequences each time; `random` for new ones). A failure
//! prints its seed and the shortest sequence that still fails; fixed seeds in `REGRESSIONS`
//! run first, every time.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Bucket, Station, V1, V2, rendered_sha256};
use uploader_testkit::delete_faults::Effect;
use uploader_testkit::{BackendServer, shared_image};

/// Seeds that once failed (or cover a path worth keeping): run first, every time. 1058 and
/// 1085 found that `uploader upload` sends the outbox when it is done, and that a SIGKILLed
/// client's PUT still lands (the proxy now counts it).
const REGRESSIONS: &[u64] = &[1, 2, 3, 1058, 1085];

/// The third version a photo may have.
const V3: &str = "orientation/Landscape_2.jpg";
const VERSIONS: [&str; 3] = [V1, V2, V3];
const NAMES: [&str; 2] = ["front", "back"];
const SKUS: usize = 2;
const OPS_PER_SEQUENCE: usize = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Direct,
    Backend,
}

/// One thing a person does at workstation `w` (0 is A, 1 is B).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Op {
    /// Drops version `v` of SKU `sku`'s photo `name` (a new file each time).
    Drop {
        w: usize,
        sku: usize,
        name: usize,
        v: usize,
        replace: bool,
    },
    /// Like `Drop`, but the upload is SIGKILLed after `ms` and the file dropped again.
    Killed {
        w: usize,
        sku: usize,
        name: usize,
        v: usize,
        ms: u64,
    },
    /// Removes the `nth` (modulo their number) of the workstation's uploaded photos.
    Remove { w: usize, nth: usize },
    /// Goes offline (deletions are recorded, not sent) or back (and sends its outbox). An
    /// upload sends the outbox too, as `uploader upload` does when its queue is done.
    Network { w: usize, online: bool },
    /// Backend mode: the deletion worker drains the backend's queue.
    Worker,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ws = |w: &usize| if *w == 0 { "A" } else { "B" };
        match self {
            Op::Drop {
                w,
                sku,
                name,
                v,
                replace,
            } => write!(
                f,
                "{} drops S{sku}_{} v{}{}",
                ws(w),
                NAMES[*name],
                v + 1,
                if *replace { " --replace" } else { "" }
            ),
            Op::Killed {
                w,
                sku,
                name,
                v,
                ms,
            } => write!(
                f,
                "{} drops S{sku}_{} v{}, killed after {ms} ms, drops it again",
                ws(w),
                NAMES[*name],
                v + 1
            ),
            Op::Remove { w, nth } => write!(f, "{} removes its photo #{nth}", ws(w)),
            Op::Network { w, online: true } => write!(f, "{} comes back online", ws(w)),
            Op::Network { w, online: false } => write!(f, "{} goes offline", ws(w)),
            Op::Worker => write!(f, "the deletion worker runs"),
        }
    }
}

/// splitmix64: a seeded generator, so a sequence is its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn sequence(seed: u64, mode: Mode) -> Vec<Op> {
    let mut rng = Rng(seed);
    (0..OPS_PER_SEQUENCE)
        .map(|_| {
            let w = rng.below(2);
            let (sku, name, v) = (rng.below(SKUS), rng.below(NAMES.len()), rng.below(3));
            match rng.below(12) {
                0..=3 => Op::Drop {
                    w,
                    sku,
                    name,
                    v,
                    replace: false,
                },
                4 => Op::Drop {
                    w,
                    sku,
                    name,
                    v,
                    replace: true,
                },
                5 => Op::Killed {
                    w,
                    sku,
                    name,
                    v,
                    ms: 20 + rng.below(400) as u64,
                },
                6..=8 => Op::Remove {
                    w,
                    nth: rng.below(4),
                },
                9 | 10 => Op::Network {
                    w,
                    online: rng.below(2) == 0,
                },
                _ if mode == Mode::Backend => Op::Worker,
                _ => Op::Network { w, online: true },
            }
        })
        .collect()
}

/// One upload in the model: which workstation made it, of which version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Upload {
    n: u64,
    w: usize,
    v: usize,
}

/// A deletion the model expects to be applied to `key` if it still holds `meant`.
#[derive(Clone, Debug)]
struct Deletion {
    key: String,
    meant: Upload,
}

/// What must be true, kept beside the real system.
#[derive(Default)]
struct Model {
    /// What each key holds.
    bucket: HashMap<String, Upload>,
    /// Who last wrote each key (the backend's owner of it, deleted or not).
    last_writer: HashMap<String, usize>,
    /// What each workstation's record says each key holds, and whose photo (job) it is.
    record: [HashMap<String, (i64, Upload)>; 2],
    /// Deletions recorded at a workstation and not sent yet.
    outbox: [Vec<Deletion>; 2],
    /// Backend mode: deletions in the backend's queue.
    queue: Vec<Deletion>,
    online: [bool; 2],
    /// Each workstation's uploaded photos (jobs), old versions included, not removed.
    photos: [Vec<i64>; 2],
    writes: HashMap<String, usize>,
    deletes: HashMap<String, usize>,
    uploads: u64,
}

impl Model {
    /// A deletion reaches S3: applied only if the key still holds the upload meant.
    fn apply(&mut self, d: Deletion) {
        if self.bucket.get(&d.key) == Some(&d.meant) {
            self.bucket.remove(&d.key);
            *self.deletes.entry(d.key).or_default() += 1;
        }
    }

    /// Workstation `w` sends its outbox: to S3 (direct) or the backend's queue.
    fn send(&mut self, w: usize, mode: Mode) {
        for d in std::mem::take(&mut self.outbox[w]) {
            match mode {
                Mode::Direct => self.apply(d),
                Mode::Backend => self.queue.push(d),
            }
        }
    }

    fn delete(&mut self, w: usize, key: &str, mode: Mode) {
        if let Some((_, meant)) = self.record[w].remove(key) {
            self.outbox[w].push(Deletion {
                key: key.to_string(),
                meant,
            });
            if self.online[w] {
                self.send(w, mode);
            }
        }
    }
}

/// The run: a bucket (and backend) shared by every sequence, each sequence under SKUs of its
/// own, so nothing carries over.
pub struct Harness {
    mode: Mode,
    bucket: Bucket,
    backend: Option<BackendServer>,
    rendered: [String; 3],
    runs: u64,
}

impl Harness {
    pub async fn start(mode: Mode) -> Harness {
        let bucket = Bucket::start().await;
        let backend = (mode == Mode::Backend)
            .then(|| BackendServer::start_with(&bucket.server, &bucket.proxy.endpoint(), &[]));
        let rendered = VERSIONS.map(|v| rendered_sha256(&shared_image(v)));
        Harness {
            mode,
            bucket,
            backend,
            rendered,
            runs: 0,
        }
    }

    /// Runs `ops` on two new workstations; why it broke an invariant, if it did.
    async fn run(&mut self, ops: &[Op]) -> Result<(), String> {
        self.runs += 1;
        let tag = format!("M{}", self.runs);
        let stations: Vec<Station> = (0..2)
            .map(|w| {
                Station::new(match &self.backend {
                    // A's token has the default scope, B's may act on any key.
                    Some(b) if w == 0 => b.workstation(&format!("{tag}-A"), &[]),
                    Some(b) => b.workstation(&format!("{tag}-B"), &["--scope", "any"]),
                    None => self.bucket.direct_env(),
                })
            })
            .collect();
        let mut model = Model {
            online: [true, true],
            ..Model::default()
        };
        let sku = |s: usize| format!("{tag}S{s}");
        let mut files = 0;
        for op in ops {
            match *op {
                Op::Drop {
                    w, sku: s, name, v, ..
                }
                | Op::Killed {
                    w, sku: s, name, v, ..
                } => {
                    let (replace, killed) = match *op {
                        Op::Drop { replace, .. } => (replace, None),
                        Op::Killed { ms, .. } => (false, Some(ms)),
                        _ => (false, None),
                    };
                    files += 1;
                    let file = stations[w].photo(
                        &format!("f{files}"),
                        &format!("{}_{}.jpg", sku(s), NAMES[name]),
                        VERSIONS[v],
                    );
                    self.upload(&mut model, &stations[w], w, v, &file, replace, killed)?;
                }
                Op::Remove { w, nth } => {
                    let photos = model.photos[w].clone();
                    if photos.is_empty() {
                        continue;
                    }
                    let photo = photos[nth % photos.len()];
                    let st = &stations[w];
                    let job = photo.to_string();
                    let mut args = vec!["--job", job.as_str()];
                    if !model.online[w] {
                        args.push("--no-send");
                    }
                    let (code, report) = st.delete(&args);
                    if code != 0 {
                        return Err(format!("delete --job {job} exited {code}: {report:#}"));
                    }
                    // Its keys that still hold this photo by the record.
                    let keys: Vec<String> = model.record[w]
                        .iter()
                        .filter(|(_, (j, _))| *j == photo)
                        .map(|(k, _)| k.clone())
                        .collect();
                    for key in keys {
                        model.delete(w, &key, self.mode);
                    }
                    model.photos[w].retain(|p| *p != photo);
                }
                Op::Network { w, online } => {
                    model.online[w] = online;
                    if online {
                        stations[w].sync();
                        model.send(w, self.mode);
                    }
                }
                Op::Worker => self.drain_backend(&mut model).await?,
            }
        }
        // Everything comes back and is sent; then the bucket must be as the model says.
        for (w, station) in stations.iter().enumerate() {
            model.online[w] = true;
            station.sync();
            model.send(w, self.mode);
        }
        if self.mode == Mode::Backend {
            self.drain_backend(&mut model).await?;
        }
        self.check(&model, &stations, &tag).await
    }

    /// Uploads `file` at workstation `w` (first started and SIGKILLed after `killed_after`
    /// ms, if given: the person then drops it again); the model's side of it, and whether
    /// the CLI agrees.
    #[allow(clippy::too_many_arguments)]
    fn upload(
        &self,
        model: &mut Model,
        station: &Station,
        w: usize,
        v: usize,
        file: &std::path::Path,
        replace: bool,
        killed_after: Option<u64>,
    ) -> Result<(), String> {
        if let Some(ms) = killed_after {
            kill_after(station.cmd().args(["upload", "--json"]).arg(file), ms);
        }
        let mut args = vec!["upload", "--json"];
        if replace {
            args.push("--replace");
        }
        let (code, report) = super::run_json(station.cmd().args(&args).arg(file));
        let outcome = self.expect_upload(model, w, v, replace, code, &report["files"][0]);
        // `uploader upload` sends the workstation's outbox when its queue is done.
        model.send(w, self.mode);
        outcome
    }

    /// The model's side of an upload the CLI reported, and whether the two agree.
    fn expect_upload(
        &self,
        model: &mut Model,
        w: usize,
        v: usize,
        replace: bool,
        code: i32,
        report: &Value,
    ) -> Result<(), String> {
        let key = report["keys"][0]
            .as_str()
            .ok_or_else(|| format!("no key in {report:#}"))?
            .to_string();
        let job = report["job_id"].as_i64().unwrap_or(-1);
        // Backend mode: A's token may not overwrite a key another workstation wrote last.
        let refused = self.mode == Mode::Backend
            && w == 0
            && model
                .last_writer
                .get(&key)
                .is_some_and(|writer| *writer != 0);
        if refused {
            return if code == 1 && report["state"] == "failed" {
                Ok(())
            } else {
                Err(format!(
                    "A overwrote B's `{key}` with a token of scope own: {report:#}"
                ))
            };
        }
        if code != 0 || report["state"] != "uploaded" {
            return Err(format!("upload of `{key}` exited {code}: {report:#}"));
        }
        let holds_it = model.record[w]
            .get(&key)
            .is_some_and(|(_, u)| model.bucket.get(&key) == Some(u) && u.v == v);
        let upload = if holds_it {
            model.record[w][&key].1
        } else {
            model.uploads += 1;
            let upload = Upload {
                n: model.uploads,
                w,
                v,
            };
            model.bucket.insert(key.clone(), upload);
            model.last_writer.insert(key.clone(), w);
            *model.writes.entry(key.clone()).or_default() += 1;
            // A deletion of the key not sent yet would delete this upload: superseded.
            model.outbox[w].retain(|d| d.key != key);
            upload
        };
        model.record[w].insert(key.clone(), (job, upload));
        if !model.photos[w].contains(&job) {
            model.photos[w].push(job);
        }
        if replace {
            // The SKU's earlier photos: their keys that still hold them go.
            let dir = |k: &str| k.rsplit_once('/').map(|(d, _)| d.to_string());
            let earlier: Vec<(String, i64)> = model.record[w]
                .iter()
                .filter(|(k, (j, _))| *j != job && dir(k) == dir(&key))
                .map(|(k, (j, _))| (k.clone(), *j))
                .collect();
            for (k, j) in earlier {
                model.delete(w, &k, self.mode);
                model.photos[w].retain(|p| *p != j);
            }
        }
        Ok(())
    }

    /// Runs the backend's worker until its queue is empty, then stops it.
    async fn drain_backend(&self, model: &mut Model) -> Result<(), String> {
        let Some(backend) = &self.backend else {
            return Ok(());
        };
        let mut worker = backend.start_worker(
            &self.bucket.proxy.endpoint(),
            &[("UPLOADER_DELETION_POLL_SECS", "0.05")],
        );
        let db = rusqlite::Connection::open(backend.database()).map_err(|e| e.to_string())?;
        let started = Instant::now();
        loop {
            let left: i64 = db
                .query_row("SELECT COUNT(*) FROM s3_deletion_queue", [], |r| r.get(0))
                .map_err(|e| e.to_string())?;
            if left == 0 {
                break;
            }
            if started.elapsed() > Duration::from_secs(30) {
                return Err(format!(
                    "the worker left {left} deletions: {}",
                    worker.log()
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        worker.kill();
        for d in std::mem::take(&mut model.queue) {
            model.apply(d);
        }
        Ok(())
    }

    /// I1–I5 against the model: each key's bytes, the writes and deletes counted at the
    /// proxy, and each workstation's record.
    async fn check(&self, model: &Model, stations: &[Station], tag: &str) -> Result<(), String> {
        let prefix = format!("products/{tag}S");
        let in_bucket: Vec<String> = self
            .bucket
            .server
            .keys()
            .await
            .into_iter()
            .filter(|k| k.starts_with(&prefix))
            .collect();
        let mut problems = Vec::new();
        for key in &in_bucket {
            let want = model.bucket.get(key).map(|u| self.rendered[u.v].clone());
            let got = self.bucket.sha256(key).await;
            if got != want {
                problems.push(format!("`{key}` holds {got:?}, the model says {want:?}"));
            }
        }
        for key in model.bucket.keys() {
            if !in_bucket.contains(key) {
                problems.push(format!("`{key}` is gone, the model says it holds a photo"));
            }
        }
        let mut keys: Vec<&String> = model.writes.keys().chain(model.deletes.keys()).collect();
        keys.extend(in_bucket.iter());
        keys.sort();
        keys.dedup();
        for key in keys {
            let seen = (
                self.bucket.proxy.succeeded(Effect::Write, key),
                self.bucket.proxy.succeeded(Effect::Delete, key),
            );
            let want = (
                model.writes.get(key).copied().unwrap_or(0),
                model.deletes.get(key).copied().unwrap_or(0),
            );
            if seen != want {
                problems.push(format!(
                    "`{key}`: {} writes and {} deletes, the model says {} and {}",
                    seen.0, seen.1, want.0, want.1
                ));
            }
        }
        for (w, station) in stations.iter().enumerate() {
            let recorded = recorded(station);
            let want: BTreeMap<String, String> = model.record[w]
                .iter()
                .map(|(k, (_, u))| (k.clone(), self.rendered[u.v].clone()))
                .collect();
            if recorded != want {
                problems.push(format!(
                    "workstation {w}'s record {recorded:?}, the model says {want:?}"
                ));
            }
            let stuck: Vec<Value> = station
                .outbox()
                .into_iter()
                .filter(|r| !matches!(r["state"].as_str(), Some("done" | "synced" | "superseded")))
                .collect();
            if !stuck.is_empty() {
                problems.push(format!(
                    "workstation {w}'s outbox did not settle: {stuck:#?}"
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    }
}

/// What a workstation's database says each key holds: key → SHA-256.
fn recorded(station: &Station) -> BTreeMap<String, String> {
    let db = station.ws.data_dir().join("uploader.sqlite3");
    let Ok(conn) = rusqlite::Connection::open(&db) else {
        return BTreeMap::new();
    };
    let Ok(mut statement) = conn.prepare("SELECT object_key, sha256 FROM objects") else {
        return BTreeMap::new();
    };
    statement
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map(|rows| rows.filter_map(Result::ok).collect())
        .unwrap_or_default()
}

/// Starts `cmd` and SIGKILLs it after `ms` (if it is still running).
fn kill_after(cmd: &mut std::process::Command, ms: u64) {
    let mut child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start uploader");
    std::thread::sleep(Duration::from_millis(ms));
    let _ = child.kill();
    let _ = child.wait();
}

/// The shortest sequence (dropping one op at a time) that still fails, and its failure.
async fn shrink(h: &mut Harness, mut ops: Vec<Op>, mut why: String) -> (Vec<Op>, String) {
    let mut i = 0;
    while i < ops.len() {
        let mut shorter = ops.clone();
        shorter.remove(i);
        match h.run(&shorter).await {
            Err(e) => {
                ops = shorter;
                why = e;
            }
            Ok(()) => i += 1,
        }
    }
    (ops, why)
}

/// Runs the regressions, then seeded sequences until the time or count is used up; panics
/// with the seed and the shortest failing sequence.
pub async fn run(mode: Mode) {
    let seconds: u64 = std::env::var("CATALOG_MODEL_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let wanted: Option<u64> = std::env::var("CATALOG_MODEL_SEQUENCES")
        .ok()
        .and_then(|s| s.parse().ok());
    // A fixed start by default, so CI runs the same sequences every time (as many as its time
    // allows); `CATALOG_MODEL_SEED=random` explores new ones, by hand.
    let first: u64 = match std::env::var("CATALOG_MODEL_SEED").ok().as_deref() {
        Some("random") => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        Some(seed) => seed.parse().unwrap_or(10_000),
        None => 10_000,
    };
    let mut h = Harness::start(mode).await;
    let started = Instant::now();
    let seeds = REGRESSIONS.iter().copied().chain((0..).map(|i| first + i));
    let mut ran = 0u64;
    let mut ops_run = 0usize;
    let fixed = REGRESSIONS.len() as u64;
    for seed in seeds {
        // The regressions always; then a number of sequences, or until the time is up.
        let done = ran >= fixed
            && match wanted {
                Some(n) => ran - fixed >= n,
                None => started.elapsed().as_secs() >= seconds,
            };
        if done {
            break;
        }
        let ops = sequence(seed, mode);
        ops_run += ops.len();
        if let Err(why) = h.run(&ops).await {
            let (shortest, why) = shrink(&mut h, ops, why).await;
            let steps: Vec<String> = shortest.iter().map(|op| format!("  {op}")).collect();
            panic!(
                "{mode:?} mode, seed {seed} (CATALOG_MODEL_SEED={seed} CATALOG_MODEL_SEQUENCES=1) \
                 fails; shortest sequence:\n{}\n{why}",
                steps.join("\n")
            );
        }
        ran += 1;
    }
    let effects = h.bucket.proxy.side_effects();
    let count = |kind| {
        effects
            .iter()
            .filter(|e| e.succeeded() && e.kind == kind)
            .count()
    };
    let (writes, deletes) = (count(Effect::Write), count(Effect::Delete));
    println!(
        "{mode:?} mode: {ran} sequences ({ops_run} operations) in {:.0} s from seed {first}: \
         {writes} writes and {deletes} deletes, each as the model expected",
        started.elapsed().as_secs_f64()
    );
}
