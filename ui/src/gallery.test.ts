import { describe, expect, it } from "vitest";
import type { GalleryImageView, OutboxRowView } from "./bindings";
import { attemptText, groupBySku, mainKey, previewKey, shownObjects } from "./gallery";

function image(jobId: number, sku: string): GalleryImageView {
  return {
    jobId,
    sku,
    fileName: `${sku}_${jobId}.jpg`,
    sourcePath: `/shoot/${sku}_${jobId}.jpg`,
    uploadedAt: jobId,
    objects: [
      { variant: "thumb", key: `products/${sku}/${jobId}-thumb.jpg`, width: 400, height: 300, bytes: 20_000 },
      { variant: "large", key: `products/${sku}/${jobId}-large.jpg`, width: 2000, height: 1500, bytes: 400_000 },
    ],
  };
}

describe("the gallery", () => {
  it("groups photos by SKU in the order given", () => {
    const groups = groupBySku([image(1, "A"), image(2, "A"), image(3, "B")]);
    expect(groups.map((g) => [g.sku, g.images.map((i) => i.jobId)])).toEqual([
      ["A", [1, 2]],
      ["B", [3]],
    ]);
  });

  it("previews the smallest object and copies the largest", () => {
    expect(previewKey(image(1, "A"))).toBe("products/A/1-thumb.jpg");
    expect(mainKey(image(1, "A"))).toBe("products/A/1-large.jpg");
    expect(previewKey({ ...image(1, "A"), objects: [] })).toBeNull();
  });

  it("shows only the variants the settings show, or all if none of those is left", () => {
    expect(shownObjects(image(1, "A"), ["thumb"]).map((o) => o.variant)).toEqual(["large"]);
    expect(previewKey(image(1, "A"), ["thumb"])).toBe("products/A/1-large.jpg");
    expect(mainKey(image(1, "A"), ["large"])).toBe("products/A/1-thumb.jpg");
    expect(shownObjects(image(1, "A"), ["thumb", "large"]).length).toBe(2);
  });
});

describe("the outbox panel", () => {
  const row = (patch: Partial<OutboxRowView>): OutboxRowView => ({
    id: "x",
    key: "products/A/1-large.jpg",
    reason: "removed by staff",
    state: "pending",
    attempts: 2,
    maxAttempts: 10,
    nextAttemptAt: 0,
    lastError: "AccessDenied",
    createdAt: 0,
    ...patch,
  });

  it.each([
    [row({ nextAttemptAt: 30_000 }), "attempt 2 of 10 · next try in 30 s"],
    [row({ nextAttemptAt: 300_000 }), "attempt 2 of 10 · next try in 5 min"],
    [row({ nextAttemptAt: 0 }), "attempt 2 of 10"],
    [row({ state: "dead", attempts: 10, nextAttemptAt: 999_999 }), "attempt 10 of 10"],
  ])("says where a deletion stands %#", (r, want) => {
    expect(attemptText(r, 0)).toBe(want);
  });
});
