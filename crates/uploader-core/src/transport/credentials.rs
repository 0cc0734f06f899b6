//! Whether a workstation can sign in, as the status bar says it: never the secret itself, at
//! most a masked key id.

/// What the status bar shows about credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialStatus {
    /// `detail` says which, e.g. `AWS key AKIA…WXYZ` or `workstation token`.
    Configured { detail: String },
    /// Why there are none, in plain words.
    Missing { reason: String },
}

/// A key id with all but its first and last four characters hidden; short ids show two.
pub fn mask(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() >= 12 {
        let head: String = chars[..4].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{head}…{tail}")
    } else {
        let tail: String = chars[chars.len().saturating_sub(2)..].iter().collect();
        format!("…{tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn a_masked_key_id_shows_at_most_eight_of_its_characters() {
        for (id, shown) in [
            ("AKIAIOSFODNN7EXAMPLE", "AKIA…MPLE"),
            ("catalog-admin", "cata…dmin"),
            ("short", "…rt"),
            ("x", "…x"),
            ("", "…"),
        ] {
            assert_eq!(mask(id), shown);
        }
    }
}
