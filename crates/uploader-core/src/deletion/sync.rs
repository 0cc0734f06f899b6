//! Backend mode: the outbox's rows are handed to the backend's queue in batches; its worker
//! deletes them. A row becomes `synced` once the backend accepted it; the backend applies
//! each id once, so a batch sent again (the answer was lost) changes nothing.

use super::{DeletionSink, DeletionStore, DrainReport, DrainSettings, Handoff, Settlement};
use crate::store::{OutboxState, Store};

/// Rows per request: well under the backend's body limit even with the longest paths.
pub const SYNC_BATCH: usize = 250;

/// One round: up to [`SYNC_BATCH`] due rows handed over in one request.
pub async fn sync_once(
    store: &Store,
    sink: &dyn DeletionSink,
    settings: &DrainSettings,
) -> crate::Result<DrainReport> {
    let rows = settings.claim(store, store.now_ms(), SYNC_BATCH)?;
    let mut report = DrainReport {
        claimed: rows.len(),
        ..DrainReport::default()
    };
    if rows.is_empty() {
        return Ok(report);
    }
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let reasons: std::collections::HashMap<String, String> = store
        .outbox_rows(&ids)?
        .into_iter()
        .map(|row| (row.id, row.reason))
        .collect();
    let handoffs: Vec<Handoff> = rows
        .iter()
        .map(|row| Handoff {
            id: row.id.clone(),
            key: row.key.clone(),
            reason: reasons.get(&row.id).cloned().unwrap_or_default(),
            meant: row.meant.clone(),
        })
        .collect();
    let answer = sink.submit(&handoffs).await;
    let done_at = store.now_ms();
    let settled: Vec<(String, Settlement)> = match answer {
        // No answer, or a backend failing or throttling (a deploy, an incident): not these
        // rows' fault, so they go back with no attempt counted, as in the drain.
        Err(e) if e.kind.is_unavailable() => {
            DeletionStore::release(store, &settings.owner, &ids)?;
            report.offline = true;
            report.error = Some(e.message);
            return Ok(report);
        }
        Ok(refused) => rows
            .into_iter()
            .map(|row| match refused.iter().find(|r| r.id == row.id) {
                Some(refusal) => {
                    report.dead += 1;
                    let error = refusal.message.clone();
                    (row.id, Settlement::Dead { error })
                }
                None => {
                    report.deleted += 1;
                    (row.id, Settlement::Deleted)
                }
            })
            .collect(),
        Err(e) => {
            report.error = Some(e.message.clone());
            let error = format!("not handed to the backend: {}", e.message);
            rows.into_iter()
                .map(|row| {
                    let outcome =
                        settings.failure(&row, e.kind, error.clone(), done_at, &mut report);
                    (row.id, outcome)
                })
                .collect()
        }
    };
    store.outbox_settle(&settings.owner, done_at, &settled, OutboxState::Synced)?;
    Ok(report)
}
