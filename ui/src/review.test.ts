import { describe, expect, it } from "vitest";
import type { ReviewItemView, ReviewView } from "./bindings";
import { formatBytes } from "./jobs";
import { describeItem, pathsToQueue, reviewHeadline, severity, sortForReview, summarizeReview } from "./review";

function item(name: string, patch: Partial<ReviewItemView> = {}): ReviewItemView {
  return {
    path: `/shoot/${name}`,
    fileName: name,
    bytes: 3_200_000,
    format: "JPEG",
    width: 4032,
    height: 3024,
    sku: name.split("_")[0],
    keys: [`products/${name.split("_")[0]}/${name}`],
    notes: [],
    usable: true,
    ...patch,
  };
}

const small = { code: "too_small", message: "too small for the storefront" };
const bad = { code: "unsupported", message: "not an image" };
const heic = { code: "converted", message: "HEIC converted to JPEG" };

const view: ReviewView = {
  items: [
    item("A1_front.jpg"),
    item("A1_back.jpg", { notes: [small] }),
    item("notes.jpg", { notes: [bad], usable: false, format: null, width: null, height: null }),
    item("B2_front.heic", { notes: [heic], format: "HEIC", width: null, height: null }),
  ],
  skipped: 3,
};

describe("the review sheet", () => {
  it("counts usable photos, SKUs, what to check and what is skipped", () => {
    const s = summarizeReview(view);
    expect(s).toEqual({ files: 4, usable: 3, unusable: 1, flagged: 1, skus: 2, skipped: 3 });
    expect(reviewHeadline(s)).toBe("3 photos to upload, 2 SKUs · 1 to check · 1 cannot be used · 3 other files skipped");
  });

  it("says only what applies", () => {
    expect(reviewHeadline(summarizeReview({ items: [item("A1_front.jpg")], skipped: 0 }))).toBe("1 photo to upload, 1 SKU");
  });

  it("queues the usable files in order", () => {
    expect(pathsToQueue(view)).toEqual(["/shoot/A1_front.jpg", "/shoot/A1_back.jpg", "/shoot/B2_front.heic"]);
  });

  it.each([
    ["unsupported", "error"],
    ["too_small", "warning"],
    ["duplicate", "warning"],
    ["no_sku", "warning"],
    ["converted", "info"],
    ["already_recorded", "info"],
  ])("a %s note is shown as %s", (code, want) => {
    expect(severity({ code, message: "" })).toBe(want);
  });

  it("lists problems first, keeping the order within each group", () => {
    expect(sortForReview(view.items).map((i) => i.fileName)).toEqual([
      "notes.jpg",
      "A1_back.jpg",
      "A1_front.jpg",
      "B2_front.heic",
    ]);
  });

  it("describes a file with what is known of it", () => {
    expect(describeItem(view.items[0], formatBytes)).toBe("4032×3024 JPEG · 3.1 MB");
    expect(describeItem(view.items[3], formatBytes)).toBe("HEIC · 3.1 MB");
    expect(describeItem(view.items[2], formatBytes)).toBe("3.1 MB");
  });
});
