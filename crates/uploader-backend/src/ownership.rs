//! Who may act on a key. The workstation that created what a key holds owns it: the one whose
//! upload is registered there, or, before any registration, the one that last had it signed.
//! A token of scope `own` may overwrite, delete or abort only what its workstation owns (or
//! what nobody does yet); a token of scope `any` may act on every key under the prefix.
//! Every signing is recorded here too, so each object's history says who did what.

use axum::http::StatusCode;
use rusqlite::{Connection, OptionalExtension, params};
use uploader_api::code;

use crate::api::{ApiError, Caller};
use crate::db::now_ms;
use crate::tokens::Scope;

/// What a caller is about to do to a key, in the words of the refusal.
#[derive(Debug, Clone, Copy)]
pub enum Act {
    Overwrite,
    Delete,
    Abort,
    Continue,
}

impl Act {
    fn verb(self) -> &'static str {
        match self {
            Act::Overwrite => "overwrite",
            Act::Delete => "delete",
            Act::Abort => "abort the upload of",
            Act::Continue => "continue the upload of",
        }
    }
}

/// The workstation that owns `key`, if any.
pub fn owner(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    let registered: Option<String> = conn
        .prepare_cached("SELECT workstation FROM uploads WHERE key = ?1 AND workstation <> ''")?
        .query_row([key], |r| r.get(0))
        .optional()?;
    if registered.is_some() {
        return Ok(registered);
    }
    conn.prepare_cached(
        "SELECT workstation FROM signings WHERE s3_key = ?1 ORDER BY id DESC LIMIT 1",
    )?
    .query_row([key], |r| r.get(0))
    .optional()
}

/// Why `caller` may not `act` on `key`, if it may not.
pub fn refusal(
    conn: &Connection,
    caller: &Caller,
    key: &str,
    act: Act,
) -> rusqlite::Result<Option<String>> {
    if caller.scope == Scope::Any {
        return Ok(None);
    }
    Ok(owner(conn, key)?
        .filter(|owner| *owner != caller.name)
        .map(|owner| {
            format!(
                "`{key}` holds a photo uploaded by workstation `{owner}`; the token of `{}` may \
                 {} only its own (an admin can make a token with `--scope any`)",
                caller.name,
                act.verb()
            )
        }))
}

/// Why `caller` may not ask to delete the upload `object_id` at `key` (or, when it names
/// none, whatever `key` holds), if it may not. A deletion that names an upload is judged by
/// who made that upload, not by what the key holds now: a workstation may always ask to
/// delete its own photo, and the worker then finds it superseded if the key holds another's.
pub fn deletion_refusal(
    conn: &Connection,
    caller: &Caller,
    key: &str,
    object_id: Option<&str>,
) -> rusqlite::Result<Option<String>> {
    if caller.scope == Scope::Any {
        return Ok(None);
    }
    let made_by: Option<String> = match object_id {
        Some(id) => conn
            .prepare_cached(
                "SELECT workstation FROM signings WHERE object_id = ?1 AND s3_key = ?2
                 ORDER BY id LIMIT 1",
            )?
            .query_row(params![id, key], |r| r.get(0))
            .optional()?,
        None => None,
    };
    match made_by {
        Some(w) if w == caller.name => Ok(None),
        Some(w) => Ok(Some(format!(
            "the upload of `{key}` this deletion names was made by workstation `{w}`; the token \
             of `{}` may delete only its own (an admin can make a token with `--scope any`)",
            caller.name
        ))),
        None => refusal(conn, caller, key, Act::Delete),
    }
}

/// `refusal` as a 403 for the whole request.
pub fn check(conn: &Connection, caller: &Caller, key: &str, act: Act) -> Result<(), ApiError> {
    match refusal(conn, caller, key, act)? {
        None => Ok(()),
        Some(why) => Err(ApiError::new(StatusCode::FORBIDDEN, code::NOT_OWNER, why)),
    }
}

/// A multipart upload may be continued, completed or aborted by the workstation that started
/// it (or a token of scope `any`); one started before uploads were recorded, by the key's owner.
pub fn check_upload(
    conn: &Connection,
    caller: &Caller,
    key: &str,
    upload_id: &str,
    act: Act,
) -> Result<(), ApiError> {
    if caller.scope == Scope::Any {
        return Ok(());
    }
    let started_by: Option<String> = conn
        .prepare_cached(
            "SELECT workstation FROM signings WHERE upload_id = ?1 AND s3_key = ?2
             ORDER BY id LIMIT 1",
        )?
        .query_row(params![upload_id, key], |r| r.get(0))
        .optional()?;
    match started_by {
        Some(w) if w == caller.name => Ok(()),
        Some(w) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            code::NOT_OWNER,
            format!(
                "the upload of `{key}` was started by workstation `{w}`; the token of `{}` may {} \
                 only its own",
                caller.name,
                act.verb()
            ),
        )),
        None => check(conn, caller, key, act),
    }
}

/// Whether `caller` started the multipart upload `upload_id` (or may see every upload).
pub fn sees_upload(conn: &Connection, caller: &Caller, key: &str, upload_id: &str) -> bool {
    check_upload(conn, caller, key, upload_id, Act::Continue).is_ok()
}

/// Records that `caller` had `key` signed (`kind`: `put` or `multipart`).
pub fn record_signing(
    conn: &Connection,
    caller: &Caller,
    key: &str,
    kind: &str,
    object_id: Option<&str>,
    upload_id: Option<&str>,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO signings (s3_key, workstation, token_id, kind, object_id, upload_id, signed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        key,
        caller.name,
        caller.token_id,
        kind,
        object_id,
        upload_id,
        now_ms()
    ])?;
    Ok(())
}
