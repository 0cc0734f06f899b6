// The job list's view logic, kept free of Svelte and Tauri so that it is unit-tested.
import type { JobEvent, JobStateView, JobView } from "./bindings";

/** Applies one event to a list ordered by id; returns a new list. */
export function applyEvent(jobs: JobView[], event: JobEvent): JobView[] {
  switch (event.kind) {
    case "added":
    case "changed":
      return upsert(jobs, event.job);
    case "progress":
      return applyEvents(jobs, [event]);
    case "connectivity":
    case "batch":
    case "outbox":
    case "problem":
    case "reload":
      return jobs;
  }
}

/** Applies many events with one copy of the list, however many rows they touch: a frame's
 * worth of events costs one pass, not one per event. */
export function applyEvents(jobs: JobView[], events: JobEvent[]): JobView[] {
  let next: JobView[] | null = null;
  for (const event of events) {
    if (event.kind === "progress") {
      // The list is ordered by id: found in log n, so 10,000 rows cost little per event.
      const list: JobView[] = next ?? jobs;
      const i = indexOf(list, event.jobId);
      const j = i >= 0 ? list[i] : undefined;
      if (!j || j.state === "uploaded" || j.state === "failed") continue;
      if (j.bytesDone === event.bytesDone && j.bytesTotal === event.bytesTotal) continue;
      next ??= jobs.slice();
      next[i] = { ...j, bytesDone: event.bytesDone, bytesTotal: event.bytesTotal };
    } else {
      const applied = applyEvent(next ?? jobs, event);
      if (applied !== (next ?? jobs)) next = applied;
    }
  }
  return next ?? jobs;
}

/** Merges a freshly loaded list with what events already brought: the later record wins
 * (a job can move back, e.g. from uploading to staged while it waits for a retry). */
export function merge(current: JobView[], loaded: JobView[]): JobView[] {
  // At start nothing is known yet and the store answers in id order: take the list as it is.
  if (current.length === 0 && loaded.every((j, i) => i === 0 || loaded[i - 1].id < j.id)) return loaded;
  const byId = new Map(current.map((j) => [j.id, j]));
  for (const job of loaded) {
    const known = byId.get(job.id);
    if (!known || known.updatedAt <= job.updatedAt) byId.set(job.id, job);
  }
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

/** Index of the job with this id in a list ordered by id, or -1. */
export function indexOf(jobs: JobView[], id: number): number {
  let lo = 0;
  let hi = jobs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const at = jobs[mid].id;
    if (at === id) return mid;
    if (at < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

function upsert(jobs: JobView[], job: JobView): JobView[] {
  const i = indexOf(jobs, job.id);
  if (i >= 0) {
    const next = jobs.slice();
    next[i] = job;
    return next;
  }
  const next = [...jobs, job];
  // Events can arrive out of order across jobs; keep the list in the order files were added.
  if (jobs.length > 0 && jobs[jobs.length - 1].id > job.id) next.sort((a, b) => a.id - b.id);
  return next;
}

export type Summary = {
  total: number;
  uploaded: number;
  failed: number;
  active: number;
  cancelled: number;
  /** Unfinished jobs the user paused. */
  paused: number;
};

export function summarize(jobs: JobView[]): Summary {
  const s: Summary = { total: jobs.length, uploaded: 0, failed: 0, active: 0, cancelled: 0, paused: 0 };
  for (const j of jobs) {
    if (j.state === "uploaded") s.uploaded++;
    else if (j.state === "failed") s.failed++;
    else if (j.state === "cancelled") s.cancelled++;
    else {
      s.active++;
      if (j.paused) s.paused++;
    }
  }
  return s;
}

/** The queue's filters: a row shows under `all` and under the one its state belongs to. */
export type Filter = "all" | "active" | "failed" | "done";

export const FILTERS: Array<{ filter: Filter; label: string }> = [
  { filter: "all", label: "All" },
  { filter: "active", label: "In progress" },
  { filter: "failed", label: "Failed" },
  { filter: "done", label: "Done" },
];

export function matches(job: JobView, filter: Filter): boolean {
  switch (filter) {
    case "all":
      return true;
    case "failed":
      return job.state === "failed";
    case "done":
      return job.state === "uploaded";
    case "active":
      return job.state !== "failed" && job.state !== "uploaded" && job.state !== "cancelled";
  }
}

/** The rows a filter shows; `all` returns the list itself (no copy of 10,000 rows). */
export function filterJobs(jobs: JobView[], filter: Filter): JobView[] {
  return filter === "all" ? jobs : jobs.filter((j) => matches(j, filter));
}

/** How many rows each filter would show, for the filter buttons. */
export function filterCounts(summary: Summary): Record<Filter, number> {
  return { all: summary.total, active: summary.active, failed: summary.failed, done: summary.uploaded };
}

/** "37% · 120 of 500 uploaded": the window title and taskbar's progress, or null when idle. */
export function overallProgress(summary: Summary): { fraction: number; text: string } | null {
  const counted = summary.total - summary.cancelled;
  if (summary.active === 0 || counted === 0) return null;
  const finished = summary.uploaded + summary.failed;
  const fraction = finished / counted;
  return { fraction, text: `${Math.floor(fraction * 100)}% · ${summary.uploaded} of ${counted} uploaded` };
}

/** 0..1 for the progress bar: bytes the server confirmed once known, else the stage. */
export function progress(job: JobView): number {
  if (job.state === "uploaded") return 1;
  if (job.bytesTotal > 0) return Math.min(1, job.bytesDone / job.bytesTotal);
  return 0;
}

export const STATE_LABEL: Record<JobStateView, string> = {
  queued: "Queued",
  processing: "Resizing",
  staged: "Waiting to upload",
  uploading: "Uploading",
  uploaded: "Uploaded",
  failed: "Failed",
  cancelled: "Cancelled",
};

/** "2.4 MB/s · about 3 min left", from a batch progress event. */
export function throughputText(bytesPerSecond: number, etaSeconds: number | null): string {
  if (bytesPerSecond <= 0) return "";
  const rate = `${formatBytes(bytesPerSecond)}/s`;
  if (etaSeconds === null) return rate;
  const left =
    etaSeconds < 60
      ? "less than a minute left"
      : etaSeconds < 3600
        ? `about ${Math.round(etaSeconds / 60)} min left`
        : `about ${(etaSeconds / 3600).toFixed(1)} h left`;
  return `${rate} · ${left}`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
