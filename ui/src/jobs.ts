// The job list's view logic, kept free of Svelte and Tauri so that it is unit-tested.
import type { JobEvent, JobStateView, JobView } from "./bindings";

/** Applies one event to a list ordered by id; returns a new list. */
export function applyEvent(jobs: JobView[], event: JobEvent): JobView[] {
  switch (event.kind) {
    case "added":
    case "changed":
      return upsert(jobs, event.job);
    case "progress":
      return jobs.map((j) =>
        j.id === event.jobId && j.state !== "uploaded" && j.state !== "failed"
          ? { ...j, bytesDone: event.bytesDone, bytesTotal: event.bytesTotal }
          : j,
      );
    case "connectivity":
    case "batch":
    case "outbox":
      return jobs;
  }
}

/** Merges a freshly loaded list with what events already brought: the later record wins
 * (a job can move back, e.g. from uploading to staged while it waits for a retry). */
export function merge(current: JobView[], loaded: JobView[]): JobView[] {
  return loaded.reduce((acc, job) => {
    const known = acc.find((j) => j.id === job.id);
    return known && known.updatedAt > job.updatedAt ? acc : upsert(acc, job);
  }, current);
}

function upsert(jobs: JobView[], job: JobView): JobView[] {
  const i = jobs.findIndex((j) => j.id === job.id);
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

export type Summary = { total: number; uploaded: number; failed: number; active: number };

export function summarize(jobs: JobView[]): Summary {
  const uploaded = jobs.filter((j) => j.state === "uploaded").length;
  const failed = jobs.filter((j) => j.state === "failed").length;
  const cancelled = jobs.filter((j) => j.state === "cancelled").length;
  return { total: jobs.length, uploaded, failed, active: jobs.length - uploaded - failed - cancelled };
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
