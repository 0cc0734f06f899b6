//! Workstation tokens: 256 random bits shown once, kept only as a SHA-256 hash, revocable.

use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::db::now_ms;

const TOKEN_PREFIX: &str = "cu_";

/// What a token may act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Scope {
    /// Only objects its workstation created: it may not overwrite, delete or abort another
    /// workstation's.
    #[default]
    Own,
    /// Every object under the prefix: an admin, or studios that re-shoot the same SKUs.
    Any,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Own => "own",
            Scope::Any => "any",
        }
    }

    fn parse(s: &str) -> Scope {
        if s == "any" { Scope::Any } else { Scope::Own }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub scope: Scope,
    pub created_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
    pub last_used_at_ms: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("`{0}` already has a live token (revoke it first, or pick another name)")]
    NameTaken(String),
    #[error("a token name must be 1 to 100 characters")]
    BadName,
    #[error("no token is named `{0}`")]
    NoSuchName(String),
    #[error("cannot draw random bytes: {0}")]
    Random(String),
    #[error(transparent)]
    Db(#[from] rusqlite::Error),
}

/// Creates a token for the workstation `name` with `scope`; returns it, the only time it
/// is seen.
pub fn create(conn: &Connection, name: &str, scope: Scope) -> Result<String, TokenError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(TokenError::BadName);
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| TokenError::Random(e.to_string()))?;
    let token = format!("{TOKEN_PREFIX}{}", hex(&bytes));
    match conn.execute(
        "INSERT INTO tokens (name, hash, created_at_ms, scope) VALUES (?1, ?2, ?3, ?4)",
        params![name, hash(&token), now_ms(), scope.as_str()],
    ) {
        Ok(_) => Ok(token),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Err(TokenError::NameTaken(name.to_string()))
        }
        Err(e) => Err(e.into()),
    }
}

/// The id, name and scope of the live token `token`, or `None` for an unknown or revoked one.
pub fn verify(conn: &Connection, token: &str) -> rusqlite::Result<Option<(i64, String, Scope)>> {
    let found = conn
        .prepare_cached(
            "SELECT id, name, scope FROM tokens WHERE hash = ?1 AND revoked_at_ms IS NULL",
        )?
        .query_row([hash(token)], |r| {
            Ok((r.get(0)?, r.get(1)?, Scope::parse(&r.get::<_, String>(2)?)))
        })
        .optional()?;
    if let Some((id, _, _)) = &found {
        conn.prepare_cached("UPDATE tokens SET last_used_at_ms = ?2 WHERE id = ?1")?
            .execute(params![id, now_ms()])?;
    }
    Ok(found)
}

/// Revokes the token named `name`; it stops working at once.
pub fn revoke(conn: &Connection, name: &str) -> Result<(), TokenError> {
    let changed = conn.execute(
        "UPDATE tokens SET revoked_at_ms = ?2 WHERE name = ?1 AND revoked_at_ms IS NULL",
        params![name, now_ms()],
    )?;
    if changed == 0 {
        return Err(TokenError::NoSuchName(name.to_string()));
    }
    Ok(())
}

pub fn list(conn: &Connection) -> rusqlite::Result<Vec<TokenRow>> {
    conn.prepare(
        "SELECT id, name, created_at_ms, revoked_at_ms, last_used_at_ms, scope FROM tokens ORDER BY id",
    )?
    .query_map([], |r| {
        Ok(TokenRow {
            id: r.get(0)?,
            name: r.get(1)?,
            scope: Scope::parse(&r.get::<_, String>(5)?),
            created_at_ms: r.get(2)?,
            revoked_at_ms: r.get(3)?,
            last_used_at_ms: r.get(4)?,
        })
    })?
    .collect()
}

fn hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::db::migrate(&mut conn).unwrap();
        conn
    }

    #[test]
    fn a_created_token_verifies_and_only_its_hash_is_stored() {
        let conn = db();
        let token = create(&conn, "WS-12", Scope::Own).unwrap();
        assert!(token.starts_with("cu_") && token.len() == 3 + 64);
        assert_eq!(verify(&conn, &token).unwrap().unwrap().1, "WS-12");
        let stored: String = conn
            .query_row("SELECT hash FROM tokens", [], |r| r.get(0))
            .unwrap();
        assert!(!stored.contains(&token[3..]));
    }

    #[test]
    fn a_revoked_or_unknown_token_does_not_verify() {
        let conn = db();
        let token = create(&conn, "WS-12", Scope::Own).unwrap();
        revoke(&conn, "WS-12").unwrap();
        assert_eq!(verify(&conn, &token).unwrap(), None);
        assert_eq!(verify(&conn, "cu_nope").unwrap(), None);
        assert!(matches!(
            revoke(&conn, "WS-12"),
            Err(TokenError::NoSuchName(_))
        ));
    }

    #[test]
    fn a_workstation_has_one_live_token_and_gets_a_new_one_after_a_revoke() {
        let conn = db();
        let old = create(&conn, "WS-12", Scope::Own).unwrap();
        assert!(matches!(
            create(&conn, "WS-12", Scope::Own),
            Err(TokenError::NameTaken(_))
        ));
        assert!(matches!(
            create(&conn, "  ", Scope::Own),
            Err(TokenError::BadName)
        ));
        revoke(&conn, "WS-12").unwrap();
        let new = create(&conn, "WS-12", Scope::Own).unwrap();
        assert_eq!(verify(&conn, &old).unwrap(), None);
        assert_eq!(verify(&conn, &new).unwrap().unwrap().1, "WS-12");
        assert_eq!(list(&conn).unwrap().len(), 2);
    }
}
