import { describe, expect, it } from "vitest";
import type { OutboxView } from "./bindings";
import { alertText, outboxText } from "./outbox";

function view(over: Partial<OutboxView>): OutboxView {
  return {
    waiting: 0,
    handedOver: 0,
    done: 0,
    superseded: 0,
    dead: 0,
    upstreamBacklog: null,
    upstreamAvgAttempts: null,
    upstreamDead: null,
    upstreamError: null,
    alertThreshold: 100,
    alert: false,
    ...over,
  };
}

describe("outboxText", () => {
  it.each([
    [null, null],
    [view({}), null],
    [view({ waiting: 1 }), "1 deletion waiting to be sent"],
    [view({ waiting: 2, upstreamBacklog: 140 }), "2 deletions waiting to be sent · 140 in the backend's queue"],
    [view({ dead: 1, upstreamDead: 3 }), "1 out of attempts · 3 out of attempts in the backend"],
    [view({ upstreamBacklog: 0, done: 50 }), null],
  ])("%j reads %j", (given, want) => {
    expect(outboxText(given)).toBe(want);
  });
});

describe("alertText", () => {
  it("is silent at or below the threshold", () => {
    expect(alertText(view({ waiting: 100 }))).toBeNull();
  });
  it("names this computer when the backlog is here", () => {
    expect(alertText(view({ waiting: 101, alert: true }))).toBe(
      "More than 100 deletions are waiting (101) on this computer: the server has not taken them yet.",
    );
  });
  it("names the backend when its queue is behind", () => {
    expect(alertText(view({ upstreamBacklog: 2500, alert: true }))).toContain("deletion worker");
  });
  it("names both when both are behind", () => {
    expect(alertText(view({ waiting: 300, upstreamBacklog: 2500, alert: true }))).toContain(
      "(2500) on this computer and in the backend's queue",
    );
  });
});
