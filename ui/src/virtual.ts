// Which rows of a long list to put in the DOM: only those in view, plus a margin, so 10,000
// jobs cost what 30 do. Kept free of Svelte so that it is unit-tested.

export type Window = {
  /** First row to render (inclusive) and last (exclusive). */
  start: number;
  end: number;
  /** Empty space above and below the rendered rows, in pixels, so the scrollbar is true. */
  padTop: number;
  padBottom: number;
};

/** Rows of fixed height `rowHeight` seen through a viewport at `scrollTop`, `overscan` rows
 * either side. */
export function visibleWindow(
  count: number,
  rowHeight: number,
  scrollTop: number,
  viewportHeight: number,
  overscan = 8,
): Window {
  if (count === 0 || rowHeight <= 0) return { start: 0, end: 0, padTop: 0, padBottom: 0 };
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const shown = Math.ceil(Math.max(0, viewportHeight) / rowHeight) + 1;
  const start = Math.min(count, Math.max(0, first - overscan));
  const end = Math.min(count, first + shown + overscan);
  return { start, end, padTop: start * rowHeight, padBottom: (count - end) * rowHeight };
}
