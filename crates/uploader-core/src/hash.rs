//! SHA-256 as the store and S3 record it: lowercase hex.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::{Error, Result};

pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Size and SHA-256 of a file, read in blocks so memory stays flat whatever its size. A file
/// that cannot be read is the file's problem, named with its path.
pub fn hash_file(path: &Path) -> Result<(u64, String)> {
    hash_file_with_crc32c(path).map(|(size, sha256, _)| (size, sha256))
}

/// Like [`hash_file`], with the file's CRC32C from the same read (what a multipart upload's
/// parts must add up to).
pub fn hash_file_with_crc32c(path: &Path) -> Result<(u64, String, u32)> {
    use std::io::Read;
    let unreadable = |e: std::io::Error| Error::Image {
        path: path.to_path_buf(),
        reason: format!("cannot be read: {e}"),
    };
    const BLOCK: u64 = 1 << 20;
    let mut file = crate::source::open(path).map_err(unreadable)?;
    let size = file.metadata().map_err(unreadable)?.len();
    let mut hasher = Sha256::new();
    if size <= BLOCK {
        // A small file in one read, into a buffer that is not zeroed first: most files are small.
        let mut bytes = Vec::with_capacity(size as usize + 1);
        file.read_to_end(&mut bytes).map_err(unreadable)?;
        hasher.update(&bytes);
        return Ok((
            bytes.len() as u64,
            format!("{:x}", hasher.finalize()),
            crc32c::crc32c(&bytes),
        ));
    }
    let mut buf = vec![0u8; BLOCK as usize];
    let mut total = 0u64;
    let mut crc = 0u32;
    loop {
        let n = file.read(&mut buf).map_err(unreadable)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        crc = crc32c::crc32c_append(crc, &buf[..n]);
        total += n as u64;
    }
    Ok((total, format!("{:x}", hasher.finalize()), crc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashing_reads_the_whole_file_in_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![7u8; 3 << 20]).unwrap();
        let (size, sha) = hash_file(&path).unwrap();
        assert_eq!(size, 3 << 20);
        assert_eq!(sha, sha256_hex(&vec![7u8; 3 << 20]));
        assert!(matches!(
            hash_file(&dir.path().join("missing")),
            Err(Error::Image { .. })
        ));
    }
}
