//! Which keys the backend signs: only ones under its prefix. A client proposes a path below
//! the prefix; anything that could climb out of it, hide in it or break a URL is refused.

/// S3's own limit on a key, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("path `{path}` {reason}")]
pub struct KeyError {
    pub path: String,
    pub reason: &'static str,
}

/// `prefix` + `path` once `path` is a plain relative path: no empty, `.` or `..` segment, no
/// leading or trailing `/`, no backslash, no control character, and short enough for S3.
pub fn object_key(prefix: &str, path: &str) -> Result<String, KeyError> {
    let refuse = |reason| {
        Err(KeyError {
            path: printable(path),
            reason,
        })
    };
    if let Some(problem) = uploader_core::naming::path_problem(path) {
        return refuse(problem);
    }
    if prefix.len() + path.len() > MAX_KEY_BYTES {
        return refuse("makes a key longer than S3's 1,024 bytes");
    }
    Ok(format!("{prefix}{path}"))
}

/// A prefix the backend can sign under: relative, ending in `/`, itself a valid path.
pub fn check_prefix(prefix: &str) -> Result<(), KeyError> {
    match prefix.strip_suffix('/') {
        Some(inner) => object_key("", inner).map(|_| ()),
        None => Err(KeyError {
            path: printable(prefix),
            reason: "must end with `/`",
        }),
    }
}

/// The path as it may be echoed in an error: control characters escaped, cut short.
fn printable(path: &str) -> String {
    let escaped: String = path
        .chars()
        .flat_map(char::escape_debug)
        .take(200)
        .collect();
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn paths_are_refused_for_what_could_leave_or_hide_in_the_prefix() {
        let cases: &[(&str, Option<&str>)] = &[
            (
                "SKU1/front-large.jpg",
                Some("products/SKU1/front-large.jpg"),
            ),
            ("a", Some("products/a")),
            ("", None),
            ("../etc/passwd", None),
            ("SKU1/../../x", None),
            ("SKU1/./x", None),
            ("/abs.jpg", None),
            ("SKU1//x.jpg", None),
            ("SKU1/", None),
            ("SKU1\\..\\x", None),
            ("a\nb", None),
            ("a\u{0}b", None),
            ("a\u{7f}b", None),
            ("a\u{85}b", None),
            ("SKU1/\u{FFFE}.jpg", None),
            ("SKU1/a\u{FFFF}", None),
            ("SKU1/\u{FFFD}.jpg", Some("products/SKU1/\u{FFFD}.jpg")),
        ];
        for (path, want) in cases {
            assert_eq!(
                object_key("products/", path).ok().as_deref(),
                *want,
                "{path:?}"
            );
        }
    }

    #[test]
    fn a_key_longer_than_s3_allows_is_refused() {
        let path = "x".repeat(MAX_KEY_BYTES);
        assert!(object_key("products/", &path).is_err());
        assert!(object_key("products/", &path[..MAX_KEY_BYTES - 9]).is_ok());
    }

    #[test]
    fn prefixes_must_be_relative_and_end_with_a_slash() {
        for (prefix, ok) in [
            ("products/", true),
            ("shop/products/", true),
            ("products", false),
            ("/products/", false),
            ("../products/", false),
            ("", false),
        ] {
            assert_eq!(check_prefix(prefix).is_ok(), ok, "{prefix:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        #[test]
        fn no_path_yields_a_key_outside_the_prefix(
            path in prop_oneof![
                any::<String>(),
                "[a\u{FFFD}-\u{FFFF}/]{0,6}",
                "[a-z./\\\\]{0,12}",
                proptest::collection::vec(prop_oneof![Just(".."), Just("."), Just(""), Just("a"), Just("/")], 0..8)
                    .prop_map(|v| v.join("/")),
            ]
        ) {
            if let Ok(key) = object_key("products/", &path) {
                let rest = key.strip_prefix("products/").expect("key starts with the prefix");
                prop_assert!(!rest.is_empty());
                prop_assert!(rest.split('/').all(|s| !s.is_empty() && s != "." && s != ".."));
                prop_assert!(!rest.chars().any(|c| c.is_control() || c == '\\'));
                let xml_forbidden = rest.chars().any(|c| matches!(c, '\u{FFFE}' | '\u{FFFF}'));
                prop_assert!(!xml_forbidden);
                prop_assert!(key.len() <= MAX_KEY_BYTES);
            }
        }
    }
}
