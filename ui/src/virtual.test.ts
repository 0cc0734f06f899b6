import { describe, expect, it } from "vitest";
import { visibleWindow } from "./virtual";

describe("visibleWindow", () => {
  const cases: Array<[string, Parameters<typeof visibleWindow>, ReturnType<typeof visibleWindow>]> = [
    ["an empty list renders nothing", [0, 40, 0, 600], { start: 0, end: 0, padTop: 0, padBottom: 0 }],
    ["the top of a long list", [10_000, 40, 0, 600, 8], { start: 0, end: 24, padTop: 0, padBottom: 9976 * 40 }],
    [
      "the middle keeps a margin either side",
      [10_000, 40, 40 * 5000, 600, 8],
      { start: 4992, end: 5024, padTop: 4992 * 40, padBottom: (10_000 - 5024) * 40 },
    ],
    ["the end stops at the last row", [10_000, 40, 40 * 9990, 600, 8], { start: 9982, end: 10_000, padTop: 9982 * 40, padBottom: 0 }],
    ["a short list renders whole", [5, 40, 0, 600, 8], { start: 0, end: 5, padTop: 0, padBottom: 0 }],
    ["a negative (elastic) scroll is the top", [100, 40, -30, 600, 0], { start: 0, end: 16, padTop: 0, padBottom: 84 * 40 }],
  ];
  for (const [name, args, want] of cases) {
    it(name, () => expect(visibleWindow(...args)).toEqual(want));
  }

  it("renders a bounded number of rows however long the list", () => {
    const w = visibleWindow(1_000_000, 40, 40 * 500_000, 800, 8);
    expect(w.end - w.start).toBeLessThanOrEqual(800 / 40 + 1 + 16);
    expect(w.padTop + (w.end - w.start) * 40 + w.padBottom).toBe(1_000_000 * 40);
  });
});
