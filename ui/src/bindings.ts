// Generated from src-tauri/src/dto.rs by src-tauri/src/bindings.rs. Do not edit.

export type JobView = { id: number, fileName: string, sourcePath: string, sku: string, state: JobStateView, bytesDone: number, bytesTotal: number, keys: Array<string>, error: string | null, 
/**
 * Shown with the job, which still succeeds (e.g. a photo smaller than a variant asks).
 */
warnings: Array<string>, 
/**
 * Paused by the user (the job or its batch).
 */
paused: boolean, 
/**
 * Failed attempts so far, and how many are allowed.
 */
attempts: number, maxAttempts: number, 
/**
 * When the job last changed (ms since the epoch): the later record wins.
 */
updatedAt: number, };

export type JobStateView = "queued" | "processing" | "staged" | "uploading" | "uploaded" | "failed" | "cancelled";

export type JobEvent = { "kind": "added", job: JobView, } | { "kind": "changed", job: JobView, } | { "kind": "progress", jobId: number, bytesDone: number, bytesTotal: number, } | { "kind": "batch", batchId: number, files: number, uploaded: number, failed: number, bytesDone: number, bytesExpected: number, bytesPerSecond: number, etaSeconds: number | null, } | { "kind": "connectivity", online: boolean, } | { "kind": "outbox", outbox: OutboxView, } | { "kind": "problem", message: string, } | { "kind": "reload" };

export type CommandError = { code: string, message: string, };

export type AppStatus = { ready: boolean, 
/**
 * "Direct to S3", "Through the company backend"…
 */
mode: string | null, destination: string | null, problem: CommandError | null, };

export type OutboxView = { 
/**
 * Still to be sent from this computer.
 */
waiting: number, 
/**
 * Handed to the backend, whose worker deletes them.
 */
handedOver: number, done: number, 
/**
 * Not sent: the key was uploaded again after the deletion was asked for.
 */
superseded: number, 
/**
 * Out of attempts: they need a person (retry, or fix the cause).
 */
dead: number, 
/**
 * The backend queue's backlog and average attempts (the monitoring query).
 */
upstreamBacklog: number | null, upstreamAvgAttempts: number | null, upstreamDead: number | null, 
/**
 * Why the backend's figures are missing, in backend mode.
 */
upstreamError: string | null, alertThreshold: number, alert: boolean, };

export type ReviewView = { items: Array<ReviewItemView>, 
/**
 * Files in the dropped folders that are not images, passed over.
 */
skipped: number, };

export type ReviewItemView = { path: string, fileName: string, bytes: number, 
/**
 * "JPEG", "HEIC"…, when the content is an image.
 */
format: string | null, width: number | null, height: number | null, sku: string, keys: Array<string>, notes: Array<NoteView>, 
/**
 * Queued on confirm (false when a note says the file cannot be used).
 */
usable: boolean, };

export type NoteView = { code: string, message: string, };

export type ControlAction = "pause" | "resume" | "retry" | "cancel";

export type GalleryImageView = { jobId: number, sku: string, fileName: string, sourcePath: string, uploadedAt: number, 
/**
 * Its objects in the bucket, smallest first (the first is the preview).
 */
objects: Array<GalleryObjectView>, };

export type GalleryObjectView = { variant: string, key: string, width: number, height: number, bytes: number, };

export type OutboxRowView = { id: string, key: string, reason: string, 
/**
 * pending, sending, synced (handed to the backend), done or dead (out of attempts).
 */
state: string, attempts: number, maxAttempts: number, nextAttemptAt: number, lastError: string | null, createdAt: number, };

export type SettingsView = { concurrency: number, concurrencyMin: number, concurrencyMax: number, 
/**
 * `null`: no cap.
 */
maxMbPerSecond: number | null, hiddenVariants: Array<string>, 
/**
 * Whether these are the user's choices (or the config file's values).
 */
saved: boolean, 
/**
 * Settings here the admin's policy locks (`upload.concurrency`, `upload.max_mb_per_second`).
 */
locked: Array<string>, variants: Array<VariantView>, 
/**
 * Read-only here: set in the config file by an admin.
 */
workstation: Array<SettingRow>, };

export type VariantView = { name: string, 
/**
 * e.g. "2000 px longest edge · JPEG, quality 85".
 */
description: string, };

export type SettingRow = { label: string, value: string, };

export type PreferencesInput = { concurrency: number, maxMbPerSecond: number | null, hiddenVariants: Array<string>, };

export type CredentialsView = { configured: boolean, 
/**
 * The masked key id and where it comes from, or the token kind, or why there are none.
 */
detail: string, 
/**
 * Where secrets stored here are kept, in plain words.
 */
store: string, 
/**
 * What this mode signs with, so the form asks for it.
 */
kind: CredentialKindView, };

export type CredentialKindView = "awsKeys" | "token";

export type SecretInput = { accessKeyId: string | null, secret: string, };

export type ConnectionView = { passed: boolean, steps: Array<ConnectionStepView>, 
/**
 * The first failure explained; `null` when every step passed.
 */
diagnosis: DiagnosisView | null, };

export type ConnectionStepView = { name: string, ok: boolean, millis: number, };

export type DiagnosisView = { cause: string, problem: string, fix: string, detail: string, };

export const JOB_EVENT = "job-event";

/** Carries `Array<string>`: paths a later launch handed over. */
export const OPEN_PATHS_EVENT = "open-paths";

/** Each command's arguments and result; errors are `CommandError`. */
export type Commands = {
  review_paths: { args: { paths: Array<string>; sku: string | null }; result: ReviewView };
  add_paths: { args: { paths: Array<string>; sku: string | null }; result: Array<JobView> };
  control_jobs: { args: { action: ControlAction; ids: Array<number> }; result: number };
  list_jobs: { args: Record<string, never>; result: Array<JobView> };
  gallery: { args: { search: string }; result: Array<GalleryImageView> };
  remove_image: { args: { jobId: number }; result: number };
  replace_image: { args: { jobId: number; path: string }; result: Array<JobView> };
  object_link: { args: { key: string }; result: string };
  outbox_rows: { args: Record<string, never>; result: Array<OutboxRowView> };
  outbox_retry: { args: { ids: Array<string> }; result: number };
  app_status: { args: Record<string, never>; result: AppStatus };
  outbox_status: { args: Record<string, never>; result: OutboxView };
  settings: { args: Record<string, never>; result: SettingsView };
  save_settings: { args: { preferences: PreferencesInput }; result: SettingsView };
  reset_settings: { args: Record<string, never>; result: SettingsView };
  take_launch_paths: { args: Record<string, never>; result: Array<string> };
  test_connection: { args: Record<string, never>; result: ConnectionView };
  credentials: { args: Record<string, never>; result: CredentialsView };
  store_credentials: { args: { input: SecretInput }; result: CredentialsView };
  clear_credentials: { args: Record<string, never>; result: CredentialsView };
  support_bundle: { args: Record<string, never>; result: string };
};
