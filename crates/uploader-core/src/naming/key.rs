//! Object keys: `{prefix}{sku}/{stem}-{variant}.{ext}` made safe for S3 and for browsers.

/// A key template such as `{sku}/{stem}-{variant}.{ext}`, filled below the prefix.
#[derive(Debug, Clone)]
pub struct KeyTemplate {
    prefix: String,
    template: String,
}

impl KeyTemplate {
    pub fn new(prefix: &str, template: &str) -> Self {
        Self {
            prefix: prefix.to_string(),
            template: template.to_string(),
        }
    }

    /// Every part is reduced to safe characters, so no key leaves the prefix.
    pub fn key(&self, sku: &str, stem: &str, variant: &str, ext: &str) -> String {
        let filled = self
            .template
            .replace("{sku}", &safe_segment(sku))
            .replace("{stem}", &safe_segment(stem))
            .replace("{variant}", &safe_segment(variant))
            .replace("{ext}", &safe_segment(ext));
        let path: Vec<&str> = filled
            .split('/')
            .filter(|p| !p.is_empty() && *p != "." && *p != "..")
            .collect();
        format!("{}{}", self.prefix, path.join("/"))
    }
}

impl KeyTemplate {
    /// `{prefix}{sku}/{file name}`, both made safe.
    pub fn file_key(&self, sku: &str, file_name: &str) -> String {
        let sku = safe_segment(sku);
        let name = safe_segment(file_name);
        let parts: Vec<&str> = [sku.as_str(), name.as_str()]
            .into_iter()
            .filter(|p| !p.is_empty() && *p != "." && *p != "..")
            .collect();
        format!("{}{}", self.prefix, parts.join("/"))
    }
}

/// Why `path` cannot be an object key's part below a prefix, if it cannot: it must be a
/// plain relative path (no empty, `.` or `..` segment, no leading or trailing `/`, no
/// backslash), with no control character and none that XML 1.0 forbids (U+FFFE, U+FFFF),
/// which would make every DeleteObjects request that carries it invalid. The one rule for
/// every key made from outside input: the backend's signing and the workstation's deletions.
pub fn path_problem(path: &str) -> Option<&'static str> {
    if path.is_empty() {
        return Some("is empty");
    }
    if path.chars().any(char::is_control) {
        return Some("contains a control character");
    }
    if path.chars().any(|c| matches!(c, '\u{FFFE}' | '\u{FFFF}')) {
        return Some("contains a character XML 1.0 forbids (U+FFFE or U+FFFF)");
    }
    if path.contains('\\') {
        return Some("contains a backslash");
    }
    if path.starts_with('/') {
        return Some("is absolute");
    }
    if path
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Some("has an empty, `.` or `..` segment");
    }
    None
}

/// Letters are folded to ASCII, anything else but `-`, `_` and `.` becomes one `-`.
pub fn safe_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in deunicode::deunicode(s).chars() {
        let keep = c.is_ascii_alphanumeric() || matches!(c, '_' | '.');
        if keep {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_matches(|c| c == '-' || c == '.');
    if trimmed.is_empty() {
        "image".to_string()
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_names_become_safe_segments() {
        let cases = [
            ("SKU123", "SKU123"),
            ("Ünïcödé photo (1) #2", "Unicode-photo-1-2"),
            ("../../etc/passwd", "etc-passwd"),
            ("a/b\\c", "a-b-c"),
            ("  ", "image"),
            ("文件", "Wen-Jian"),
            ("x\u{0}y\ny", "x-y-y"),
        ];
        for (input, want) in cases {
            assert_eq!(safe_segment(input), want, "{input:?}");
        }
    }

    #[test]
    fn keys_stay_under_the_prefix() {
        let t = KeyTemplate::new("products/", "{sku}/{stem}-{variant}.{ext}");
        assert_eq!(
            t.key("SKU1", "SKU1_front", "large", "jpg"),
            "products/SKU1/SKU1_front-large.jpg"
        );
        assert_eq!(
            t.key("..", "..", "thumb", "jpg"),
            "products/image/image-thumb.jpg"
        );
        let hostile = KeyTemplate::new("products/", "../{sku}/./{stem}-{variant}.{ext}");
        assert!(hostile.key("a", "b", "c", "jpg").starts_with("products/a/"));
    }
}
