//! Multipart uploads: the backend starts, lists, completes and aborts them with its own
//! keys; the client only sends parts, each through a URL signed just before it is sent.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use uploader_api::code;
use uploader_api::{
    AbortRequest, CompleteMultipartRequest, CompleteMultipartResponse, CreateMultipartResponse,
    FileToSign, ListPartsRequest, ListPartsResponse, ListedPart, ObjectQuery, OpenUploadsResponse,
    SignPartsRequest, SignPartsResponse, SignedPart,
};
use uploader_core::transport::{CompletedPart, Transport};

use super::presign::signed_request;
use super::{ApiError, Body, Caller, Params, Shared, check_object_id, check_sha256};
use crate::keys::object_key;
use crate::ownership::{self, Act};

/// S3's limits on parts.
const MAX_PART_NUMBER: u32 = 10_000;
const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;

fn check_upload_id(id: &str) -> Result<(), ApiError> {
    if id.is_empty() || id.len() > 1024 || id.chars().any(char::is_control) {
        return Err(ApiError::bad_request("`upload_id` is empty or malformed"));
    }
    Ok(())
}

/// The key of an upload a request names, once its path and id check out and the caller may
/// `act` on it (it started it, or its scope is `any`).
fn held_upload(
    backend: &Shared,
    caller: &Caller,
    path: &str,
    upload_id: &str,
    act: Act,
) -> Result<String, ApiError> {
    let key = object_key(&backend.prefix, path)?;
    check_upload_id(upload_id)?;
    ownership::check_upload(&*backend.db()?, caller, &key, upload_id, act)?;
    Ok(key)
}

fn check_part_number(part: u32) -> Result<(), ApiError> {
    if (1..=MAX_PART_NUMBER).contains(&part) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "part {part}: parts are numbered 1 to 10,000"
        )))
    }
}

/// A base64 CRC32C: 4 bytes, 8 characters.
fn check_crc32c(part: u32, value: &str) -> Result<(), ApiError> {
    let ok = value.len() == 8
        && value.ends_with('=')
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "part {part}: `crc32c` must be a base64 CRC32C (8 characters)"
        )))
    }
}

#[utoipa::path(post, operation_id = "create_multipart", path = "/v1/uploads/multipart", tag = "multipart", security(("bearer" = [])),
    request_body = FileToSign,
    responses(
        (status = 200, description = "Upload started", body = CreateMultipartResponse),
        (status = 400, description = "Refused; nothing was started", body = uploader_api::ErrorBody),
        (status = 401, description = "No, unknown or revoked token", body = uploader_api::ErrorBody),
        (status = 413, description = "The declared size is over the backend's object size limit", body = uploader_api::ErrorBody)))]
pub async fn create(
    State(backend): State<Shared>,
    Extension(caller): Extension<Caller>,
    Body(request): Body<FileToSign>,
) -> Result<Json<CreateMultipartResponse>, ApiError> {
    let key = object_key(&backend.prefix, &request.path)?;
    ownership::check(&*backend.db()?, &caller, &key, Act::Overwrite)?;
    backend.check_content_type(&request.content_type)?;
    check_sha256("sha256", &request.sha256)?;
    check_object_id("object_id", request.object_id.as_deref())?;
    // A declared size is checked now; the parts are checked as they are signed and joined.
    backend.check_object_size(&format!("`{}`", request.path), request.size)?;
    // A client that sends no upload id still gets one, so every object has one.
    let object_id = request
        .object_id
        .unwrap_or_else(uploader_core::transport::new_object_id);
    let upload_id = backend
        .s3
        .create_multipart(&key, &request.content_type, &request.sha256, &object_id)
        .await?;
    ownership::record_signing(
        &*backend.db()?,
        &caller,
        &key,
        "multipart",
        Some(&object_id),
        Some(&upload_id),
    )?;
    eprintln!("started a multipart upload of {key} for {}", caller.name);
    Ok(Json(CreateMultipartResponse { key, upload_id }))
}

#[utoipa::path(get, operation_id = "list_open_multipart", path = "/v1/uploads/multipart", tag = "multipart", security(("bearer" = [])),
    params(ObjectQuery),
    responses(
        (status = 200, description = "Uploads open for the path", body = OpenUploadsResponse),
        (status = 401, description = "No, unknown or revoked token", body = uploader_api::ErrorBody)))]
pub async fn open_uploads(
    State(backend): State<Shared>,
    Extension(caller): Extension<Caller>,
    Params(query): Params<ObjectQuery>,
) -> Result<Json<OpenUploadsResponse>, ApiError> {
    let key = object_key(&backend.prefix, &query.path)?;
    let all = backend.s3.list_multipart_uploads(&key).await?;
    // Only the caller's own: a workstation adopting an upload must never take another's.
    let upload_ids = {
        let db = backend.db()?;
        all.into_iter()
            .filter(|id| ownership::sees_upload(&db, &caller, &key, id))
            .collect()
    };
    Ok(Json(OpenUploadsResponse { key, upload_ids }))
}

#[utoipa::path(post, operation_id = "sign_parts", path = "/v1/uploads/multipart/sign", tag = "multipart", security(("bearer" = [])),
    request_body = SignPartsRequest,
    responses(
        (status = 200, description = "Every part signed", body = SignPartsResponse),
        (status = 400, description = "Refused; nothing was signed", body = uploader_api::ErrorBody),
        (status = 401, description = "No, unknown or revoked token", body = uploader_api::ErrorBody),
        (status = 413, description = "Too many parts at once, or a part reaching past the backend's object size limit", body = uploader_api::ErrorBody)))]
pub async fn sign(
    State(backend): State<Shared>,
    Extension(caller): Extension<Caller>,
    Body(request): Body<SignPartsRequest>,
) -> Result<Json<SignPartsResponse>, ApiError> {
    let key = held_upload(
        &backend,
        &caller,
        &request.path,
        &request.upload_id,
        Act::Continue,
    )?;
    backend.check_batch("parts", request.parts.len())?;
    for part in &request.parts {
        if !(1..=MAX_PART_NUMBER).contains(&part.part_number) || part.size > MAX_PART_SIZE {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                code::BAD_REQUEST,
                format!(
                    "part {} of {} bytes: parts are numbered 1 to 10,000 and at most 5 GiB",
                    part.part_number, part.size
                ),
            ));
        }
        check_crc32c(part.part_number, &part.crc32c)?;
        // Parts before it are as large (the last is smaller), so an object with this part
        // holds at least part number × size bytes.
        backend.check_object_size(
            &format!(
                "part {} of {} bytes (× its part number)",
                part.part_number, part.size
            ),
            u64::from(part.part_number).saturating_mul(part.size),
        )?;
    }
    let expiry = backend.expiry_now().await?;
    let mut parts = Vec::with_capacity(request.parts.len());
    for part in request.parts {
        let signed = backend
            .s3
            .presign_part(
                &key,
                &request.upload_id,
                part.part_number,
                part.size,
                &part.crc32c,
                expiry,
            )
            .await?;
        parts.push(SignedPart {
            part_number: part.part_number,
            request: signed_request(signed),
        });
    }
    eprintln!("signed {} parts for {}", parts.len(), caller.name);
    Ok(Json(SignPartsResponse { parts }))
}

#[utoipa::path(post, operation_id = "list_parts", path = "/v1/uploads/multipart/parts", tag = "multipart", security(("bearer" = [])),
    request_body = ListPartsRequest,
    responses(
        (status = 200, description = "The parts S3 holds", body = ListPartsResponse),
        (status = 410, description = "The upload no longer exists", body = uploader_api::ErrorBody),
        (status = 401, description = "No, unknown or revoked token", body = uploader_api::ErrorBody)))]
pub async fn parts(
    State(backend): State<Shared>,
    Extension(caller): Extension<Caller>,
    Body(request): Body<ListPartsRequest>,
) -> Result<Json<ListPartsResponse>, ApiError> {
    let key = held_upload(
        &backend,
        &caller,
        &request.path,
        &request.upload_id,
        Act::Continue,
    )?;
    let parts = backend.s3.list_parts(&key, &request.upload_id).await?;
    Ok(Json(ListPartsResponse {
        parts: parts
            .into_iter()
            .map(|p| ListedPart {
                part_number: p.part_number,
                size: p.size,
                etag: p.etag,
            })
            .collect(),
    }))
}

#[utoipa::path(post, operation_id = "complete_multipart", path = "/v1/uploads/multipart/complete", tag = "multipart", security(("bearer" = [])),
    request_body = CompleteMultipartRequest,
    responses(
        (status = 200, description = "The parts are joined into the object", body = CompleteMultipartResponse),
        (status = 410, description = "The upload no longer exists", body = uploader_api::ErrorBody),
        (status = 401, description = "No, unknown or revoked token", body = uploader_api::ErrorBody),
        (status = 413, description = "The parts come to more than the backend's object size limit; the upload is aborted", body = uploader_api::ErrorBody)))]
pub async fn complete(
    State(backend): State<Shared>,
    Extension(caller): Extension<Caller>,
    Body(request): Body<CompleteMultipartRequest>,
) -> Result<Json<CompleteMultipartResponse>, ApiError> {
    let key = held_upload(
        &backend,
        &caller,
        &request.path,
        &request.upload_id,
        Act::Overwrite,
    )?;
    if request.parts.is_empty() || request.parts.len() > MAX_PART_NUMBER as usize {
        return Err(ApiError::bad_request("an upload has 1 to 10,000 parts"));
    }
    for part in &request.parts {
        check_part_number(part.part_number)?;
        check_crc32c(part.part_number, &part.crc32c)?;
    }
    // Parts of any sizes could each pass the check at signing: their sum is what counts.
    let named: std::collections::BTreeSet<u32> =
        request.parts.iter().map(|p| p.part_number).collect();
    let total: u64 = backend
        .s3
        .list_parts(&key, &request.upload_id)
        .await?
        .iter()
        .filter(|p| named.contains(&p.part_number))
        .map(|p| p.size)
        .sum();
    if let Err(too_large) = backend.check_object_size(&format!("`{}`", request.path), total) {
        backend.s3.abort_multipart(&key, &request.upload_id).await?;
        eprintln!("aborted an oversize upload of {key} for {}", caller.name);
        return Err(too_large);
    }
    let parts = request
        .parts
        .into_iter()
        .map(|p| CompletedPart {
            part_number: p.part_number,
            etag: p.etag,
            crc32c: p.crc32c,
        })
        .collect();
    let etag = backend
        .s3
        .complete_multipart(&key, &request.upload_id, parts)
        .await?;
    Ok(Json(CompleteMultipartResponse { key, etag }))
}

#[utoipa::path(post, operation_id = "abort_multipart", path = "/v1/uploads/multipart/abort", tag = "multipart", security(("bearer" = [])),
    request_body = AbortRequest,
    responses(
        (status = 204, description = "Aborted, or already gone"),
        (status = 401, description = "No, unknown or revoked token", body = uploader_api::ErrorBody),
        (status = 403, description = "The upload is another workstation's and the token's scope is `own`", body = uploader_api::ErrorBody)))]
pub async fn abort(
    State(backend): State<Shared>,
    Extension(caller): Extension<Caller>,
    Body(request): Body<AbortRequest>,
) -> Result<StatusCode, ApiError> {
    let key = held_upload(
        &backend,
        &caller,
        &request.path,
        &request.upload_id,
        Act::Abort,
    )?;
    backend.s3.abort_multipart(&key, &request.upload_id).await?;
    eprintln!("aborted an upload of {key} for {}", caller.name);
    Ok(StatusCode::NO_CONTENT)
}
