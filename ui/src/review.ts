// The review sheet's view logic, kept free of Svelte and Tauri so that it is unit-tested.
import type { NoteView, ReviewItemView, ReviewView } from "./bindings";
import { plural } from "./jobs";

export type ReviewSummary = {
  files: number;
  usable: number;
  unusable: number;
  /** Usable files with something worth a look. */
  flagged: number;
  skus: number;
  skipped: number;
};

export function summarizeReview(view: ReviewView): ReviewSummary {
  const usable = view.items.filter((i) => i.usable);
  return {
    files: view.items.length,
    usable: usable.length,
    unusable: view.items.length - usable.length,
    flagged: usable.filter((i) => i.notes.some((n) => severity(n) === "warning")).length,
    skus: new Set(usable.map((i) => i.sku)).size,
    skipped: view.skipped,
  };
}

/** "50 photos, 12 SKUs · 2 to check · 1 cannot be used · 3 other files skipped". */
export function reviewHeadline(s: ReviewSummary): string {
  const parts = [`${plural(s.usable, "photo")} to upload, ${plural(s.skus, "SKU")}`];
  if (s.flagged > 0) parts.push(`${s.flagged} to check`);
  if (s.unusable > 0) parts.push(`${s.unusable} cannot be used`);
  if (s.skipped > 0) parts.push(`${plural(s.skipped, "other file")} skipped`);
  return parts.join(" · ");
}

/** How a note is shown: `error` (not uploaded), `warning` (worth a look), `info`. */
export function severity(note: NoteView): "error" | "warning" | "info" {
  switch (note.code) {
    case "unsupported":
      return "error";
    case "converted":
    case "already_recorded":
      return "info";
    default:
      return "warning";
  }
}

/** The files confirming queues, in the order shown. */
export function pathsToQueue(view: ReviewView): string[] {
  return view.items.filter((i) => i.usable).map((i) => i.path);
}

/** "4032×3024 JPEG · 3.1 MB", as much as is known. */
export function describeItem(item: ReviewItemView, formatBytes: (n: number) => string): string {
  const parts: string[] = [];
  const size = item.width !== null && item.height !== null ? `${item.width}×${item.height}` : "";
  const kind = [size, item.format ?? ""].filter(Boolean).join(" ");
  if (kind) parts.push(kind);
  parts.push(formatBytes(item.bytes));
  return parts.join(" · ");
}

/** Items with a problem first (what cannot be used, then warnings), otherwise in order. */
export function sortForReview(items: ReviewItemView[]): ReviewItemView[] {
  const rank = (i: ReviewItemView) =>
    !i.usable ? 0 : i.notes.some((n) => severity(n) === "warning") ? 1 : 2;
  return items
    .map((item, n) => ({ item, n }))
    .sort((a, b) => rank(a.item) - rank(b.item) || a.n - b.n)
    .map((x) => x.item);
}
