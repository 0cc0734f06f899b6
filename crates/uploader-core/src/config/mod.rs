//! Settings: what the file, the environment and flags say, merged into one checked [`Config`].
//!
//! Secrets never live here: AWS keys come from the keyring ([`AwsKeys::stored`]) or the AWS
//! chain (env, profile, role), the backend token from [`backend_token`].

mod dirs;
mod keyring;
mod load;
mod policy;
mod secrets;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

pub use dirs::AppDirs;
pub use keyring::{ENV_KEYRING_SERVICE, OsKeyring, prepare_keyring};
pub use load::{
    ConfigOverrides, ENV_BACKEND_URL, ENV_CONFIG, ENV_DATA_DIR, ENV_KEY_PREFIX, ENV_MODE,
    ENV_PATH_STYLE, Explained, Source, explain, load,
};
pub use policy::{ENV_POLICY, Policy, policy_path};
pub use secrets::{
    AWS_KEYS_ENTRY, AwsKeys, BACKEND_TOKEN_ENTRY, ENV_BACKEND_TOKEN, SecretStore, backend_token,
    store_backend_token,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Who signs uploads: this workstation (`direct`), the company backend (`backend`), or
    /// an `@uppy/companion` server (`companion`).
    pub mode: Mode,
    pub s3: S3Settings,
    pub backend: BackendSettings,
    pub outbox: OutboxSettings,
    pub naming: NamingSettings,
    pub upload: UploadSettings,
    pub limits: LimitSettings,
    pub metadata: MetadataSettings,
    #[serde(rename = "variant")]
    pub variants: Vec<VariantSpec>,
    /// Where the SQLite database and staged files live; the per-OS data dir when unset.
    pub data_dir: Option<PathBuf>,
    /// Settings the admin's policy locks (dotted names such as `upload.concurrency`).
    #[serde(skip)]
    pub locked: Vec<String>,
    /// The admin's policy file, when there is one.
    #[serde(skip)]
    pub policy: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Settings {
    pub bucket: String,
    pub region: String,
    /// A custom endpoint for S3-compatible stores, e.g. `http://127.0.0.1:8333`.
    pub endpoint: Option<String>,
    /// Path-style addressing (`host/bucket/key`); defaults to on whenever `endpoint` is set,
    /// since `bucket.localhost` does not resolve.
    pub path_style: Option<bool>,
    /// Every key starts with this; always ends with `/`.
    pub prefix: String,
    /// Server-side encryption asked for on every object: `AES256` (SSE-S3) or `aws:kms`.
    pub sse: Option<String>,
    /// The KMS key for `sse = "aws:kms"`; the bucket's default key when unset.
    pub kms_key_id: Option<String>,
    /// e.g. `STANDARD`, `INTELLIGENT_TIERING`; the bucket's default when unset.
    pub storage_class: Option<String>,
    /// `Cache-Control` stored with every object, e.g. `public, max-age=86400`.
    pub cache_control: Option<String>,
}

/// Who signs uploads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// This workstation, with the AWS chain's keys.
    #[default]
    Direct,
    /// The company backend presigns; the workstation holds only a backend token.
    Backend,
    /// An `@uppy/companion` server presigns (its S3 routes), at `backend.url`.
    Companion,
}

impl std::str::FromStr for Mode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "direct" => Ok(Mode::Direct),
            "backend" => Ok(Mode::Backend),
            "companion" => Ok(Mode::Companion),
            other => Err(Error::config(
                "mode",
                format!("`{other}` is not a mode: use direct, backend or companion"),
            )),
        }
    }
}

/// The server that signs, for `mode = "backend"` (the company backend) or `"companion"`
/// (Companion). The token is a secret: it lives in the environment
/// (`CATALOG_UPLOADER_BACKEND_TOKEN`), never in this file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackendSettings {
    /// e.g. `https://uploads.example.com`
    pub url: Option<String>,
    /// Lets a plain `http://` URL to another machine through: every request carries the
    /// workstation's token, readable to anyone on the way. Loopback needs no permission.
    pub allow_insecure_http: bool,
}

/// The deletion outbox: how hard a deletion is tried, and when its backlog is alarming.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboxSettings {
    /// Failed attempts after which a deletion stays `dead` until retried.
    pub max_attempts: u32,
    /// The wait after a deletion's first failure; it doubles with each attempt.
    pub retry_base_secs: f64,
    /// No wait between attempts is longer.
    pub retry_max_secs: f64,
    /// Above this many deletions waiting (here, or in the backend's queue) the app alerts.
    pub alert_threshold: u64,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            retry_base_secs: 5.0,
            retry_max_secs: 3600.0,
            alert_threshold: 100,
        }
    }
}

impl OutboxSettings {
    pub fn backoff(&self) -> crate::queue::Backoff {
        crate::queue::Backoff {
            base: std::time::Duration::from_secs_f64(self.retry_base_secs),
            cap: std::time::Duration::from_secs_f64(self.retry_max_secs),
        }
    }

    fn validate(&self) -> Result<()> {
        if !(1..=100).contains(&self.max_attempts) {
            return Err(Error::config(
                "outbox.max_attempts",
                format!("must be between 1 and 100, not {}", self.max_attempts),
            ));
        }
        let secs_ok = |v: f64| v.is_finite() && (0.01..=86_400.0).contains(&v);
        if !secs_ok(self.retry_base_secs) || !secs_ok(self.retry_max_secs) {
            return Err(Error::config(
                "outbox.retry_base_secs",
                "retry_base_secs and retry_max_secs must be between 0.01 and 86400 seconds",
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NamingSettings {
    /// How a SKU is read from a file stem: `{sku}` captures it, other `{name}`s match anything.
    pub sku_pattern: String,
    /// The key below the prefix: `{sku}`, `{stem}`, `{variant}` and `{ext}` are filled in.
    pub key_template: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UploadSettings {
    /// Requests in flight at once (whole objects and multipart parts).
    pub concurrency: usize,
    /// Files rendered at once; one per core when unset.
    pub render_workers: Option<usize>,
    /// Failed attempts after which a file is marked failed. Attempts are not counted while
    /// the server cannot be reached at all.
    pub max_attempts: u32,
    /// Objects at least this large go up in parts, several at once, each resumable.
    pub multipart_threshold_mb: u64,
    /// The part size; it grows when needed to stay under S3's 10,000 parts.
    pub part_size_mb: u64,
    /// Upload bandwidth cap in megabytes per second; unlimited when unset.
    pub max_mb_per_second: Option<f64>,
    /// A request that has not been answered after this long is abandoned and retried.
    pub request_timeout_secs: u64,
}

/// What a source file may be before it is refused, and how much is decoded at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitSettings {
    /// Larger files are refused before they are read.
    pub max_file_mb: u64,
    /// Larger pictures (width × height) are refused before their pixels are allocated.
    pub max_megapixels: u64,
    /// Pictures decoded at the same time, counted at full size: memory stays bounded however
    /// many files are worked on at once. A picture larger than this is decoded alone.
    pub concurrent_megapixels: u64,
    /// The storefront's minimum longest edge in pixels: a smaller photo is flagged when a drop
    /// is reviewed (it is still uploaded if the user confirms). 0 turns the warning off.
    pub min_longest_edge: u64,
}

/// What is written into every variant in place of the source's metadata, which is all
/// dropped: EXIF Artist and Copyright in JPEG and WebP, Author and Copyright text in PNG.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetadataSettings {
    pub copyright: Option<String>,
    pub artist: Option<String>,
}

/// One rendition of every photo: `large` at 2000 px on the longest edge, or `square` padded
/// to 1000×1000 on white.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantSpec {
    pub name: String,
    /// Shorthand for `width = height = longest_edge` with `fit = "contain"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longest_edge: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(default)]
    pub fit: Fit,
    /// `#rrggbb` around the photo with `pad`, and under transparent pixels in a JPEG; white by
    /// default. `transparent` pads PNG and WebP variants with transparency.
    #[serde(default = "default_background")]
    pub background: String,
    #[serde(default = "default_quality")]
    pub quality: u8,
    #[serde(default)]
    pub format: Format,
    /// The source itself, not resized or re-encoded, its metadata taken out (JPEG, PNG,
    /// WebP); other formats are re-encoded at full size in `format`. No size is set.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub original: bool,
}

/// The file format a variant is written in. PNG and WebP keep transparency; JPEG puts
/// transparent pixels on the variant's background.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Jpeg,
    /// Lossy WebP at `quality`, alpha kept.
    Webp,
    /// Lossless PNG; `quality` is ignored.
    Png,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Jpeg => "jpg",
            Format::Webp => "webp",
            Format::Png => "png",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Webp => "image/webp",
            Format::Png => "image/png",
        }
    }

    pub fn keeps_alpha(self) -> bool {
        self != Format::Jpeg
    }
}

/// How a photo goes into its variant's box. None of them ever upscales.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fit {
    /// Inside the box, aspect ratio kept.
    #[default]
    Contain,
    /// Fills the box, the overflow cropped around the centre.
    Cover,
    /// Inside the box, centred on a box-sized background.
    Pad,
}

fn default_quality() -> u8 {
    85
}

fn default_background() -> String {
    "#ffffff".into()
}

impl VariantSpec {
    /// A variant that fits the longest edge, the common case.
    pub fn longest(name: &str, longest_edge: u32, quality: u8) -> Self {
        Self {
            name: name.into(),
            longest_edge: Some(longest_edge),
            width: None,
            height: None,
            fit: Fit::Contain,
            background: default_background(),
            quality,
            format: Format::Jpeg,
            original: false,
        }
    }

    /// The box to fit: `longest_edge` squared, or `width` × `height`.
    pub fn target_box(&self) -> (u32, u32) {
        match (self.longest_edge, self.width, self.height) {
            (Some(l), _, _) => (l, l),
            (None, Some(w), Some(h)) => (w, h),
            (None, Some(w), None) => (w, w),
            (None, None, Some(h)) => (h, h),
            (None, None, None) => (0, 0),
        }
    }

    /// The background as RGBA (`transparent` is all zero); `validate` has checked that it
    /// parses.
    pub fn background_rgba(&self) -> [u8; 4] {
        if self.background == "transparent" {
            return [0, 0, 0, 0];
        }
        let [r, g, b] = parse_hex_colour(&self.background).unwrap_or([255, 255, 255]);
        [r, g, b, 255]
    }
}

fn parse_hex_colour(s: &str) -> Option<[u8; 3]> {
    let hex = s.strip_prefix('#')?;
    if hex.len() != 6 {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
    Some([byte(0)?, byte(2)?, byte(4)?])
}

impl Default for Config {
    fn default() -> Self {
        Self {
            mode: Mode::Direct,
            s3: S3Settings::default(),
            backend: BackendSettings::default(),
            outbox: OutboxSettings::default(),
            naming: NamingSettings::default(),
            upload: UploadSettings::default(),
            limits: LimitSettings::default(),
            metadata: MetadataSettings::default(),
            variants: vec![
                VariantSpec::longest("large", 2000, 85),
                VariantSpec::longest("thumb", 400, 80),
            ],
            data_dir: None,
            locked: Vec::new(),
            policy: None,
        }
    }
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            max_file_mb: 200,
            max_megapixels: 100,
            concurrent_megapixels: 300,
            min_longest_edge: 1000,
        }
    }
}

impl Default for S3Settings {
    fn default() -> Self {
        Self {
            bucket: String::new(),
            region: String::new(),
            endpoint: None,
            path_style: None,
            prefix: "products/".into(),
            sse: None,
            kms_key_id: None,
            storage_class: None,
            cache_control: None,
        }
    }
}

impl Default for NamingSettings {
    fn default() -> Self {
        Self {
            sku_pattern: "{sku}_{rest}".into(),
            key_template: "{sku}/{stem}-{variant}.{ext}".into(),
        }
    }
}

impl Default for UploadSettings {
    fn default() -> Self {
        Self {
            concurrency: 8,
            render_workers: None,
            max_attempts: 10,
            multipart_threshold_mb: 16,
            part_size_mb: 8,
            max_mb_per_second: None,
            request_timeout_secs: 120,
        }
    }
}

impl S3Settings {
    pub fn uses_path_style(&self) -> bool {
        self.path_style.unwrap_or(self.endpoint.is_some())
    }

    /// The region to sign for: S3-compatible servers accept any, AWS needs the bucket's.
    pub fn effective_region(&self) -> &str {
        if self.region.is_empty() {
            "us-east-1"
        } else {
            &self.region
        }
    }
}

impl Config {
    /// Checks what can be checked without the network, naming the setting that is wrong.
    pub fn validate(&self) -> Result<()> {
        match self.mode {
            Mode::Direct => self.validate_bucket()?,
            Mode::Backend | Mode::Companion => self.validate_backend()?,
        }
        self.outbox.validate()?;
        if let Some(endpoint) = &self.s3.endpoint
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            return Err(Error::config(
                "s3.endpoint",
                format!("`{endpoint}` is not a URL: it must start with http:// or https://"),
            ));
        }
        if !self.s3.prefix.is_empty() && !self.s3.prefix.ends_with('/') {
            return Err(Error::config("s3.prefix", "must end with `/`"));
        }
        if self.s3.prefix.starts_with('/') || self.s3.prefix.split('/').any(|p| p == "..") {
            return Err(Error::config(
                "s3.prefix",
                format!("`{}` must be relative, without `..`", self.s3.prefix),
            ));
        }
        self.s3.validate_encryption()?;
        self.validate_rendering()
    }

    /// Direct mode signs for a bucket of its own.
    fn validate_bucket(&self) -> Result<()> {
        if self.s3.bucket.trim().is_empty() {
            return Err(Error::config(
                "s3.bucket",
                "no bucket is set: put `bucket = \"...\"` under [s3] in the config file or set AWS_S3_BUCKET_NAME",
            ));
        }
        if let Some(reason) = bucket_name_problem(self.s3.bucket.trim()) {
            return Err(Error::config(
                "s3.bucket",
                format!("`{}` {reason}", self.s3.bucket),
            ));
        }
        Ok(())
    }

    /// Backend mode needs the backend's address; the bucket is the backend's business.
    fn validate_backend(&self) -> Result<()> {
        match self.backend.url.as_deref().map(str::trim) {
            None | Some("") => Err(Error::config(
                "backend.url",
                "backend mode needs the backend's address: put `url = \"https://...\"` under \
                 [backend] in the config file or set CATALOG_UPLOADER_BACKEND_URL",
            )),
            Some(url) if !(url.starts_with("http://") || url.starts_with("https://")) => {
                Err(Error::config(
                    "backend.url",
                    format!("`{url}` is not a URL: it must start with http:// or https://"),
                ))
            }
            Some(url)
                if url.starts_with("http://")
                    && !self.backend.allow_insecure_http
                    && !is_loopback(url) =>
            {
                Err(Error::config(
                    "backend.url",
                    format!(
                        "`{url}` is plain http to another machine, which would send the \
                         workstation's token in clear text: use https://, or set \
                         `allow_insecure_http = true` under [backend] if that network is trusted"
                    ),
                ))
            }
            Some(_) => Ok(()),
        }
    }

    /// The settings that rendering to disk needs (`uploader process`): no bucket required.
    pub fn validate_rendering(&self) -> Result<()> {
        if self.variants.is_empty() {
            return Err(Error::config(
                "variant",
                "at least one [[variant]] is needed",
            ));
        }
        let mut names = std::collections::HashSet::new();
        for v in &self.variants {
            let setting = format!("variant.{}", v.name);
            if v.name.is_empty()
                || !v
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(Error::config(
                    setting,
                    "a variant name may hold only letters, digits, `-` and `_`",
                ));
            }
            if !names.insert(&v.name) {
                return Err(Error::config(setting, "variant names must be unique"));
            }
            let sized = [v.longest_edge, v.width, v.height];
            if v.original {
                if sized.iter().any(Option::is_some) || v.fit != Fit::Contain {
                    return Err(Error::config(
                        setting,
                        "an `original` variant keeps the full size: remove its size and fit",
                    ));
                }
            } else if sized.iter().all(Option::is_none) {
                return Err(Error::config(
                    setting,
                    "set `longest_edge`, or `width` and `height`",
                ));
            }
            if v.longest_edge.is_some() && (v.width.is_some() || v.height.is_some()) {
                return Err(Error::config(
                    setting,
                    "set `longest_edge` or `width`/`height`, not both",
                ));
            }
            for (field, value) in [
                ("longest_edge", v.longest_edge),
                ("width", v.width),
                ("height", v.height),
            ] {
                if value.is_some_and(|px| !(16..=16384).contains(&px)) {
                    return Err(Error::config(
                        format!("{setting}.{field}"),
                        "must be between 16 and 16384 pixels",
                    ));
                }
            }
            if v.fit != Fit::Contain && (v.width.is_none() || v.height.is_none()) {
                return Err(Error::config(
                    format!("{setting}.fit"),
                    "`cover` and `pad` need both `width` and `height`",
                ));
            }
            if v.background == "transparent" {
                if !v.format.keeps_alpha() {
                    return Err(Error::config(
                        format!("{setting}.background"),
                        "`transparent` needs format = \"png\" or \"webp\": JPEG has no transparency",
                    ));
                }
            } else if parse_hex_colour(&v.background).is_none() {
                return Err(Error::config(
                    format!("{setting}.background"),
                    format!(
                        "`{}` is not a colour like #ffffff (or `transparent`)",
                        v.background
                    ),
                ));
            }
            if v.format == Format::Webp
                && [v.longest_edge, v.width, v.height]
                    .iter()
                    .any(|px| px.is_some_and(|px| px > 16383))
            {
                return Err(Error::config(
                    setting.clone(),
                    "WebP images are at most 16383 pixels on a side",
                ));
            }
            if !(1..=100).contains(&v.quality) {
                return Err(Error::config(
                    setting + ".quality",
                    "must be between 1 and 100",
                ));
            }
        }
        if !self.naming.sku_pattern.contains("{sku}") {
            return Err(Error::config("naming.sku_pattern", "must contain `{sku}`"));
        }
        if !self.naming.key_template.contains("{variant}") {
            return Err(Error::config(
                "naming.key_template",
                "must contain `{variant}`, or the variants of one photo would overwrite each other",
            ));
        }
        let limits = [
            ("limits.max_file_mb", self.limits.max_file_mb, 1, 4096),
            ("limits.max_megapixels", self.limits.max_megapixels, 1, 1000),
            (
                "limits.concurrent_megapixels",
                self.limits.concurrent_megapixels,
                1,
                100_000,
            ),
            (
                "limits.min_longest_edge",
                self.limits.min_longest_edge,
                0,
                100_000,
            ),
        ];
        for (setting, value, min, max) in limits {
            if !(min..=max).contains(&value) {
                return Err(Error::config(
                    setting,
                    format!("must be between {min} and {max}"),
                ));
            }
        }
        for (setting, text) in [
            ("metadata.copyright", &self.metadata.copyright),
            ("metadata.artist", &self.metadata.artist),
        ] {
            if let Some(text) = text
                && (text.chars().count() > 500 || text.chars().any(char::is_control))
            {
                return Err(Error::config(
                    setting,
                    "must be one line of at most 500 characters",
                ));
            }
        }
        self.upload.validate()
    }
}

impl UploadSettings {
    fn validate(&self) -> Result<()> {
        let range = |setting: &str, value: u64, min: u64, max: u64| {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(Error::config(
                    setting,
                    format!("must be between {min} and {max}, not {value}"),
                ))
            }
        };
        range("upload.concurrency", self.concurrency as u64, 1, 64)?;
        if let Some(workers) = self.render_workers {
            range("upload.render_workers", workers as u64, 1, 64)?;
        }
        range("upload.max_attempts", self.max_attempts.into(), 1, 100)?;
        // S3 refuses parts under 5 MiB (except the last) and over 5 GiB.
        range("upload.part_size_mb", self.part_size_mb, 5, 5120)?;
        range(
            "upload.multipart_threshold_mb",
            self.multipart_threshold_mb,
            5,
            5120,
        )?;
        range(
            "upload.request_timeout_secs",
            self.request_timeout_secs,
            5,
            3600,
        )?;
        if let Some(rate) = self.max_mb_per_second
            && !(rate.is_finite() && rate >= 0.01)
        {
            return Err(Error::config(
                "upload.max_mb_per_second",
                "must be a number of at least 0.01 (megabytes per second)",
            ));
        }
        Ok(())
    }
}

impl S3Settings {
    fn validate_encryption(&self) -> Result<()> {
        match self.sse.as_deref() {
            None | Some("AES256") => {
                if self.kms_key_id.is_some() {
                    return Err(Error::config(
                        "s3.kms_key_id",
                        "only applies with sse = \"aws:kms\"",
                    ));
                }
            }
            Some("aws:kms") => {}
            Some(other) => {
                return Err(Error::config(
                    "s3.sse",
                    format!(
                        "`{other}` is not a server-side encryption: use \"AES256\" or \"aws:kms\""
                    ),
                ));
            }
        }
        if let Some(class) = &self.storage_class
            && !STORAGE_CLASSES.contains(&class.as_str())
        {
            return Err(Error::config(
                "s3.storage_class",
                format!(
                    "`{class}` is not a storage class: use one of {}",
                    STORAGE_CLASSES.join(", ")
                ),
            ));
        }
        if let Some(cache) = &self.cache_control
            && (cache.len() > 200 || cache.chars().any(|c| c.is_control()))
        {
            return Err(Error::config(
                "s3.cache_control",
                "must be one line of at most 200 characters",
            ));
        }
        Ok(())
    }
}

/// The storage classes a PUT may ask for.
const STORAGE_CLASSES: &[&str] = &[
    "STANDARD",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER_IR",
    "REDUCED_REDUNDANCY",
];

/// S3's bucket naming rules, so a typo is named here rather than refused by the server.
fn bucket_name_problem(name: &str) -> Option<&'static str> {
    if !(3..=63).contains(&name.len()) {
        return Some("is not a valid bucket name: it must be 3 to 63 characters long");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return Some("is not a valid bucket name: use lowercase letters, digits, `.` and `-` only");
    }
    let ends_ok = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_alphanumeric());
    if !ends_ok(name.as_bytes().first()) || !ends_ok(name.as_bytes().last()) {
        return Some("is not a valid bucket name: it must start and end with a letter or digit");
    }
    None
}

/// Whether `url` names this machine: `localhost`, 127.0.0.0/8 or ::1.
fn is_loopback(url: &str) -> bool {
    let Some(host) = reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
    else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.trim_end_matches('.').eq_ignore_ascii_case("localhost"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> Config {
        let mut c = Config::default();
        c.s3.bucket = "catalog".into();
        c
    }

    #[test]
    fn defaults_with_a_bucket_are_valid() {
        assert!(valid().validate().is_ok());
    }

    #[test]
    fn each_wrong_setting_is_named() {
        type Spoil = fn(&mut Config);
        let cases: Vec<(&str, Spoil)> = vec![
            ("s3.bucket", |c| c.s3.bucket.clear()),
            ("s3.bucket", |c| c.s3.bucket = "hb".into()),
            ("s3.bucket", |c| c.s3.bucket = "Catalog_Photos".into()),
            ("s3.bucket", |c| c.s3.bucket = "-catalog".into()),
            ("s3.endpoint", |c| {
                c.s3.endpoint = Some("localhost:8333".into())
            }),
            ("s3.prefix", |c| c.s3.prefix = "products".into()),
            ("s3.prefix", |c| c.s3.prefix = "../x/".into()),
            ("backend.url", |c| c.mode = Mode::Backend),
            ("backend.url", |c| {
                c.mode = Mode::Backend;
                c.backend.url = Some("uploads.example.com".into());
            }),
            ("variant", |c| c.variants.clear()),
            ("variant.large.longest_edge", |c| {
                c.variants[0].longest_edge = Some(0)
            }),
            ("variant.large", |c| c.variants[0].longest_edge = None),
            ("variant.large", |c| c.variants[0].width = Some(800)),
            ("variant.large.fit", |c| c.variants[0].fit = Fit::Pad),
            ("variant.large.background", |c| {
                c.variants[0].background = "white".into()
            }),
            ("variant.large.background", |c| {
                c.variants[0].background = "transparent".into()
            }),
            ("variant.large", |c| {
                c.variants[0].format = Format::Webp;
                c.variants[0].longest_edge = Some(16384);
            }),
            ("variant.thumb.quality", |c| c.variants[1].quality = 0),
            ("variant.large", |c| c.variants[0].original = true),
            ("variant.large", |c| c.variants[1].name = "large".into()),
            ("naming.sku_pattern", |c| {
                c.naming.sku_pattern = "{stem}".into()
            }),
            ("naming.key_template", |c| {
                c.naming.key_template = "{sku}.jpg".into()
            }),
            ("upload.concurrency", |c| c.upload.concurrency = 0),
            ("upload.concurrency", |c| c.upload.concurrency = 65),
            ("upload.render_workers", |c| {
                c.upload.render_workers = Some(0)
            }),
            ("upload.max_attempts", |c| c.upload.max_attempts = 0),
            ("upload.part_size_mb", |c| c.upload.part_size_mb = 4),
            ("upload.multipart_threshold_mb", |c| {
                c.upload.multipart_threshold_mb = 1
            }),
            ("upload.request_timeout_secs", |c| {
                c.upload.request_timeout_secs = 1
            }),
            ("upload.max_mb_per_second", |c| {
                c.upload.max_mb_per_second = Some(0.0)
            }),
            ("upload.max_mb_per_second", |c| {
                c.upload.max_mb_per_second = Some(f64::NAN)
            }),
            ("s3.sse", |c| c.s3.sse = Some("aes256".into())),
            ("s3.kms_key_id", |c| c.s3.kms_key_id = Some("k".into())),
            ("s3.storage_class", |c| {
                c.s3.storage_class = Some("COLD".into())
            }),
            ("s3.cache_control", |c| {
                c.s3.cache_control = Some("a\nb".into())
            }),
            ("limits.max_megapixels", |c| c.limits.max_megapixels = 0),
            ("limits.max_file_mb", |c| c.limits.max_file_mb = 100_000),
            ("limits.concurrent_megapixels", |c| {
                c.limits.concurrent_megapixels = 0
            }),
            ("metadata.copyright", |c| {
                c.metadata.copyright = Some("line one\nline two".into())
            }),
            ("metadata.artist", |c| {
                c.metadata.artist = Some("x".repeat(501))
            }),
        ];
        for (setting, spoil) in cases {
            let mut c = valid();
            spoil(&mut c);
            match c.validate() {
                Err(Error::Config { setting: s, .. }) => assert_eq!(s, setting),
                other => panic!("{setting}: expected a config error, got {other:?}"),
            }
        }
    }

    #[test]
    fn plain_http_to_another_machine_is_refused_unless_allowed() {
        for (url, allowed, accepted) in [
            ("https://uploads.example.com", false, true),
            ("http://127.0.0.1:8080", false, true),
            ("http://127.9.8.7", false, true),
            ("http://localhost:3020/api", false, true),
            ("http://LOCALHOST.", false, true),
            ("http://[::1]:8080", false, true),
            ("http://uploads.example.com", false, false),
            ("http://10.0.0.5:8080", false, false),
            ("http://[fe80::1]:8080", false, false),
            ("http://localhost.example.com", false, false),
            ("http://user@127.0.0.1.example.com", false, false),
            ("http://uploads.example.com", true, true),
        ] {
            for mode in [Mode::Backend, Mode::Companion] {
                let mut config = Config {
                    mode,
                    ..Config::default()
                };
                config.backend.url = Some(url.into());
                config.backend.allow_insecure_http = allowed;
                match config.validate() {
                    Ok(()) => assert!(accepted, "{url} was let through"),
                    Err(e) => {
                        let text = e.to_string();
                        assert!(!accepted, "{url}: {text}");
                        assert!(
                            text.contains("backend.url") && text.contains("clear text"),
                            "{text}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn backend_mode_needs_the_backends_address_but_no_bucket() {
        let mut config = Config {
            mode: Mode::Backend,
            ..Config::default()
        };
        config.backend.url = Some("https://uploads.example.com".into());
        assert!(config.s3.bucket.is_empty());
        config.validate().unwrap();
        for (text, mode) in [("direct", Mode::Direct), (" Backend ", Mode::Backend)] {
            assert_eq!(text.parse::<Mode>().unwrap(), mode);
        }
        assert_eq!("companion".parse::<Mode>().unwrap(), Mode::Companion);
        let e = "sideways".parse::<Mode>().unwrap_err();
        assert!(e.to_string().contains("mode"), "{e}");
    }

    #[test]
    fn path_style_follows_a_custom_endpoint_unless_set() {
        let mut s = S3Settings::default();
        assert!(!s.uses_path_style());
        s.endpoint = Some("http://127.0.0.1:8333".into());
        assert!(s.uses_path_style());
        s.path_style = Some(false);
        assert!(!s.uses_path_style());
    }
}
