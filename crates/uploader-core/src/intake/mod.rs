//! Turning dropped paths (files and folders) into the list of files to upload, and the review
//! of that list before anything is recorded.

mod review;
mod sniff;

use std::path::{Path, PathBuf};

pub use review::{Note, Review, ReviewItem};
pub use sniff::{SourceFormat, sniff, sniff_file};

/// Extensions of the formats the pipeline reads. A folder's file with one of them is taken even
/// when its content is not an image, so that its job (or the review) says why it cannot be used.
const IMAGE_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "png", "webp", "gif", "tif", "tiff", "bmp", "heic", "heif",
];

/// What a walk found: the files to upload, and how many others it passed over.
#[derive(Debug, Default)]
pub struct Found {
    pub files: Vec<PathBuf>,
    /// Files in folders that are not images (by content or name).
    pub skipped: usize,
}

/// Files named directly, plus the images found in folders (recursively; images by content or
/// by name; hidden and system entries skipped), in a stable order. An unreadable folder is
/// kept as an entry of its own, so that it gets a job whose error says why.
pub fn expand(paths: &[PathBuf]) -> Vec<PathBuf> {
    expand_counted(paths).files
}

/// [`expand`], also counting the files passed over.
pub fn expand_counted(paths: &[PathBuf]) -> Found {
    expand_where(paths, is_image)
}

/// Like [`expand`], taking every file found in folders, images or not (for `--as-is`).
pub fn expand_all(paths: &[PathBuf]) -> Vec<PathBuf> {
    expand_where(paths, |_| true).files
}

fn expand_where(paths: &[PathBuf], wanted: fn(&Path) -> bool) -> Found {
    let mut found = Found::default();
    for path in paths {
        if path.is_dir() {
            walk(path, wanted, &mut found);
        } else {
            found.files.push(path.clone());
        }
    }
    found
}

fn walk(dir: &Path, wanted: fn(&Path) -> bool, found: &mut Found) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        found.files.push(dir.to_path_buf());
        return;
    };
    let mut children: Vec<(PathBuf, std::fs::Metadata)> = entries
        .filter_map(|e| e.ok())
        // `symlink_metadata` so that a link loop cannot recurse forever.
        .filter_map(|e| Some((e.path(), std::fs::symlink_metadata(e.path()).ok()?)))
        .filter(|(p, m)| !is_hidden(p, m))
        .collect();
    children.sort_by(|a, b| a.0.cmp(&b.0));
    for (child, meta) in children {
        if meta.is_dir() {
            walk(&child, wanted, found);
        } else if meta.is_file() {
            if wanted(&child) {
                found.files.push(child);
            } else {
                found.skipped += 1;
            }
        }
    }
}

/// Dot files, the OS's own files and folders, and (on Windows) entries marked hidden.
fn is_hidden(path: &Path, meta: &std::fs::Metadata) -> bool {
    const SYSTEM: &[&str] = &[
        "thumbs.db",
        "desktop.ini",
        "$recycle.bin",
        "system volume information",
        "__macosx",
        "icon\r",
    ];
    let named = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.') || SYSTEM.iter().any(|s| s.eq_ignore_ascii_case(n)));
    named || hidden_attribute(meta)
}

#[cfg(windows)]
fn hidden_attribute(meta: &std::fs::Metadata) -> bool {
    use std::os::windows::fs::MetadataExt;
    const HIDDEN: u32 = 0x2;
    const SYSTEM: u32 = 0x4;
    meta.file_attributes() & (HIDDEN | SYSTEM) != 0
}

#[cfg(not(windows))]
fn hidden_attribute(_: &std::fs::Metadata) -> bool {
    false
}

fn is_image(path: &Path) -> bool {
    has_image_extension(path) || sniff_file(path).is_some()
}

fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_yield_their_images_recursively_and_skip_hidden_and_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("shoot/sub")).unwrap();
        std::fs::create_dir_all(root.join("shoot/.cache")).unwrap();
        std::fs::create_dir_all(root.join("shoot/__MACOSX")).unwrap();
        for f in [
            "shoot/b.JPG",
            "shoot/a.png",
            "shoot/notes.txt",
            "shoot/.hidden.jpg",
            "shoot/sub/c.webp",
            "shoot/.cache/d.jpg",
            "shoot/Thumbs.db",
            "shoot/__MACOSX/e.jpg",
            "loose.txt",
        ] {
            std::fs::write(root.join(f), b"x").unwrap();
        }
        // A JPEG saved without an extension is an image all the same.
        std::fs::write(root.join("shoot/f"), b"\xFF\xD8\xFF\xE0 JFIF").unwrap();
        let found = expand_counted(&[root.join("shoot"), root.join("loose.txt")]);
        assert_eq!(found.skipped, 1, "notes.txt");
        let rel: Vec<_> = found
            .files
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            rel,
            [
                "shoot/a.png",
                "shoot/b.JPG",
                "shoot/f",
                "shoot/sub/c.webp",
                "loose.txt"
            ]
        );
    }
}
