//! `uploader process`: the pipeline alone, writing variants to a folder instead of uploading.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;
use uploader_core::config::Config;
use uploader_core::naming::Naming;
use uploader_core::pipeline::{self, Recipe};

#[derive(Debug, Serialize)]
pub struct ProcessReport {
    pub files: Vec<ProcessedFile>,
    pub processed: usize,
    pub failed: usize,
}

#[derive(Debug, Serialize)]
pub struct ProcessedFile {
    pub source: String,
    pub sku: String,
    pub outputs: Vec<Output>,
    pub error: Option<String>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Output {
    pub variant: String,
    pub path: String,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    pub sha256: String,
}

/// Renders every file into `out/{sku}/{stem}-{variant}.jpg` (the key template without the bucket
/// prefix), `jobs` files at a time (default: one per core).
pub fn run(
    config: &Config,
    paths: &[PathBuf],
    sku: Option<&str>,
    out: &Path,
    jobs: Option<usize>,
) -> ProcessReport {
    let files = uploader_core::intake::expand(paths);
    let naming = Naming::new(config, "");
    let recipe = Recipe::from_config(config);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = jobs.unwrap_or(cores).clamp(1, files.len().max(1));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<ProcessedFile>>> =
        Mutex::new((0..files.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(source) = files.get(i) else { break };
                    let done = process_one(&recipe, &naming, source, sku, out);
                    if let Ok(mut results) = results.lock() {
                        results[i] = Some(done);
                    }
                }
            });
        }
    });
    let files: Vec<ProcessedFile> = results
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .into_iter()
        .flatten()
        .collect();
    let failed = files.iter().filter(|f| f.error.is_some()).count();
    ProcessReport {
        processed: files.len() - failed,
        failed,
        files,
    }
}

fn process_one(
    recipe: &Recipe,
    naming: &Naming,
    source: &Path,
    sku: Option<&str>,
    out: &Path,
) -> ProcessedFile {
    let sku = naming.sku(source, sku);
    let mut file = ProcessedFile {
        source: source.display().to_string(),
        sku: sku.clone(),
        outputs: Vec::new(),
        error: None,
        warnings: Vec::new(),
    };
    let renditions = match pipeline::render(source, recipe) {
        Ok(r) => r,
        Err(e) => {
            file.error = Some(e.to_string());
            return file;
        }
    };
    for r in renditions {
        file.warnings.extend(r.warning);
        let path = out.join(naming.key(&sku, source, &r.variant, r.extension));
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, &r.bytes));
        if let Err(e) = written {
            file.error = Some(format!(
                "{}: cannot write {}: {e}",
                source.display(),
                path.display()
            ));
            return file;
        }
        file.outputs.push(Output {
            variant: r.variant,
            path: path.display().to_string(),
            width: r.width,
            height: r.height,
            bytes: r.bytes.len() as u64,
            sha256: r.sha256,
        });
    }
    file
}

impl ProcessReport {
    pub fn print_human(&self) {
        for f in &self.files {
            match &f.error {
                Some(error) => eprintln!("failed    {error}"),
                None => {
                    let sizes: Vec<String> = f
                        .outputs
                        .iter()
                        .map(|o| format!("{} {}×{}", o.variant, o.width, o.height))
                        .collect();
                    println!("processed {} -> {}", f.source, sizes.join(", "));
                }
            }
            for warning in &f.warnings {
                eprintln!("warning   {}: {warning}", f.source);
            }
        }
        println!("{} processed, {} failed", self.processed, self.failed);
    }
}
