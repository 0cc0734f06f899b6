// The gallery's and outbox panel's view logic, kept free of Svelte and Tauri so that it is
// unit-tested.
import type { GalleryImageView, GalleryObjectView, OutboxRowView } from "./bindings";

export type SkuGroup = { sku: string; images: GalleryImageView[] };

/** Photos grouped by SKU, SKUs in the order given (the store sorts them). */
export function groupBySku(images: GalleryImageView[]): SkuGroup[] {
  const groups: SkuGroup[] = [];
  for (const image of images) {
    const last = groups[groups.length - 1];
    if (last && last.sku === image.sku) last.images.push(image);
    else groups.push({ sku: image.sku, images: [image] });
  }
  return groups;
}

/** The objects of the variants the settings show; all of them if none of those is left. */
export function shownObjects(image: GalleryImageView, hidden: string[]): GalleryObjectView[] {
  const shown = image.objects.filter((o) => !hidden.includes(o.variant));
  return shown.length > 0 ? shown : image.objects;
}

/** The object a thumbnail is made from: the smallest shown (the store lists them smallest first). */
export function previewKey(image: GalleryImageView, hidden: string[] = []): string | null {
  return shownObjects(image, hidden)[0]?.key ?? null;
}

/** The largest shown object: what "Copy key" and "Copy link" give. */
export function mainKey(image: GalleryImageView, hidden: string[] = []): string | null {
  const objects = shownObjects(image, hidden);
  let best = objects[0];
  for (const o of objects) if (o.bytes > best.bytes) best = o;
  return best?.key ?? null;
}

export const OUTBOX_STATE_LABEL: Record<string, string> = {
  pending: "Waiting to be sent",
  sending: "Sending",
  synced: "In the backend's queue",
  done: "Deleted",
  superseded: "Not deleted: uploaded again",
  dead: "Out of attempts",
};

/** "attempt 3 of 10 · next try in 2 min", as far as it applies. */
export function attemptText(row: OutboxRowView, now: number): string {
  const parts = [`attempt ${row.attempts} of ${row.maxAttempts}`];
  if (row.state === "pending" && row.nextAttemptAt > now) {
    const secs = Math.ceil((row.nextAttemptAt - now) / 1000);
    parts.push(secs < 60 ? `next try in ${secs} s` : `next try in ${Math.round(secs / 60)} min`);
  }
  return parts.join(" · ");
}
