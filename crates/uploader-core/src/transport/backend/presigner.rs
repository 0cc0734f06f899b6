//! Whole objects are signed in batches: uploads that start while a signing request is out wait
//! for the next one, so a burst of small files costs a few backend calls, not one each. Only
//! what is about to be sent is signed, so no URL waits long enough to expire.

use std::sync::Arc;

use reqwest::Method;
use tokio::sync::{mpsc, oneshot};
use uploader_api::{FileToSign, PresignRequest, PresignResponse, SignedUpload, code, route};

use super::super::{ErrorKind, TransportError, TransportResult};
use super::api::Api;

/// Files signed in one request at most; well under the reference backend's default of 100.
const MAX_BATCH: usize = 32;

type Reply = oneshot::Sender<TransportResult<SignedUpload>>;

/// The queue of files to sign, drained by one task.
pub(super) struct Presigner {
    asks: mpsc::UnboundedSender<(FileToSign, Reply)>,
}

impl Presigner {
    /// Starts the signing task on the current runtime.
    pub(super) fn start(api: Arc<Api>) -> Self {
        let (asks, rx) = mpsc::unbounded_channel();
        tokio::spawn(sign_in_batches(api, rx));
        Self { asks }
    }

    /// The signed request for `file`, from the next batch; `None` if the task is gone (its
    /// runtime ended), and the caller signs it alone.
    pub(super) async fn sign(&self, file: FileToSign) -> Option<TransportResult<SignedUpload>> {
        let (reply, answer) = oneshot::channel();
        self.asks.send((file, reply)).ok()?;
        answer.await.ok()
    }
}

async fn sign_in_batches(api: Arc<Api>, mut asks: mpsc::UnboundedReceiver<(FileToSign, Reply)>) {
    // Lowered to what the backend accepts when it refuses a batch as too large.
    let mut cap = MAX_BATCH;
    while let Some(first) = asks.recv().await {
        let mut batch = vec![first];
        while batch.len() < cap {
            match asks.try_recv() {
                Ok(ask) => batch.push(ask),
                Err(_) => break,
            }
        }
        let (files, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
        match sign(&api, files.clone()).await {
            Ok(signed) => {
                for (reply, upload) in replies.into_iter().zip(signed) {
                    let _ = reply.send(Ok(upload));
                }
            }
            // The backend refuses a whole batch for one bad file, or for its size: each is
            // signed alone, so only a bad one fails, and later batches are smaller.
            Err(e) if e.kind == ErrorKind::Permanent && files.len() > 1 => {
                if e.message.contains(code::BATCH_TOO_LARGE) {
                    cap = (files.len() / 2).max(1);
                }
                for (reply, file) in replies.into_iter().zip(files) {
                    let _ = reply.send(sign(&api, vec![file]).await.and_then(one));
                }
            }
            Err(e) => {
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }
}

/// One signing request; exactly one answer per file, in order.
async fn sign(api: &Api, files: Vec<FileToSign>) -> TransportResult<Vec<SignedUpload>> {
    let asked = files.len();
    let request = PresignRequest { files };
    let answer: PresignResponse = api
        .call(Method::POST, route::PRESIGN, Some(&request), &[])
        .await?;
    if answer.uploads.len() != asked {
        return Err(TransportError::new(
            ErrorKind::Server,
            format!(
                "the backend signed {} of {asked} files",
                answer.uploads.len()
            ),
        ));
    }
    Ok(answer.uploads)
}

fn one(mut signed: Vec<SignedUpload>) -> TransportResult<SignedUpload> {
    signed
        .pop()
        .ok_or_else(|| TransportError::new(ErrorKind::Server, "the backend signed nothing"))
}

/// Signs `file` alone, without the batching task.
pub(super) async fn sign_alone(api: &Api, file: FileToSign) -> TransportResult<SignedUpload> {
    sign(api, vec![file]).await.and_then(one)
}
