//! The uploaded photos still in the bucket, as the gallery shows them.

use std::path::PathBuf;

use rusqlite::params;

use super::Store;
use crate::Result;
use crate::clock::Millis;

/// One uploaded photo and its objects.
#[derive(Debug, Clone, PartialEq)]
pub struct GalleryImage {
    pub job_id: i64,
    pub sku: String,
    pub source_path: PathBuf,
    pub uploaded_at: Millis,
    /// Its variants still in the bucket, smallest first (the first makes the preview).
    pub objects: Vec<GalleryObject>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GalleryObject {
    pub variant: String,
    pub key: String,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
}

impl Store {
    /// Uploaded photos whose keys still hold them (one photo per key: a key uploaded again
    /// shows its new photo only), by SKU then newest first; `search` keeps SKUs that contain
    /// it (any case). At most `limit` photos.
    pub fn gallery(&self, search: &str, limit: usize) -> Result<Vec<GalleryImage>> {
        let conn = self.conn();
        let pattern = format!("%{}%", search.trim().replace(['%', '_'], ""));
        let mut statement = conn.prepare_cached(
            "SELECT j.id, j.sku, j.source_path, j.updated_at,
                    v.name, v.object_key, v.width, v.height, v.bytes
             FROM (SELECT id, sku, source_path, updated_at FROM jobs
                   WHERE state = 'uploaded' AND sku LIKE ?1
                     AND EXISTS (SELECT 1 FROM objects WHERE job_id = jobs.id)
                   ORDER BY sku, updated_at DESC, id DESC LIMIT ?2) j
             JOIN objects o ON o.job_id = j.id
             JOIN variants v ON v.job_id = o.job_id AND v.name = o.variant
             ORDER BY j.sku, j.updated_at DESC, j.id DESC, v.bytes, v.name",
        )?;
        let mut rows = statement.query(params![pattern, limit as i64])?;
        let mut images: Vec<GalleryImage> = Vec::new();
        while let Some(r) = rows.next()? {
            let job_id: i64 = r.get(0)?;
            if images.last().is_none_or(|i| i.job_id != job_id) {
                images.push(GalleryImage {
                    job_id,
                    sku: r.get(1)?,
                    source_path: PathBuf::from(r.get::<_, String>(2)?),
                    uploaded_at: r.get(3)?,
                    objects: Vec::new(),
                });
            }
            if let Some(image) = images.last_mut() {
                image.objects.push(GalleryObject {
                    variant: r.get(4)?,
                    key: r.get(5)?,
                    width: r.get(6)?,
                    height: r.get(7)?,
                    bytes: r.get::<_, i64>(8)? as u64,
                });
            }
        }
        Ok(images)
    }

    /// The SHA-256 of what `key` holds now by this workstation's record, if anything.
    pub fn uploaded_sha256(&self, key: &str) -> Result<Option<String>> {
        Ok(self.current_object(key)?.map(|o| o.sha256))
    }
}
