import { describe, expect, it } from "vitest";
import type { SettingsView } from "./bindings";
import { bandwidthText, changed, formOf, inputOf } from "./settings";

const view: SettingsView = {
  concurrency: 8,
  concurrencyMin: 1,
  concurrencyMax: 64,
  maxMbPerSecond: null,
  hiddenVariants: ["thumb"],
  saved: true,
  locked: [],
  variants: [
    { name: "large", description: "2000 px longest edge · JPEG, quality 85" },
    { name: "thumb", description: "400 px longest edge · JPEG, quality 80" },
  ],
  workstation: [],
};

describe("the settings form", () => {
  it("starts from what is in force", () => {
    expect(formOf(view)).toEqual({ concurrency: "8", limited: false, mbPerSecond: "", shown: { large: true, thumb: false } });
    expect(changed(formOf(view), view)).toBe(false);
  });

  it.each([
    ["0", "concurrency"],
    ["65", "concurrency"],
    ["2.5", "concurrency"],
    ["", "concurrency"],
    ["four", "concurrency"],
    [null, "concurrency"],
    [0, "concurrency"],
  ] as const)("refuses %j uploads at once", (concurrency, field) => {
    const { input, errors } = inputOf({ ...formOf(view), concurrency }, view);
    expect(input).toBeNull();
    expect(Object.keys(errors)).toEqual([field]);
  });

  it.each([
    ["", null],
    ["0", null],
    ["-1", null],
    ["abc", null],
    ["2,5", 2.5],
    [" 0.5 ", 0.5],
  ])("reads a bandwidth cap of %j as %j", (mbPerSecond, want) => {
    const { input, errors } = inputOf({ ...formOf(view), limited: true, mbPerSecond }, view);
    if (want === null) expect(errors.bandwidth).toMatch(/0.01/);
    else expect(input?.maxMbPerSecond).toBe(want);
  });

  it("takes the number a number input binds", () => {
    expect(inputOf({ ...formOf(view), concurrency: 3 }, view).input?.concurrency).toBe(3);
  });

  it("ignores the rate box when there is no limit", () => {
    const { input } = inputOf({ ...formOf(view), limited: false, mbPerSecond: "junk" }, view);
    expect(input?.maxMbPerSecond).toBeNull();
  });

  it("keeps at least one variant shown and saves the hidden ones by name", () => {
    const none = inputOf({ ...formOf(view), shown: { large: false, thumb: false } }, view);
    expect(none.errors.variants).toBeTruthy();
    const both = inputOf({ ...formOf(view), shown: { large: true, thumb: true } }, view);
    expect(both.input?.hiddenVariants).toEqual([]);
    expect(changed({ ...formOf(view), shown: { large: true, thumb: true } }, view)).toBe(true);
  });

  it("says a cap in megabytes and megabits per second", () => {
    expect(bandwidthText(null)).toBe("No limit");
    expect(bandwidthText(2.5)).toBe("2.5 MB/s (20 Mbit/s)");
    expect(bandwidthText(0.25)).toBe("0.3 MB/s (2 Mbit/s)");
    expect(bandwidthText(12.5)).toBe("13 MB/s (100 Mbit/s)");
  });
});
