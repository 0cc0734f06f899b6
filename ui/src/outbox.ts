// The deletion backlog's words, kept free of Svelte and Tauri so that it is unit-tested.
import type { OutboxView } from "./bindings";
import { plural } from "./jobs";

/** The status line: "2 deletions waiting · 140 in the backend's queue", or null when idle. */
export function outboxText(view: OutboxView | null): string | null {
  if (!view) return null;
  const parts: string[] = [];
  if (view.waiting > 0) parts.push(`${plural(view.waiting, "deletion")} waiting to be sent`);
  if (view.upstreamBacklog !== null && view.upstreamBacklog > 0) {
    parts.push(`${view.upstreamBacklog} in the backend's queue`);
  }
  if (view.dead > 0) parts.push(`${view.dead} out of attempts`);
  if (view.upstreamDead !== null && view.upstreamDead > 0) {
    parts.push(`${view.upstreamDead} out of attempts in the backend`);
  }
  return parts.length === 0 ? null : parts.join(" · ");
}

/** The alert above the threshold, naming where the backlog is. */
export function alertText(view: OutboxView | null): string | null {
  if (!view || !view.alert) return null;
  const here = view.waiting > view.alertThreshold;
  const there = view.upstreamBacklog !== null && view.upstreamBacklog > view.alertThreshold;
  const where =
    here && there
      ? "on this computer and in the backend's queue"
      : here
        ? "on this computer: the server has not taken them yet"
        : "in the backend's queue: its deletion worker is behind or stopped";
  const n = Math.max(view.waiting, view.upstreamBacklog ?? 0);
  return `More than ${view.alertThreshold} deletions are waiting (${n}) ${where}.`;
}
