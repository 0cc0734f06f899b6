//! The real app window, driven through WebDriver (tauri-driver + WebKitWebDriver) under its own
//! Xvfb, against a real SeaweedFS: a dropped photo is resized, uploaded and shown as uploaded.
//!
//! Ignored by plain `cargo test` (it needs Xvfb, tauri-driver and WebKitWebDriver, which
//! `scripts/setup.sh` installs); `scripts/test.sh` runs it with `--ignored`.

mod support;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use uploader_testkit::{S3Server, copy_images};

const APP: &str = env!("CARGO_BIN_EXE_catalog-uploader");

/// Kills a helper process when the test ends, however it ends.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts Xvfb on a free display; returns it and the display name.
fn start_xvfb() -> (Reaped, String) {
    let mut child = Command::new("Xvfb")
        .args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            "1280x860x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb is needed for the window test (scripts/setup.sh installs it)");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("Xvfb stdout");
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("Xvfb tells its display");
    let display = format!(":{}", line.trim());
    (Reaped(child), display)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn tauri_driver() -> PathBuf {
    if let Some(p) = std::env::var_os("TAURI_DRIVER") {
        return PathBuf::from(p);
    }
    let home_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|c| c.join("bin/tauri-driver"));
    match home_bin {
        Some(p) if p.exists() => p,
        _ => PathBuf::from("tauri-driver"),
    }
}

/// A minimal W3C WebDriver client: JSON over HTTP, nothing to download.
struct WebDriver {
    agent: ureq::Agent,
    base: String,
    session: String,
}

impl WebDriver {
    fn request(agent: &ureq::Agent, method: &str, url: &str, body: Option<Value>) -> Value {
        let response = match (method, body) {
            ("GET", _) => agent.get(url).call(),
            ("DELETE", _) => agent.delete(url).call(),
            (_, body) => agent.post(url).send_json(body.unwrap_or_else(|| json!({}))),
        };
        let mut response = response.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = response.status();
        let value: Value = response
            .body_mut()
            .read_json()
            .unwrap_or_else(|e| panic!("{method} {url}: bad JSON: {e}"));
        assert!(status.is_success(), "{method} {url} -> {status}: {value:#}");
        value["value"].clone()
    }

    fn connect(port: u16, app: &Path) -> WebDriver {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(90)))
            .build()
            .into();
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while agent.get(format!("{base}/status")).call().is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "tauri-driver did not start on {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "wry",
            "tauri:options": {"application": app.to_string_lossy()}
        }}});
        let session = Self::request(&agent, "POST", &format!("{base}/session"), Some(caps));
        let session = session["sessionId"]
            .as_str()
            .expect("session id")
            .to_string();
        WebDriver {
            agent,
            base,
            session,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/session/{}{path}", self.base, self.session)
    }

    fn script(&self, script: &str, args: Value) -> Value {
        Self::request(
            &self.agent,
            "POST",
            &self.url("/execute/sync"),
            Some(json!({"script": script, "args": args})),
        )
    }

    /// Runs `script` with a `done` callback as its last argument.
    fn script_async(&self, script: &str, args: Value) -> Value {
        Self::request(
            &self.agent,
            "POST",
            &self.url("/execute/async"),
            Some(json!({"script": script, "args": args})),
        )
    }

    fn wait_for(&self, what: &str, within: Duration, script: &str) -> Value {
        let started = Instant::now();
        loop {
            let value = self.script(script, json!([]));
            if !value.is_null() && value != json!(false) {
                return value;
            }
            if started.elapsed() > within {
                let body = self.script("return document.body.innerText", json!([]));
                panic!(
                    "timed out waiting for {what}; the window shows:\n{}",
                    body.as_str().unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn close(self) {
        Self::request(&self.agent, "DELETE", &self.url(""), None);
    }
}

/// The app in its own Xvfb, home and data dir, driven through tauri-driver.
struct Window {
    driver: WebDriver,
    display: String,
    _tauri_driver: Reaped,
    _xvfb: Reaped,
}

/// The app's environment: a clean home, `display`, `env`, and nothing of the developer's own.
fn app_env(mut command: Command, home: &Path, display: &str, env: &[(&str, String)]) -> Command {
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("DISPLAY", display)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("XDG_RUNTIME_DIR", home)
        .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    command
}

impl Window {
    /// Launches the app with `env` added to a clean home, and waits for the UI to be ready.
    fn launch(home: &Path, env: &[(&str, String)]) -> Window {
        // bench/ui.sh measures the release build: CATALOG_UPLOADER_APP names it.
        let app =
            std::env::var_os("CATALOG_UPLOADER_APP").map_or(PathBuf::from(APP), PathBuf::from);
        Self::launch_app(home, env, &app)
    }

    /// Launches `app` (the app, or bench/ui.sh's baseline window) and waits for it to be ready.
    fn launch_app(home: &Path, env: &[(&str, String)], app: &Path) -> Window {
        let (xvfb, display) = start_xvfb();
        let (port, native_port) = (free_port(), free_port());
        let tauri_driver = Reaped(
            app_env(Command::new(tauri_driver()), home, &display, env)
                .args([
                    "--port",
                    &port.to_string(),
                    "--native-port",
                    &native_port.to_string(),
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect(
                    "tauri-driver is needed for the window test (scripts/setup.sh installs it)",
                ),
        );
        let driver = WebDriver::connect(port, app);
        driver.wait_for(
            "the window to load",
            Duration::from_secs(60),
            "return document.body.dataset.ready === 'true'",
        );
        Window {
            driver,
            display,
            _tauri_driver: tauri_driver,
            _xvfb: xvfb,
        }
    }

    /// Drops `paths` on the window the way the webview reports a real drop.
    fn drop(&self, paths: &[&Path]) {
        let paths: Vec<String> = paths
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        let emitted = self.driver.script_async(
            "const [paths, done] = arguments;
             window.__TAURI__.event.emit('tauri://drag-drop', {paths, position: {x: 400, y: 200}})
               .then(() => done('ok'), (e) => done('error: ' + e));",
            json!([paths]),
        );
        assert_eq!(emitted, json!("ok"));
    }

    /// Waits for the review sheet; returns its headline.
    fn wait_for_review(&self) -> String {
        self.driver
            .wait_for(
                "the review sheet",
                Duration::from_secs(60),
                "return document.querySelector('[data-testid=review-headline]')?.innerText ?? null",
            )
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn confirm_review(&self) {
        self.click("review-confirm");
        self.driver.wait_for(
            "the review sheet to close",
            Duration::from_secs(30),
            "return document.querySelector('[data-testid=review-sheet]') ? null : 'closed'",
        );
    }

    fn click(&self, test_id: &str) {
        let clicked = self.driver.script(
            &format!(
                "const b = document.querySelector('[data-testid={test_id}]');
                 if (!b || b.disabled) return 'missing or disabled';
                 b.click(); return 'ok';"
            ),
            json!([]),
        );
        assert_eq!(clicked, json!("ok"), "{test_id}");
    }

    fn text(&self, test_id: &str) -> Option<String> {
        let script =
            format!("return document.querySelector('[data-testid={test_id}]')?.innerText ?? null");
        self.driver
            .script(&script, json!([]))
            .as_str()
            .map(str::to_string)
    }

    /// Stores credentials through the Settings form (the key id only in direct mode); returns
    /// the form's status once it says they are configured.
    fn store_credentials(&self, key_id: Option<&str>, secret: &str) -> String {
        self.click("tab-settings");
        self.driver.wait_for(
            "the credentials form",
            Duration::from_secs(10),
            "return document.querySelector('[data-testid=credential-secret]') ? 'ok' : null",
        );
        let typed = self.driver.script(
            "const set = (id, value) => {
               const input = document.querySelector(`[data-testid=${id}]`);
               input.value = value;
               input.dispatchEvent(new Event('input', {bubbles: true}));
             };
             if (arguments[0] !== null) set('access-key-id', arguments[0]);
             set('credential-secret', arguments[1]);
             return 'ok';",
            json!([key_id, secret]),
        );
        assert_eq!(typed, json!("ok"));
        self.click("credentials-store");
        let stored = self.driver.wait_for(
            "the credentials to be stored",
            Duration::from_secs(20),
            "const s = document.querySelector('[data-testid=credentials-status]');
             return s?.dataset.configured === 'true' ? s.innerText : null;",
        );
        stored.as_str().unwrap_or_default().to_string()
    }

    /// Runs the connection test from Settings and asserts that it passed.
    fn connection_test_passes(&self) {
        self.click("test-connection");
        let tested = self.driver.wait_for(
            "the connection test",
            Duration::from_secs(30),
            "const r = document.querySelector('[data-testid=connection-result]');
             return r ? r.dataset.passed + ': ' + r.innerText : null;",
        );
        assert!(
            tested.as_str().unwrap_or_default().starts_with("true"),
            "{tested}"
        );
    }

    /// Screenshot of the X display (WebKitWebDriver's own screenshot hangs under Xvfb).
    fn screenshot(&self, name: &str) -> PathBuf {
        let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
        let status = Command::new("import")
            .args(["-display", &self.display, "-window", "root"])
            // The window's own size (tauri.conf.json), not the whole screen.
            .args(["-crop", "1000x700+0+0", "+repage"])
            .arg(&shot)
            .status()
            .expect("ImageMagick's import takes the screenshot (scripts/setup.sh installs it)");
        assert!(status.success(), "screenshot failed");
        eprintln!("screenshot: {}", shot.display());
        shot
    }

    fn close(self) {
        self.driver.close();
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: scripts/test.sh runs it"]
async fn a_dropped_photo_is_uploaded_and_shown_as_uploaded() {
    let server = S3Server::start().await;
    let home = tempfile::tempdir().unwrap();
    let photo = real_photo(home.path(), "SKU42_front.jpg");

    let window = tokio::task::block_in_place(|| {
        let window = Window::launch(home.path(), &server.env());
        assert_eq!(window.text("setup-problem"), None, "the app is not ready");
        let destination = window.text("destination").unwrap_or_default();
        assert!(
            destination.contains(&server.bucket) && destination.contains("products/"),
            "{destination}"
        );
        assert!(window.text("dropzone").is_some());

        // A capability-gated call: fails with "not allowed" if the capabilities were dropped.
        let title = window.driver.script_async(
            "const done = arguments[arguments.length - 1];
             window.__TAURI__.window.getCurrentWindow().title().then(done, (e) => done('error: ' + e));",
            json!([]),
        );
        assert_eq!(title, json!("Catalog Uploader"));

        window.drop(&[&photo]);
        let headline = window.wait_for_review();
        assert!(headline.contains("1 photo to upload, 1 SKU"), "{headline}");
        window.confirm_review();

        let state = window.driver.wait_for(
            "the row to finish",
            Duration::from_secs(90),
            "const row = document.querySelector('[data-testid=job-row][data-file=\"SKU42_front.jpg\"]');
             const s = row?.dataset.state;
             return s === 'uploaded' || s === 'failed' ? s + ': ' + row.innerText : null;",
        );
        assert!(
            state.as_str().unwrap_or_default().starts_with("uploaded"),
            "{state}"
        );
        let summary = window.text("summary").unwrap_or_default();
        assert!(summary.contains("1 uploaded"), "{summary}");
        window.screenshot("e2e-main.png");
        window
    });

    assert_eq!(
        server.keys().await,
        [
            "products/SKU42/SKU42_front-large.jpg",
            "products/SKU42/SKU42_front-thumb.jpg"
        ]
    );
    let (body, content_type) = server.get("products/SKU42/SKU42_front-large.jpg").await;
    assert_eq!(content_type.as_deref(), Some("image/jpeg"));
    let image = image::load_from_memory(&body).unwrap();
    assert_eq!(image.width().max(image.height()), 2000);
    tokio::task::block_in_place(|| window.close());
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: scripts/test.sh runs it"]
async fn without_a_bucket_the_window_opens_and_names_the_setting() {
    let home = tempfile::tempdir().unwrap();
    tokio::task::block_in_place(|| {
        let window = Window::launch(home.path(), &[]);
        let problem = window.text("setup-problem").unwrap_or_default();
        assert!(
            problem.contains("s3.bucket") && problem.contains("AWS_S3_BUCKET_NAME"),
            "{problem}"
        );
        // A drop while unconfigured says why nothing happens, and records nothing.
        let emitted = window.driver.script_async(
            "const done = arguments[arguments.length - 1];
             window.__TAURI__.event.emit('tauri://drag-drop', {paths: ['/tmp/x.jpg'], position: {x: 1, y: 1}})
               .then(() => done('ok'), (e) => done('error: ' + e));",
            json!([]),
        );
        assert_eq!(emitted, json!("ok"));
        let notice = window.driver.wait_for(
            "the notice",
            Duration::from_secs(10),
            "return document.querySelector('[data-testid=notice]')?.innerText ?? null",
        );
        assert!(
            notice.as_str().unwrap_or_default().contains("s3.bucket"),
            "{notice}"
        );
        assert_eq!(window.text("summary").as_deref(), Some("No photos yet."));
        window.close();
    });
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: scripts/test.sh runs it"]
async fn a_deletion_backlog_over_the_threshold_is_an_alert_until_the_server_takes_it() {
    let server = S3Server::start().await;
    let keys: Vec<String> = (0..150)
        .map(|i| format!("products/E2E/{i:03}-large.jpg"))
        .collect();
    server.put_many(&keys).await;
    // S3 is out of reach until the test says otherwise.
    let proxy = uploader_testkit::FaultProxy::start(
        server
            .endpoint
            .trim_start_matches("http://")
            .parse()
            .unwrap(),
        uploader_testkit::Faults::default(),
    )
    .await
    .unwrap();
    proxy.go_away();
    let home = tempfile::tempdir().unwrap();
    let data_dir = home.path().join("data");
    let list = home.path().join("keys.txt");
    std::fs::write(&list, keys.join("\n")).unwrap();
    let mut env = server.env();
    env.retain(|(k, _)| *k != "AWS_ENDPOINT_URL");
    env.push(("AWS_ENDPOINT_URL", proxy.endpoint()));
    env.push((
        "CATALOG_UPLOADER_DATA_DIR",
        data_dir.to_string_lossy().into_owned(),
    ));
    // Recorded by the CLI beforehand, as another tool on the workstation would.
    let recorded = Command::new(support::uploader_bin())
        .env_clear()
        .env("HOME", home.path())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .args(["delete", "--no-send", "--keys-from"])
        .arg(&list)
        .output()
        .unwrap();
    assert!(
        recorded.status.success(),
        "{}",
        String::from_utf8_lossy(&recorded.stderr)
    );

    let window = tokio::task::block_in_place(|| {
        let window = Window::launch(home.path(), &env);
        let alert = window.driver.wait_for(
            "the backlog alert",
            Duration::from_secs(30),
            "return document.querySelector('[data-testid=outbox-alert]')?.innerText ?? null",
        );
        assert!(
            alert
                .as_str()
                .unwrap_or_default()
                .contains("More than 100 deletions are waiting (150)"),
            "{alert}"
        );
        let status = window.text("outbox-status").unwrap_or_default();
        assert!(status.contains("150 deletions waiting"), "{status}");
        // The panel lists them, each with why it has not gone yet.
        window.click("tab-outbox");
        let rows = window.driver.wait_for(
            "the outbox panel's rows",
            Duration::from_secs(30),
            "const list = document.querySelector('[data-testid=outbox-list]');
             return list && Number(list.dataset.count) > 0 ? Number(list.dataset.count) : null;",
        );
        assert_eq!(rows, json!(150));
        let first = window.driver.wait_for(
            "the rows in view",
            Duration::from_secs(30),
            "return document.querySelector('[data-testid=outbox-row]')?.innerText ?? null",
        );
        assert!(
            first
                .as_str()
                .unwrap_or_default()
                .contains("attempt 0 of 10"),
            "{first}"
        );
        // Painted a moment after the DOM changes.
        std::thread::sleep(Duration::from_millis(500));
        window.screenshot("outbox.png");
        window.click("tab-queue");
        window
    });

    // The server answers again: the app deletes by itself and the alert goes.
    proxy.come_back().await.unwrap();
    let window = tokio::task::block_in_place(|| {
        window.driver.wait_for(
            "the alert to clear",
            Duration::from_secs(90),
            "return document.querySelector('[data-testid=outbox-alert]') ? null : 'gone'",
        );
        window
    });
    let left = server
        .keys()
        .await
        .into_iter()
        .filter(|k| k.starts_with("products/E2E/"))
        .count();
    assert_eq!(left, 0);
    tokio::task::block_in_place(|| window.close());
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: scripts/test.sh runs it"]
async fn a_folder_of_50_photos_is_reviewed_with_its_skus_then_all_are_uploaded() {
    let server = S3Server::start().await;
    let home = tempfile::tempdir().unwrap();
    let folder = home.path().join("shoot");
    std::fs::create_dir_all(folder.join("day 2")).unwrap();
    let mut names = Vec::new();
    for n in 0..50u32 {
        // Ten SKUs of five views; some in a subfolder, as a real shoot is filed.
        let name = format!(
            "SKU{:02}_{}.jpg",
            n / 5,
            ["front", "back", "left", "right", "top"][n as usize % 5]
        );
        let dir = if n >= 40 {
            folder.join("day 2")
        } else {
            folder.clone()
        };
        let hue = (n * 5) as u8;
        image::RgbImage::from_fn(1200, 900, |x, y| {
            image::Rgb([hue, (x / 5) as u8, (y / 4) as u8])
        })
        .save(dir.join(&name))
        .unwrap();
        names.push(name);
    }
    // Not images: passed over, and said so.
    std::fs::write(folder.join("shot-list.txt"), "50 photos").unwrap();
    std::fs::write(folder.join(".DS_Store"), "x").unwrap();

    let window = tokio::task::block_in_place(|| {
        let window = Window::launch(home.path(), &server.env());
        window.drop(&[&folder]);
        let headline = window.wait_for_review();
        assert_eq!(
            headline,
            "50 photos to upload, 10 SKUs · 1 other file skipped"
        );
        let rows = window.driver.script(
            "const list = document.querySelector('[data-testid=review-list]');
             const rows = [...document.querySelectorAll('[data-testid=review-row]')];
             return {count: Number(list.dataset.count),
                     rendered: rows.map((r) => [r.dataset.file, r.dataset.sku])};",
            json!([]),
        );
        assert_eq!(rows["count"], json!(50));
        let rendered = rows["rendered"].as_array().cloned().unwrap_or_default();
        assert!(!rendered.is_empty());
        for row in &rendered {
            let (file, sku) = (row[0].as_str().unwrap(), row[1].as_str().unwrap());
            assert_eq!(Some(sku), file.split('_').next(), "{file}");
        }
        // Thumbnails come from the app's own scheme, rendered by the core.
        window.driver.wait_for(
            "the first thumbnails",
            Duration::from_secs(30),
            "const img = document.querySelector('[data-testid=review-row] img');
             return img && img.complete && img.naturalWidth > 0 ? img.naturalWidth : null;",
        );
        window.screenshot("review.png");
        window.confirm_review();
        window.driver.wait_for(
            "the first upload",
            Duration::from_secs(60),
            "return document.querySelector('[data-testid=job-row][data-state=uploaded]') ? 'yes' : null",
        );
        window.screenshot("queue.png");
        let summary = window.driver.wait_for(
            "all 50 to be uploaded",
            Duration::from_secs(180),
            "const s = document.querySelector('[data-testid=summary]')?.innerText ?? '';
             return s.includes('50 uploaded') ? s : null;",
        );
        assert!(
            summary.as_str().unwrap_or_default().contains("0 failed"),
            "{summary}"
        );
        window
    });

    let keys = server.keys().await;
    assert_eq!(keys.len(), 100, "{keys:?}");
    for name in &names {
        let stem = name.trim_end_matches(".jpg");
        let sku = stem.split('_').next().unwrap();
        for variant in ["large", "thumb"] {
            let key = format!("products/{sku}/{stem}-{variant}.jpg");
            assert!(keys.contains(&key), "{key} is not in the bucket");
        }
    }
    tokio::task::block_in_place(|| window.close());
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: scripts/test.sh runs it"]
async fn a_photo_deleted_from_the_gallery_goes_through_the_outbox_and_leaves_the_bucket() {
    let server = S3Server::start().await;
    let home = tempfile::tempdir().unwrap();
    let photos = home.path().join("photos");
    std::fs::create_dir_all(&photos).unwrap();
    for (name, hue) in [
        ("G1_front.jpg", 30u8),
        ("G1_back.jpg", 200),
        ("G2_front.jpg", 120),
    ] {
        image::RgbImage::from_fn(1600, 1200, |x, y| {
            image::Rgb([hue, (x / 7) as u8, (y / 5) as u8])
        })
        .save(photos.join(name))
        .unwrap();
    }
    let mut env = server.env();
    env.push((
        "CATALOG_UPLOADER_DATA_DIR",
        home.path().join("data").to_string_lossy().into_owned(),
    ));
    // Uploaded beforehand by the CLI on the same data dir, as on a workstation used both ways.
    let uploaded = Command::new(support::uploader_bin())
        .env_clear()
        .env("HOME", home.path())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .arg("upload")
        .arg(&photos)
        .output()
        .unwrap();
    assert!(
        uploaded.status.success(),
        "{}",
        String::from_utf8_lossy(&uploaded.stderr)
    );
    assert_eq!(server.keys().await.len(), 6);

    let window = tokio::task::block_in_place(|| {
        let window = Window::launch(home.path(), &env);
        window.click("tab-gallery");
        let count = window.driver.wait_for(
            "the gallery",
            Duration::from_secs(30),
            "const t = document.querySelectorAll('[data-testid=gallery-tile]');
             return t.length === 3 ? t.length : null;",
        );
        assert_eq!(count, json!(3));
        // Each preview comes from the private bucket through a presigned GET.
        window.driver.wait_for(
            "the previews",
            Duration::from_secs(60),
            "const imgs = [...document.querySelectorAll('[data-testid=gallery-tile] img')];
             return imgs.length === 3 && imgs.every((i) => i.complete && i.naturalWidth > 0) ? 'ok' : null;",
        );
        window.screenshot("gallery.png");
        let clicked = window.driver.script(
            "const tile = document.querySelector('[data-testid=gallery-tile][data-file=\"G1_back.jpg\"]');
             tile.querySelector('[data-testid=delete]').click();
             return 'ok';",
            json!([]),
        );
        assert_eq!(clicked, json!("ok"));
        window.click("delete-confirm");
        window.driver.wait_for(
            "the tile to go",
            Duration::from_secs(30),
            "return document.querySelectorAll('[data-testid=gallery-tile]').length === 2 ? 'ok' : null;",
        );
        window
    });

    // The outbox sends it by itself: both of its objects leave the bucket, nothing else does.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let keys = server.keys().await;
        if !keys.iter().any(|k| k.contains("G1_back")) {
            assert_eq!(keys.len(), 4, "{keys:?}");
            break;
        }
        assert!(Instant::now() < deadline, "still in the bucket: {keys:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    tokio::task::block_in_place(|| {
        window.click("tab-outbox");
        window.driver.wait_for(
            "the outbox to be empty",
            Duration::from_secs(30),
            "return document.querySelector('[data-testid=outbox-panel-status]')?.innerText === 'No deletions waiting.' ? 'ok' : null;",
        );
        window.close();
    });
}

/// Resident memory of `pid` and its descendants (WebKit's web and network processes), in MB.
/// Resident memory in MB: the process, the part of it that is its own heap and stacks
/// (anonymous; the rest is mapped libraries), and the process with all its descendants.
fn tree_rss_mb(pid: u32) -> (f64, f64, f64) {
    let field = |path: String, name: &str| -> Option<String> {
        let text = std::fs::read_to_string(path).ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
    };
    let kb = |pid: u32, name: &str| -> f64 {
        field(format!("/proc/{pid}/status"), name)
            .and_then(|v| v.trim_end_matches(" kB").trim().parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    let mut all = vec![pid];
    let mut i = 0;
    while i < all.len() {
        let parent = all[i];
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let ppid =
                field(format!("/proc/{child}/status"), "PPid:").and_then(|v| v.parse::<u32>().ok());
            if ppid == Some(parent) && !all.contains(&child) {
                all.push(child);
            }
        }
        i += 1;
    }
    let rss = |pid: u32| kb(pid, "VmRSS:");
    (
        rss(pid),
        kb(pid, "RssAnon:"),
        all.iter().map(|p| rss(*p)).sum(),
    )
}

/// The app process whose environment has this HOME, and when it started (ms since the epoch).
/// The newest `exe_name` process running with `home` (an earlier launch may linger while it
/// exits): its pid and its start as epoch milliseconds.
fn app_process(home: &Path, exe_name: &str) -> (u32, u64) {
    let wanted = format!("HOME={}", home.display());
    // Boot time to the centisecond: now less the uptime (`btime` in /proc/stat is in whole
    // seconds, which would put the start up to a second off).
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let boot_ms = now_ms - (uptime * 1000.0) as u64;
    let hz: u64 = String::from_utf8(
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .parse()
    .unwrap();
    let mut newest: Option<(u32, u64)> = None;
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        let ours = environ.split(|b| *b == 0).any(|v| v == wanted.as_bytes());
        if !(exe.file_name().is_some_and(|n| n == exe_name) && ours) {
            continue;
        }
        // Field 22 of /proc/PID/stat: start time in clock ticks after boot.
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
        let ticks: u64 = after_comm.split(' ').nth(19).unwrap().parse().unwrap();
        let started = boot_ms + ticks * 1000 / hz;
        if newest.is_none_or(|(_, s)| started > s) {
            newest = Some((pid, started));
        }
    }
    newest.unwrap_or_else(|| panic!("no {exe_name} process with {wanted}"))
}

/// The UI's figures for docs/benchmarks.md (bench/ui.sh runs this; CI skips it): 10,000 jobs
/// loaded and painted, 1,000 progress events a second for 5 s, launch to ready, idle memory.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "UI figures, run by bench/ui.sh"]
async fn ui_figures() {
    use uploader_core::store::{NewJob, Store, Target};
    let server = S3Server::start().await;
    let home = tempfile::tempdir().unwrap();
    let data_dir = home.path().join("data");
    let store = Store::open(
        &uploader_core::config::AppDirs::database(&data_dir),
        std::sync::Arc::new(uploader_core::clock::SystemClock),
    )
    .unwrap();
    let jobs: Vec<NewJob> = (0..10_000)
        .map(|n| NewJob {
            source_path: home.path().join(format!("shoot/SKU{:04}_{n}.jpg", n / 4)),
            sku: format!("SKU{:04}", n / 4),
            ..NewJob::default()
        })
        .collect();
    store.enqueue("10,000 files", &jobs, 5).unwrap();
    // Paused, so the list stays as it is while it is measured.
    store.pause(Target::All).unwrap();
    drop(store);
    let mut env = server.env();
    env.push((
        "CATALOG_UPLOADER_DATA_DIR",
        data_dir.to_string_lossy().into_owned(),
    ));

    tokio::task::block_in_place(|| {
        let window = Window::launch(home.path(), &env);
        let perf = window
            .driver
            .script("return window.__uploaderPerf", json!([]));
        assert_eq!(perf["listRows"], json!(10_000), "{perf}");
        let rendered = window.driver.script(
            "return document.querySelectorAll('[data-testid=job-row]').length",
            json!([]),
        );
        assert!(
            rendered.as_u64().unwrap() < 100,
            "{rendered} rows in the DOM"
        );
        let (pid, started_ms) = app_process(home.path(), "catalog-uploader");
        let ready_ms = perf["readyAtMs"].as_f64().unwrap() as u64;
        let mark =
            |name: &str| (perf[name].as_f64().unwrap_or(0.0) as u64).saturating_sub(started_ms);

        let events = window.driver.script_async(
            "const done = arguments[arguments.length - 1];
             const perf = window.__uploaderPerf;
             const base = perf.events;
             let sent = 0, frames = 0, running = true;
             const frame = () => { frames++; if (running) requestAnimationFrame(frame); };
             requestAnimationFrame(frame);
             const started = performance.now();
             const timer = setInterval(() => {
               // As many as keep the rate at 1,000 a second, whatever the timer's jitter.
               const due = Math.min(5000, Math.floor(performance.now() - started));
               while (sent < due) {
                 sent++;
                 window.__TAURI__.event.emit('job-event',
                   {kind: 'progress', jobId: 1 + (sent % 10000), bytesDone: sent, bytesTotal: 5000});
               }
               if (performance.now() - started >= 5000) {
                 clearInterval(timer);
                 const emitted = performance.now();
                 const drain = () => {
                   if (perf.events - base >= sent || performance.now() - emitted > 10000) {
                     running = false;
                     const end = performance.now();
                     done({sent, applied: perf.events - base, seconds: (emitted - started) / 1000,
                           drainMs: end - emitted, fps: frames / ((end - started) / 1000)});
                   } else setTimeout(drain, 5);
                 };
                 drain();
               }
             }, 10);",
            json!([]),
        );
        assert_eq!(events["applied"], events["sent"], "{events}");
        // Idle: nothing moves for a while before memory is read.
        std::thread::sleep(Duration::from_secs(5));
        let (app_rss, app_anon, total_rss) = tree_rss_mb(pid);
        window.screenshot("queue-10000.png");
        eprintln!(
            "UI FIGURES\n\
             10,000 jobs: list_jobs IPC {:.0} ms, then first paint of the list {:.0} ms ({rendered} rows in the DOM)\n\
             progress events: {} sent in {:.1} s ({:.0}/s), all applied {:.0} ms after the last; {:.0} frames/s meanwhile\n\
             launch to ready: {} ms (process start to the UI's ready mark): page navigation at {} ms, its script at {} ms, first render at {} ms, first command answered at {} ms\n\
             idle RSS: app process {:.0} MB ({:.0} MB its own heap and stacks, the rest mapped libraries); with WebKit's processes {:.0} MB",
            perf["listIpcMs"].as_f64().unwrap(),
            perf["listPaintMs"].as_f64().unwrap(),
            events["sent"],
            events["seconds"].as_f64().unwrap(),
            events["sent"].as_f64().unwrap() / events["seconds"].as_f64().unwrap(),
            events["drainMs"].as_f64().unwrap(),
            events["fps"].as_f64().unwrap(),
            ready_ms.saturating_sub(started_ms),
            mark("navigationAtMs"),
            mark("scriptAtMs"),
            mark("mountedAtMs"),
            mark("statusAtMs"),
            app_rss,
            app_anon,
            total_rss,
        );
        window.close();
    });

    // The peer: an empty Tauri 2 window that answers one command (bench/ui.sh builds it), launched
    // and measured the same way, to tell what the platform costs from what the app adds.
    let Some(baseline) = std::env::var_os("CATALOG_UPLOADER_BASELINE") else {
        return;
    };
    let app = std::env::var_os("CATALOG_UPLOADER_APP").map_or(PathBuf::from(APP), PathBuf::from);
    let baseline = PathBuf::from(baseline);
    let baseline_home = tempfile::tempdir().unwrap();
    // Launch times vary from run to run (a cold WebKit process now and then): medians of 5,
    // the two windows taking turns.
    let (mut ours, mut peer) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        ours.push(launch_once(home.path(), &env, &app, "catalog-uploader"));
        peer.push(launch_once(
            baseline_home.path(),
            &[],
            &baseline,
            "window-baseline",
        ));
    }
    let (ours, peer) = (medians(&ours), medians(&peer));
    eprintln!(
        "BASELINE (an empty Tauri 2 window answering one command); medians of 5 launches each\n\
         launch to ready: app {:.0} ms (page navigation at {:.0} ms), baseline {:.0} ms (navigation at {:.0} ms)\n\
         idle RSS: app {:.0} MB ({:.0} MB heap and stacks), baseline {:.0} MB ({:.0} MB heap and stacks); with WebKit's processes {:.0} MB and {:.0} MB\n\
         the app over the baseline: launch {:.2}x, idle RSS {:.2}x\n\
         the app's 10,000 jobs at each launch: list_jobs IPC {:.0} ms, first paint {:.0} ms",
        ours[0],
        ours[1],
        peer[0],
        peer[1],
        ours[2],
        ours[3],
        peer[2],
        peer[3],
        ours[4],
        peer[4],
        ours[0] / peer[0].max(1.0),
        ours[2] / peer[2].max(1.0),
        ours[5],
        ours[6],
    );
}

/// One launch of `app` in `home`: launch to ready and to page navigation (ms), then after 5 s
/// idle the process's RSS, its heap and stacks, and the RSS with its descendants (MB); then
/// the job list's IPC and first paint (ms; 0 for the baseline, which has none).
fn launch_once(home: &Path, env: &[(&str, String)], app: &Path, exe: &str) -> [f64; 7] {
    tokio::task::block_in_place(|| {
        let window = Window::launch_app(home, env, app);
        let perf = window
            .driver
            .script("return window.__uploaderPerf", json!([]));
        let (pid, started_ms) = app_process(home, exe);
        let mark = |name: &str| perf[name].as_f64().unwrap_or(0.0) - started_ms as f64;
        std::thread::sleep(Duration::from_secs(5));
        let (rss, anon, total) = tree_rss_mb(pid);
        let list = |name: &str| perf[name].as_f64().unwrap_or(0.0);
        let figures = [
            mark("readyAtMs"),
            mark("navigationAtMs"),
            rss,
            anon,
            total,
            list("listIpcMs"),
            list("listPaintMs"),
        ];
        window.close();
        figures
    })
}

fn medians<const N: usize>(runs: &[[f64; N]]) -> [f64; N] {
    std::array::from_fn(|i| {
        let mut column: Vec<f64> = runs.iter().map(|r| r[i]).collect();
        column.sort_by(f64::total_cmp);
        column[column.len() / 2]
    })
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: scripts/test.sh runs it"]
async fn a_corrupt_photo_shows_its_error_and_retry_after_fixing_it_uploads_it() {
    let server = S3Server::start().await;
    let home = tempfile::tempdir().unwrap();
    let shoot = home.path().join("shoot");
    std::fs::create_dir_all(&shoot).unwrap();
    let good = |path: &Path| {
        image::RgbImage::from_fn(1400, 1000, |x, y| {
            image::Rgb([90, (x / 6) as u8, (y / 4) as u8])
        })
        .save(path)
        .unwrap();
    };
    good(&shoot.join("R1_front.jpg"));
    // Its header is whole, so the review lets it through; its scan is cut off.
    let broken = shoot.join("R1_back.jpg");
    std::fs::copy(
        uploader_testkit::shared_image("hostile/truncated.jpg"),
        &broken,
    )
    .unwrap();

    tokio::task::block_in_place(|| {
        let window = Window::launch(home.path(), &server.env());
        window.drop(&[&shoot]);
        let headline = window.wait_for_review();
        assert!(headline.starts_with("2 photos to upload"), "{headline}");
        window.confirm_review();
        let failed = window.driver.wait_for(
            "the broken photo to fail",
            Duration::from_secs(90),
            "const row = document.querySelector('[data-testid=job-row][data-file=\"R1_back.jpg\"]');
             return row?.dataset.state === 'failed' ? row.innerText : null;",
        );
        let failed = failed.as_str().unwrap_or_default();
        assert!(failed.contains("R1_back.jpg"), "{failed}");
        window.click("filter-failed");
        // Its preview cannot be made either: a placeholder, not a broken-image icon.
        window.driver.wait_for(
            "the broken photo's placeholder",
            Duration::from_secs(30),
            "return document.querySelector('[data-testid=job-row][data-file=\"R1_back.jpg\"] [data-testid=thumb-missing]') ? 'ok' : null",
        );
        window.screenshot("queue-failed.png");

        // Fixed on disk (re-exported by the photographer), then Retry.
        good(&broken);
        window.click("retry");
        window.click("filter-all");
        let state = window.driver.wait_for(
            "the retried photo",
            Duration::from_secs(90),
            "const row = document.querySelector('[data-testid=job-row][data-file=\"R1_back.jpg\"]');
             return row?.dataset.state === 'uploaded' ? 'uploaded' : null;",
        );
        assert_eq!(state, json!("uploaded"));
        window.close();
    });
    let keys = server.keys().await;
    assert!(
        keys.contains(&"products/R1/R1_back-large.jpg".to_string()),
        "{keys:?}"
    );
    assert_eq!(keys.len(), 4, "{keys:?}");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: scripts/test.sh runs it"]
async fn with_the_server_gone_the_window_says_offline_fails_nothing_and_finishes_when_it_is_back() {
    let server = S3Server::start().await;
    let (proxy, env) = behind_proxy(&server).await;
    let home = tempfile::tempdir().unwrap();
    let shoot = home.path().join("shoot");
    std::fs::create_dir_all(&shoot).unwrap();
    photos(&shoot, "OFF", 8);
    proxy.go_away();

    let window = tokio::task::block_in_place(|| {
        let window = Window::launch(home.path(), &env);
        window.drop(&[&shoot]);
        window.wait_for_review();
        window.confirm_review();
        window.driver.wait_for(
            "the offline banner",
            Duration::from_secs(60),
            "return document.querySelector('[data-testid=offline]')?.innerText ?? null",
        );
        // Give the queue time to try: nothing may fail while the server is away.
        std::thread::sleep(Duration::from_secs(5));
        let summary = window.text("summary").unwrap_or_default();
        assert!(
            summary.contains("0 uploaded") && summary.contains("0 failed"),
            "{summary}"
        );
        window.screenshot("offline.png");
        window
    });

    proxy.come_back().await.unwrap();
    let window = tokio::task::block_in_place(|| {
        let summary = window.driver.wait_for(
            "all 8 after the server came back",
            Duration::from_secs(120),
            "const s = document.querySelector('[data-testid=summary]')?.innerText ?? '';
             return s.includes('8 uploaded') ? s : null;",
        );
        assert!(
            summary.as_str().unwrap_or_default().contains("0 failed"),
            "{summary}"
        );
        window.driver.wait_for(
            "the offline banner to go",
            Duration::from_secs(30),
            "return document.querySelector('[data-testid=offline]') ? null : 'online'",
        );
        window
    });
    assert_eq!(server.keys().await.len(), 16);
    tokio::task::block_in_place(|| window.close());
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: scripts/test.sh runs it"]
async fn closed_and_relaunched_mid_batch_the_list_is_restored_and_the_batch_completes() {
    let server = S3Server::start().await;
    let (proxy, env) = behind_proxy(&server).await;
    let home = tempfile::tempdir().unwrap();
    let shoot = home.path().join("shoot");
    std::fs::create_dir_all(&shoot).unwrap();
    photos(&shoot, "RL", 30);

    let proxy = std::sync::Arc::new(proxy);
    let stopper = std::sync::Arc::clone(&proxy);
    tokio::task::block_in_place(|| {
        let window = Window::launch(home.path(), &env);
        window.drop(&[&shoot]);
        window.wait_for_review();
        window.confirm_review();
        window.driver.wait_for(
            "the first upload",
            Duration::from_secs(60),
            "return document.querySelector('[data-testid=job-row][data-state=uploaded]') ? 'yes' : null",
        );
        // The rest cannot finish before the app is closed.
        stopper.go_away();
        window.close();
    });
    let before = server.keys().await.len();
    assert!(before < 60, "the batch was already done: {before} keys");

    proxy.come_back().await.unwrap();
    tokio::task::block_in_place(|| {
        let window = Window::launch(home.path(), &env);
        // Restored from the database at start, before any new event.
        let count = window.driver.script(
            "return Number(document.querySelector('[data-testid=job-list]').dataset.count)",
            json!([]),
        );
        assert_eq!(count, json!(30));
        let summary = window.driver.wait_for(
            "the batch to complete after the relaunch",
            Duration::from_secs(120),
            "const s = document.querySelector('[data-testid=summary]')?.innerText ?? '';
             return s.includes('30 uploaded') ? s : null;",
        );
        assert!(
            summary.as_str().unwrap_or_default().contains("0 failed"),
            "{summary}"
        );
        window.close();
    });
    assert_eq!(server.keys().await.len(), 60);
}

/// The app's S3 traffic through a proxy that the test can take away and bring back.
async fn behind_proxy(
    server: &S3Server,
) -> (uploader_testkit::FaultProxy, Vec<(&'static str, String)>) {
    let upstream = server
        .endpoint
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let proxy = uploader_testkit::FaultProxy::start(upstream, uploader_testkit::Faults::default())
        .await
        .unwrap();
    let mut env = server.env();
    env.retain(|(k, _)| *k != "AWS_ENDPOINT_URL");
    env.push(("AWS_ENDPOINT_URL", proxy.endpoint()));
    (proxy, env)
}

/// `n` distinct 1200×900 photos named `{sku}{n}_front.jpg`, one SKU each.
/// A real phone photo under `home/photos`, named `name`.
fn real_photo(home: &Path, name: &str) -> PathBuf {
    let photos = home.join("photos");
    std::fs::create_dir_all(&photos).unwrap();
    let copied = copy_images(&["real/exifsamples_mobile_jolla.jpg"], &photos);
    let photo = photos.join(name);
    std::fs::rename(&copied[0], &photo).unwrap();
    photo
}

fn photos(dir: &Path, sku: &str, n: u32) {
    for i in 0..n {
        image::RgbImage::from_fn(1200, 900, |x, y| {
            image::Rgb([(i * 8) as u8, (x / 5) as u8, (y / 4) as u8])
        })
        .save(dir.join(format!("{sku}{i:02}_front.jpg")))
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: scripts/test.sh runs it"]
async fn settings_apply_at_once_and_a_second_launch_hands_its_photo_to_the_open_window() {
    let server = S3Server::start().await;
    let home = tempfile::tempdir().unwrap();
    let photo = real_photo(home.path(), "SKU7_front.jpg");
    // No keys in the environment: the admin stores them in the keyring from the window.
    let mut env = server.env();
    env.retain(|(k, _)| !matches!(*k, "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY"));
    let keyring_service = format!(
        "catalog-uploader-e2e-{}",
        home.path().file_name().unwrap().to_string_lossy()
    );
    env.push(("CATALOG_UPLOADER_KEYRING_SERVICE", keyring_service));
    let secret = uploader_testkit::SECRET_KEY;

    let window = tokio::task::block_in_place(|| {
        let window = Window::launch(home.path(), &env);
        // Every event the window is sent from here on is recorded (Tauri keeps `invoke` itself
        // out of reach, so commands are asked again at the end), to be searched for the secret.
        let recording = window.driver.script_async(
            "const done = arguments[arguments.length - 1];
             window.__ipcRecord = [];
             const keep = (e) => window.__ipcRecord.push(JSON.stringify([e.event, e.payload]));
             Promise.all([window.__TAURI__.event.listen('job-event', keep),
                          window.__TAURI__.event.listen('open-paths', keep)])
               .then(() => done('ok'), (e) => done('error: ' + e));",
            json!([]),
        );
        assert_eq!(recording, json!("ok"));
        window.screenshot("drop.png");
        let credentials = window.driver.wait_for(
            "the credentials in the status bar",
            Duration::from_secs(30),
            "return document.querySelector('[data-testid=credentials]')?.innerText ?? null",
        );
        assert_eq!(credentials, json!("No credentials"));

        // The admin stores the keys from the settings screen; the status bar then says they
        // are there with a masked key id, and the secret is nowhere in the page.
        let stored = window.store_credentials(Some(uploader_testkit::ACCESS_KEY), secret);
        assert!(stored.contains("test…-key (keyring)"), "{stored}");
        let credentials = window.driver.script(
            "return document.querySelector('[data-testid=credentials]')?.innerText ?? null",
            json!([]),
        );
        assert!(
            credentials
                .as_str()
                .unwrap_or_default()
                .starts_with("Signed in: AWS key test…-key"),
            "{credentials}"
        );
        let page = window.driver.script(
            "return document.documentElement.outerHTML
               + [...document.querySelectorAll('input')].map((i) => i.value).join(' ')",
            json!([]),
        );
        assert!(!page.as_str().unwrap_or_default().contains(secret));
        window.screenshot("credentials.png");
        let saved = window.driver.script(
            "const set = (id, value) => {
               const input = document.querySelector(`[data-testid=${id}]`);
               input.value = value;
               input.dispatchEvent(new Event('input', {bubbles: true}));
             };
             set('concurrency', '2');
             document.querySelector('[data-testid=bandwidth-limited]').click();
             set('bandwidth', '5');
             document.querySelector('[data-testid=variant-shown][data-variant=thumb]').click();
             return 'ok';",
            json!([]),
        );
        assert_eq!(saved, json!("ok"));
        window.click("settings-save");
        // The keys' notice may still show: wait for the settings' own.
        let toast = window.driver.wait_for(
            "the settings to be saved",
            Duration::from_secs(10),
            "const t = [...document.querySelectorAll('[data-testid=toast]')].map((e) => e.innerText);
             return t.find((x) => x.includes('Settings saved')) ?? null;",
        );
        assert!(
            toast
                .as_str()
                .unwrap_or_default()
                .contains("Settings saved"),
            "{toast}"
        );
        window.screenshot("settings.png");
        // The admin's connection test, from the window.
        window.connection_test_passes();
        // A call of a plugin the app has, which the capability does not grant, is refused.
        let refused = window.driver.script_async(
            "const done = arguments[arguments.length - 1];
             window.__TAURI__.core.invoke('plugin:dialog|save', {})
               .then(() => done('allowed'), (e) => done(String(e)));",
            json!([]),
        );
        assert!(
            refused.as_str().unwrap_or_default().contains("not allowed"),
            "{refused}"
        );
        // The support bundle, from the window: written under home (Downloads, or home itself).
        window.click("support-bundle");
        let written = window.driver.wait_for(
            "the support bundle",
            Duration::from_secs(30),
            "const t = document.querySelector('[data-testid=support-bundle-path]')?.innerText ?? '';
             return t.startsWith('Written to ') ? t.slice('Written to '.length) : null;",
        );
        let bundle = std::fs::read_to_string(written.as_str().unwrap_or_default()).unwrap();
        assert!(bundle.contains("AWS key test…-key (keyring)"), "{bundle}");
        assert!(bundle.contains("ok   put"), "{bundle}");
        assert!(!bundle.contains(secret));
        let in_force = window.driver.script_async(
            "const done = arguments[arguments.length - 1];
             window.__TAURI__.core.invoke('settings').then(done, (e) => done('error: ' + JSON.stringify(e)));",
            json!([]),
        );
        assert_eq!(in_force["saved"], json!(true), "{in_force}");
        assert_eq!(in_force["concurrency"], json!(2), "{in_force}");
        assert_eq!(in_force["maxMbPerSecond"].as_f64(), Some(5.0), "{in_force}");
        assert_eq!(in_force["hiddenVariants"], json!(["thumb"]), "{in_force}");

        // A second launch with a photo (an "Open with…") hands it to this window and exits.
        let started = Instant::now();
        let second = app_env(Command::new(APP), home.path(), &window.display, &env)
            .arg(&photo)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(second.success(), "the second launch ended with {second}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the second launch took {:?}",
            started.elapsed()
        );
        let headline = window.wait_for_review();
        assert!(headline.contains("1 photo to upload, 1 SKU"), "{headline}");
        window.confirm_review();
        window.driver.wait_for(
            "the photo to be uploaded",
            Duration::from_secs(90),
            "const row = document.querySelector('[data-testid=job-row][data-file=\"SKU7_front.jpg\"]');
             return row?.dataset.state === 'uploaded' ? 'ok' : null;",
        );

        // The gallery shows only the variants the settings show.
        window.click("tab-gallery");
        let shown = window.driver.wait_for(
            "the gallery tile",
            Duration::from_secs(30),
            "const chips = [...document.querySelectorAll('[data-testid=tile-variant]')];
             return chips.length ? chips.map((c) => c.dataset.variant).join(',') : null;",
        );
        assert_eq!(shown, json!("large"));

        // Every command that answers with data, its answer recorded; then no recorded event or
        // answer, and no file the app wrote, holds the secret.
        let record = window.driver.script_async(
            "const done = arguments[arguments.length - 1];
             const ask = (cmd, args = {}) => window.__TAURI__.core.invoke(cmd, args)
               .then((answer) => window.__ipcRecord.push(JSON.stringify([cmd, answer])), () => null);
             Promise.all([ask('app_status'), ask('credentials'), ask('settings'), ask('list_jobs'),
                          ask('gallery', {search: ''}), ask('outbox_rows'), ask('outbox_status')])
               .then(() => done(window.__ipcRecord));",
            json!([]),
        );
        let record = record.as_array().cloned().unwrap_or_default();
        // The commands' 7 answers and the events of one photo's upload.
        assert!(record.len() > 10, "{record:?}");
        // The search can find things: the photo is in the record.
        assert!(
            record
                .iter()
                .any(|r| r.as_str().unwrap_or_default().contains("SKU7_front"))
        );
        assert!(
            record
                .iter()
                .all(|r| !r.as_str().unwrap_or_default().contains(secret)),
            "a command's answer holds the secret"
        );

        // Removed from the keyring, the keys no longer sign.
        window.click("tab-settings");
        window.driver.wait_for(
            "the credentials form",
            Duration::from_secs(10),
            "return document.querySelector('[data-testid=credentials-clear]') ? 'ok' : null",
        );
        window.click("credentials-clear");
        window.driver.wait_for(
            "the keys to be removed",
            Duration::from_secs(20),
            "const s = document.querySelector('[data-testid=credentials-status]');
             return s?.dataset.configured === 'false' ? 'ok' : null;",
        );
        window
    });
    assert_eq!(
        server.keys().await,
        [
            "products/SKU7/SKU7_front-large.jpg",
            "products/SKU7/SKU7_front-thumb.jpg"
        ]
    );
    tokio::task::block_in_place(|| window.close());
    // The app's config, data (database, staging, thumbnails), cache and log dirs are all under
    // this home.
    let holding = files_holding(home.path(), secret.as_bytes());
    assert!(holding.is_empty(), "the secret is in {holding:?}");
    // The scan reads what the app wrote: the database names the photo.
    assert!(!files_holding(home.path(), b"SKU7_front").is_empty());
    // The app logged the upload to its log folder, which the scan covered.
    let logs = home.path().join(".local/state/catalog-uploader/logs");
    let logged: String = std::fs::read_dir(&logs)
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect();
    assert!(
        logged.contains("uploaded") && logged.contains("SKU7_front.jpg"),
        "{logged}"
    );
}

/// Files under `dir` whose bytes contain `needle`.
fn files_holding(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    let mut files = 0;
    while let Some(next) = dirs.pop() {
        for entry in std::fs::read_dir(&next).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                files += 1;
                if bytes.windows(needle.len()).any(|w| w == needle) {
                    found.push(path);
                }
            }
        }
    }
    assert!(files > 3, "only {files} files under {}", dir.display());
    found
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: scripts/test.sh runs it"]
async fn a_setting_the_admin_locked_is_shown_locked_and_cannot_be_saved() {
    let server = S3Server::start().await;
    let home = tempfile::tempdir().unwrap();
    let policy = home.path().join("policy.toml");
    std::fs::write(
        &policy,
        "lock = [\"upload.concurrency\"]\n[upload]\nconcurrency = 3\n",
    )
    .unwrap();
    let mut env = server.env();
    env.push(("CATALOG_UPLOADER_POLICY", policy.display().to_string()));

    tokio::task::block_in_place(|| {
        let window = Window::launch(home.path(), &env);
        window.click("tab-settings");
        let field = window.driver.wait_for(
            "the settings form",
            Duration::from_secs(10),
            "const input = document.querySelector('[data-testid=concurrency]');
             return input ? {value: input.value, disabled: input.disabled,
                             help: document.getElementById('concurrency-help').innerText} : null;",
        );
        assert_eq!(field["value"], json!("3"), "{field}");
        assert_eq!(field["disabled"], json!(true), "{field}");
        assert!(
            field["help"]
                .as_str()
                .unwrap_or_default()
                .contains("Set by your admin"),
            "{field}"
        );
        // The shell refuses it too, whatever the page sends.
        let refused = window.driver.script_async(
            "const done = arguments[arguments.length - 1];
             window.__TAURI__.core.invoke('save_settings',
               {preferences: {concurrency: 9, maxMbPerSecond: null, hiddenVariants: []}})
               .then(() => done('saved'), (e) => done(e));",
            json!([]),
        );
        assert_eq!(refused["code"], json!("config"), "{refused}");
        let message = refused["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("upload.concurrency") && message.contains("locked"),
            "{message}"
        );
        window.close();
    });
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Xvfb, tauri-driver and WebKitWebDriver: scripts/test.sh runs it"]
async fn in_backend_mode_a_token_stored_from_the_window_signs_and_is_found_nowhere() {
    let server = S3Server::start().await;
    let backend = uploader_testkit::BackendServer::start(&server);
    let home = tempfile::tempdir().unwrap();
    let photo = real_photo(home.path(), "SKU8_side.jpg");
    let token = backend.token.clone();
    // The workstation holds no token yet: the window still opens, and an admin stores one.
    let mut env: Vec<(&str, String)> = backend
        .env()
        .into_iter()
        .filter(|(k, _)| *k != "CATALOG_UPLOADER_BACKEND_TOKEN")
        .collect();
    env.push((
        "CATALOG_UPLOADER_KEYRING_SERVICE",
        format!(
            "catalog-uploader-e2e-{}",
            home.path().file_name().unwrap().to_string_lossy()
        ),
    ));

    tokio::task::block_in_place(|| {
        let window = Window::launch(home.path(), &env);
        assert_eq!(
            window.text("setup-problem"),
            None,
            "the window opens without a token"
        );
        let credentials = window.driver.wait_for(
            "the credentials in the status bar",
            Duration::from_secs(30),
            "return document.querySelector('[data-testid=credentials]')?.innerText ?? null",
        );
        assert_eq!(credentials, json!("No credentials"));
        let stored = window.store_credentials(None, &token);
        assert!(stored.contains("workstation token"), "{stored}");
        assert!(
            window.text("access-key-id").is_none(),
            "backend mode asks for the token alone"
        );
        window.connection_test_passes();

        window.click("tab-queue");
        window.drop(&[&photo]);
        window.wait_for_review();
        window.confirm_review();
        window.driver.wait_for(
            "the photo to be uploaded",
            Duration::from_secs(90),
            "const row = document.querySelector('[data-testid=job-row][data-file=\"SKU8_side.jpg\"]');
             return row?.dataset.state === 'uploaded' ? 'ok' : null;",
        );
        let answers = window.driver.script_async(
            "const done = arguments[arguments.length - 1];
             const ask = (cmd, args = {}) => window.__TAURI__.core.invoke(cmd, args)
               .then((a) => JSON.stringify([cmd, a]), (e) => JSON.stringify([cmd, e]));
             Promise.all([ask('app_status'), ask('credentials'), ask('settings'), ask('list_jobs'),
                          ask('outbox_status'), ask('support_bundle')]).then(done);",
            json!([]),
        );
        let answers = answers.to_string();
        assert!(
            answers.contains("SKU8_side"),
            "the search finds what is there"
        );
        assert!(!answers.contains(&token), "an answer holds the token");
        window.close();
    });
    // The connection tests' probes wait in the backend's deletion queue (no worker runs here).
    let photos: Vec<String> = server
        .keys()
        .await
        .into_iter()
        .filter(|k| !k.starts_with("products/.connection-test/"))
        .collect();
    assert_eq!(
        photos,
        [
            "products/SKU8/SKU8_side-large.jpg",
            "products/SKU8/SKU8_side-thumb.jpg"
        ]
    );
    let holding = files_holding(home.path(), token.as_bytes());
    assert!(holding.is_empty(), "the token is in {holding:?}");
}
