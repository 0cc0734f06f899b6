//! Times decode alone (at the scale the pipeline picks) against the whole render, in memory, for
//! the benchmark script (`bench/pipeline.sh`). Not a test: run it by hand, in release.
//!
//! Usage: pipeline_speed DIR [--threads N] [--largest EDGE]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use uploader_core::config::VariantSpec;
use uploader_core::pipeline::{self, Recipe};

fn main() {
    let mut args = std::env::args().skip(1);
    let mut dir = None;
    let (mut threads, mut largest) = (1usize, 2048u32);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threads" => threads = args.next().and_then(|v| v.parse().ok()).unwrap_or(1),
            "--largest" => largest = args.next().and_then(|v| v.parse().ok()).unwrap_or(2048),
            _ => dir = Some(PathBuf::from(arg)),
        }
    }
    let Some(dir) = dir else {
        eprintln!("usage: pipeline_speed DIR [--threads N] [--largest EDGE]");
        std::process::exit(2);
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    let recipe = Recipe::new(vec![
        VariantSpec::longest("large", largest, 85),
        VariantSpec::longest("small", 400, 85),
    ]);
    let limits = recipe.limits;

    let time = |work: &(dyn Fn(&PathBuf) + Sync)| {
        let next = AtomicUsize::new(0);
        let started = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    while let Some(f) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
                        work(f);
                    }
                });
            }
        });
        files.len() as f64 / started.elapsed().as_secs_f64()
    };
    let decode = time(&|f| {
        if let Err(e) = pipeline::decode_upright(f, &limits, &|_, _| largest) {
            eprintln!("{e}");
        }
    });
    let render = time(&|f| {
        if let Err(e) = pipeline::render(f, &recipe) {
            eprintln!("{e}");
        }
    });
    println!(
        "decode_only_images_per_s={decode:.2} render_images_per_s={render:.2} threads={threads} files={}",
        files.len()
    );
}
