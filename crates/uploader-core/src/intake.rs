//! Turning dropped paths (files and folders) into the list of files to upload.

use std::path::{Path, PathBuf};

/// Extensions taken from folders; a file named explicitly is always taken, and the
/// pipeline then says whether it is an image.
const IMAGE_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "png", "webp", "gif", "tif", "tiff", "bmp", "heic", "heif",
];

/// Files named directly, plus the images found in folders (recursively, hidden entries
/// skipped), in a stable order. An unreadable folder is kept as an entry of its own, so
/// that it gets a job whose error says why.
pub fn expand(paths: &[PathBuf]) -> Vec<PathBuf> {
    expand_where(paths, has_image_extension)
}

/// Like [`expand`], taking every file found in folders, images or not (for `--as-is`).
pub fn expand_all(paths: &[PathBuf]) -> Vec<PathBuf> {
    expand_where(paths, |_| true)
}

fn expand_where(paths: &[PathBuf], wanted: fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, wanted, &mut files);
        } else {
            files.push(path.clone());
        }
    }
    files
}

fn walk(dir: &Path, wanted: fn(&Path) -> bool, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        files.push(dir.to_path_buf());
        return;
    };
    let mut children: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| !is_hidden(p))
        .collect();
    children.sort();
    for child in children {
        // `symlink_metadata` so that a link loop cannot recurse forever.
        match std::fs::symlink_metadata(&child) {
            Ok(m) if m.is_dir() => walk(&child, wanted, files),
            Ok(m) if m.is_file() && wanted(&child) => files.push(child),
            _ => {}
        }
    }
}

fn is_hidden(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
        n.starts_with('.')
            || n.eq_ignore_ascii_case("thumbs.db")
            || n.eq_ignore_ascii_case("desktop.ini")
    })
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
        for f in [
            "shoot/b.JPG",
            "shoot/a.png",
            "shoot/notes.txt",
            "shoot/.hidden.jpg",
            "shoot/sub/c.webp",
            "shoot/.cache/d.jpg",
            "loose.txt",
        ] {
            std::fs::write(root.join(f), b"x").unwrap();
        }
        let files = expand(&[root.join("shoot"), root.join("loose.txt")]);
        let rel: Vec<_> = files
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            rel,
            [
                "shoot/a.png",
                "shoot/b.JPG",
                "shoot/sub/c.webp",
                "loose.txt"
            ]
        );
    }
}
