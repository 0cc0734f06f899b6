// The same launch marks as the app's App.svelte, after one command round trip.
const perf = { navigationAtMs: performance.timeOrigin, scriptAtMs: Date.now(), statusAtMs: 0, readyAtMs: 0 };
window.__uploaderPerf = perf;
window.__TAURI__.core.invoke("ping").then(() => {
  perf.statusAtMs = Date.now();
  perf.readyAtMs = Date.now();
  document.body.dataset.ready = "true";
});
