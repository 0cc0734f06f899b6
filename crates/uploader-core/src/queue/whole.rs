//! The check before a multipart upload is completed: its parts must add up to the file as it
//! was staged. S3 checks each part against its CRC32C, but nothing checks the whole: a source
//! edited between two parts (or between a crash and the resume, at the same size) would become
//! an object made of two versions, with the first version's SHA-256 in its metadata.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::store::PartRecord;

/// Why the parts are not the staged file.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Mismatch {
    /// The file's bytes are not the ones staged (their SHA-256 differs).
    FileChanged,
    /// The file is as staged, but the parts sent are not its bytes: it changed between parts
    /// and back, or a part was sent from another copy.
    PartsDiffer,
    Unreadable(String),
}

/// Compares the CRC32C the parts add up to with the one taken when the file was staged: equal,
/// nothing is read. Otherwise (or for a variant staged before CRCs were recorded) the file is
/// read once (SHA-256 and CRC32C in one pass, in blocks, on a blocking thread) to say which
/// it is: the file changed, or the parts were sent from other bytes.
pub(super) async fn check(
    path: &Path,
    staged_sha256: &str,
    staged_crc32c: Option<u32>,
    parts: &BTreeMap<u32, PartRecord>,
) -> Result<(), Mismatch> {
    let sent = parts_crc32c(parts).ok_or(Mismatch::PartsDiffer)?;
    if staged_crc32c == Some(sent) {
        return Ok(());
    }
    let path: PathBuf = path.to_path_buf();
    let (sha256, crc) = tokio::task::spawn_blocking(move || digest(&path))
        .await
        .map_err(|e| Mismatch::Unreadable(e.to_string()))?
        .map_err(|e| Mismatch::Unreadable(e.to_string()))?;
    if sha256 != staged_sha256 {
        return Err(Mismatch::FileChanged);
    }
    if crc != sent {
        return Err(Mismatch::PartsDiffer);
    }
    Ok(())
}

/// The CRC32C of the parts' bytes one after the other, from each part's own (base64, as sent).
fn parts_crc32c(parts: &BTreeMap<u32, PartRecord>) -> Option<u32> {
    use base64::Engine;
    let mut whole = 0u32;
    for part in parts.values() {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&part.crc32c)
            .ok()?;
        let crc = u32::from_be_bytes(bytes.try_into().ok()?);
        whole = crc32c::crc32c_combine(whole, crc, usize::try_from(part.bytes).ok()?);
    }
    Some(whole)
}

fn digest(path: &Path) -> std::io::Result<(String, u32)> {
    use std::io::Read;
    let mut file = crate::source::open(path)?;
    let mut hasher = Sha256::new();
    let mut crc = 0u32;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        crc = crc32c::crc32c_append(crc, &buf[..n]);
    }
    Ok((format!("{:x}", hasher.finalize()), crc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(number: u32, bytes: &[u8]) -> (u32, PartRecord) {
        use base64::Engine;
        let crc = crc32c::crc32c(bytes);
        (
            number,
            PartRecord {
                part_number: number,
                bytes: bytes.len() as u64,
                etag: String::new(),
                crc32c: base64::engine::general_purpose::STANDARD.encode(crc.to_be_bytes()),
            },
        )
    }

    #[tokio::test]
    async fn parts_are_checked_against_the_file_as_staged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("photo.jpg");
        let v1 = b"first half, second half.".to_vec();
        let mut v2 = v1.clone();
        v2[0] = b'F';
        std::fs::write(&path, &v1).unwrap();
        let sha_v1 = crate::hash::sha256_hex(&v1);
        let split = |bytes: &[u8]| -> BTreeMap<u32, PartRecord> {
            [part(1, &bytes[..11]), part(2, &bytes[11..])]
                .into_iter()
                .collect()
        };
        // (parts sent from, the file now, what the check says without a CRC taken at staging,
        // and with one)
        let mixed: BTreeMap<u32, PartRecord> = [part(1, &v2[..11]), part(2, &v1[11..])]
            .into_iter()
            .collect();
        let cases = [
            (
                "all parts from the file as staged",
                split(&v1),
                &v1,
                Ok(()),
                Ok(()),
            ),
            (
                "the first part from an edit since undone",
                mixed,
                &v1,
                Err(Mismatch::PartsDiffer),
                Err(Mismatch::PartsDiffer),
            ),
            // With a CRC from staging the parts prove the object is the staged bytes, whole:
            // the file may change afterwards. Without one, the file itself is the reference.
            (
                "the file edited after the parts were sent",
                split(&v1),
                &v2,
                Err(Mismatch::FileChanged),
                Ok(()),
            ),
            (
                "every part sent from the edited file",
                split(&v2),
                &v2,
                Err(Mismatch::FileChanged),
                Err(Mismatch::FileChanged),
            ),
        ];
        for (name, parts, now, without, with) in cases {
            std::fs::write(&path, now).unwrap();
            for (staged_crc, expected) in [(None, without), (Some(crc32c::crc32c(&v1)), with)] {
                let found = check(&path, &sha_v1, staged_crc, &parts).await;
                assert_eq!(found, expected, "{name}, staged CRC {staged_crc:?}");
            }
        }
    }
}
