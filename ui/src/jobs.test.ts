import { describe, expect, it } from "vitest";
import type { JobEvent, JobView } from "./bindings";
import {
  type Filter,
  applyEvent,
  applyEvents,
  filterCounts,
  filterJobs,
  formatBytes,
  indexOf,
  merge,
  overallProgress,
  plural,
  progress,
  summarize,
  throughputText,
} from "./jobs";

function job(id: number, patch: Partial<JobView> = {}): JobView {
  return {
    id,
    fileName: `p${id}.jpg`,
    sourcePath: `/photos/p${id}.jpg`,
    sku: "SKU",
    state: "queued",
    bytesDone: 0,
    bytesTotal: 0,
    keys: [],
    error: null,
    warnings: [],
    paused: false,
    attempts: 0,
    maxAttempts: 10,
    updatedAt: 0,
    ...patch,
  };
}

describe("applyEvent", () => {
  it("adds new jobs in id order even when events arrive out of order", () => {
    let jobs = applyEvent([], { kind: "added", job: job(2) });
    jobs = applyEvent(jobs, { kind: "added", job: job(1) });
    expect(jobs.map((j) => j.id)).toEqual([1, 2]);
  });

  it("replaces a job on change and keeps the others untouched", () => {
    const before = [job(1), job(2)];
    const after = applyEvent(before, { kind: "changed", job: job(2, { state: "failed", error: "p2.jpg: not an image" }) });
    expect(after[0]).toBe(before[0]);
    expect(after[1].error).toBe("p2.jpg: not an image");
  });

  it("progress updates bytes but never reopens a finished job", () => {
    const jobs = [job(1, { state: "uploading", bytesTotal: 100 }), job(2, { state: "uploaded", bytesDone: 50, bytesTotal: 50 })];
    const after = applyEvent(applyEvent(jobs, { kind: "progress", jobId: 1, bytesDone: 40, bytesTotal: 100 }), {
      kind: "progress",
      jobId: 2,
      bytesDone: 10,
      bytesTotal: 50,
    });
    expect(after[0].bytesDone).toBe(40);
    expect(after[1].bytesDone).toBe(50);
  });
});

describe("merge", () => {
  it("keeps what events brought when it is newer than the loaded record", () => {
    const current = [job(1, { state: "uploaded", updatedAt: 20 })];
    const merged = merge(current, [job(1, { state: "uploading", updatedAt: 10 }), job(2)]);
    expect(merged.map((j) => [j.id, j.state])).toEqual([
      [1, "uploaded"],
      [2, "queued"],
    ]);
  });
});

describe("merge at start", () => {
  it("takes a list in id order as it is, and sorts one that is not", () => {
    const ordered = [job(1), job(2), job(5)];
    expect(merge([], ordered)).toBe(ordered);
    expect(merge([], [job(5), job(1)]).map((j) => j.id)).toEqual([1, 5]);
  });
});

describe("merge after a retry", () => {
  it("takes a loaded record that moved back to staged later than the event seen", () => {
    const current = [job(1, { state: "uploading", updatedAt: 10 })];
    const merged = merge(current, [job(1, { state: "staged", attempts: 1, updatedAt: 30 })]);
    expect([merged[0].state, merged[0].attempts]).toEqual(["staged", 1]);
  });
});

describe("summaries", () => {
  it.each([
    [[], { total: 0, uploaded: 0, failed: 0, active: 0, cancelled: 0, paused: 0 }],
    [
      [job(1, { state: "uploaded" }), job(2, { state: "failed" }), job(3, { state: "processing" })],
      { total: 3, uploaded: 1, failed: 1, active: 1, cancelled: 0, paused: 0 },
    ],
  ])("summarize %#", (jobs, want) => {
    expect(summarize(jobs)).toEqual(want);
  });

  it.each([
    [job(1), 0],
    [job(1, { state: "uploading", bytesDone: 25, bytesTotal: 100 }), 0.25],
    [job(1, { state: "uploaded" }), 1],
  ])("progress %#", (j, want) => {
    expect(progress(j)).toBe(want);
  });

  it.each([
    [512, "512 B"],
    [2048, "2.0 KB"],
    [5 * 1024 * 1024, "5.0 MB"],
    [300 * 1024 * 1024, "300 MB"],
  ])("formatBytes(%i)", (n, want) => {
    expect(formatBytes(n)).toBe(want);
  });
});

describe("plural", () => {
  it.each([
    [0, "0 photos"],
    [1, "1 photo"],
    [2, "2 photos"],
  ])("%i", (n, want) => {
    expect(plural(n, "photo")).toBe(want);
  });
});

describe("throughputText", () => {
  it.each([
    [0, null, ""],
    [2_500_000, null, "2.4 MB/s"],
    [2_500_000, 30, "2.4 MB/s · less than a minute left"],
    [1024, 180, "1.0 KB/s · about 3 min left"],
    [1024, 5400, "1.0 KB/s · about 1.5 h left"],
  ])("%d B/s, %s s left → %s", (rate, eta, text) => {
    expect(throughputText(rate, eta)).toBe(text);
  });
});

describe("filters", () => {
  const jobs = [
    job(1, { state: "uploaded" }),
    job(2, { state: "failed", error: "x" }),
    job(3, { state: "uploading" }),
    job(4, { state: "queued", paused: true }),
    job(5, { state: "cancelled" }),
  ];
  const cases: Array<[Filter, number[]]> = [
    ["all", [1, 2, 3, 4, 5]],
    ["active", [3, 4]],
    ["failed", [2]],
    ["done", [1]],
  ];
  for (const [filter, ids] of cases) {
    it(`${filter} shows ${ids.join(", ")}`, () => expect(filterJobs(jobs, filter).map((j) => j.id)).toEqual(ids));
  }

  it("counts what each filter shows, and paused jobs among those in progress", () => {
    const s = summarize(jobs);
    expect(filterCounts(s)).toEqual({ all: 5, active: 2, failed: 1, done: 1 });
    expect(s.paused).toBe(1);
  });

  it("all is the list itself, not a copy", () => expect(filterJobs(jobs, "all")).toBe(jobs));
});

describe("overallProgress", () => {
  it("is null when nothing is in progress", () => {
    expect(overallProgress(summarize([job(1, { state: "uploaded" })]))).toBeNull();
  });

  it("counts finished jobs (failed too) out of those not cancelled", () => {
    const jobs = [job(1, { state: "uploaded" }), job(2, { state: "failed" }), job(3, { state: "uploading" }), job(4, { state: "cancelled" })];
    expect(overallProgress(summarize(jobs))).toEqual({ fraction: 2 / 3, text: "66% · 1 of 3 uploaded" });
  });
});

describe("a long list", () => {
  it("applies 1,000 progress events to 10,000 jobs quickly and keeps untouched rows identical", () => {
    let jobs = Array.from({ length: 10_000 }, (_, i) => job(i + 1, { state: "uploading", bytesTotal: 1000 }));
    const first = jobs[0];
    for (let n = 0; n < 1000; n++) {
      jobs = applyEvent(jobs, { kind: "progress", jobId: 2 + ((n * 7919) % 9999), bytesDone: n, bytesTotal: 1000 });
    }
    expect(jobs[0]).toBe(first);
    expect(indexOf(jobs, 10_000)).toBe(9999);
    expect(indexOf(jobs, 10_001)).toBe(-1);
  });

  it("merges a reload into events already applied, ordered by id", () => {
    const merged = merge([job(5, { updatedAt: 9 }), job(2)], [job(1), job(5, { updatedAt: 1, state: "failed" }), job(3)]);
    expect(merged.map((j) => [j.id, j.state])).toEqual([
      [1, "queued"],
      [2, "queued"],
      [3, "queued"],
      [5, "queued"],
    ]);
  });
});

describe("applyEvents", () => {
  it("gives what applying each event in turn gives", () => {
    const jobs = [job(1, { state: "uploading", bytesTotal: 100 }), job(3, { state: "uploading", bytesTotal: 100 })];
    const events: JobEvent[] = [
      { kind: "progress", jobId: 1, bytesDone: 10, bytesTotal: 100 },
      { kind: "added", job: job(2) },
      { kind: "progress", jobId: 3, bytesDone: 50, bytesTotal: 100 },
      { kind: "changed", job: job(1, { state: "uploaded", bytesDone: 100, bytesTotal: 100 }) },
      { kind: "progress", jobId: 1, bytesDone: 20, bytesTotal: 100 },
      { kind: "connectivity", online: false },
    ];
    const oneByOne = events.reduce(applyEvent, jobs);
    expect(applyEvents(jobs, events)).toEqual(oneByOne);
    expect(oneByOne.map((j) => [j.id, j.state, j.bytesDone])).toEqual([
      [1, "uploaded", 100],
      [2, "queued", 0],
      [3, "uploading", 50],
    ]);
  });

  it("returns the list itself when nothing changed, and never edits its input", () => {
    const jobs = [job(1, { state: "uploaded", bytesDone: 5, bytesTotal: 5 })];
    expect(applyEvents(jobs, [{ kind: "progress", jobId: 1, bytesDone: 1, bytesTotal: 5 }])).toBe(jobs);
    const before = [job(1, { state: "uploading", bytesTotal: 9 })];
    applyEvents(before, [{ kind: "progress", jobId: 1, bytesDone: 3, bytesTotal: 9 }]);
    expect(before[0].bytesDone).toBe(0);
  });
});
