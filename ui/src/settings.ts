// The settings screen's view logic: the form, its checks, and what is saved. Free of Svelte and
// Tauri so that it is unit-tested.
import type { PreferencesInput, SettingsView } from "./bindings";

export type SettingsForm = {
  /** A number input binds a number, or null when emptied. */
  concurrency: string | number | null;
  limited: boolean;
  mbPerSecond: string;
  /** Variant name → shown in the gallery. */
  shown: Record<string, boolean>;
};

export type FormErrors = Partial<Record<"concurrency" | "bandwidth" | "variants", string>>;

export function formOf(view: SettingsView): SettingsForm {
  const shown: Record<string, boolean> = {};
  for (const v of view.variants) shown[v.name] = !view.hiddenVariants.includes(v.name);
  return {
    concurrency: String(view.concurrency),
    limited: view.maxMbPerSecond !== null,
    mbPerSecond: view.maxMbPerSecond === null ? "" : String(view.maxMbPerSecond),
    shown,
  };
}

/** What to save, or what is wrong with the form (each error names its field's problem). */
export function inputOf(form: SettingsForm, view: SettingsView): { input: PreferencesInput | null; errors: FormErrors } {
  const errors: FormErrors = {};
  const typed = String(form.concurrency ?? "").trim();
  const concurrency = typed === "" ? NaN : Number(typed);
  if (!Number.isInteger(concurrency) || concurrency < view.concurrencyMin || concurrency > view.concurrencyMax) {
    errors.concurrency = `A whole number from ${view.concurrencyMin} to ${view.concurrencyMax}.`;
  }
  let maxMbPerSecond: number | null = null;
  if (form.limited) {
    const rate = Number(form.mbPerSecond.trim().replace(",", "."));
    if (form.mbPerSecond.trim() === "" || !Number.isFinite(rate) || rate < 0.01) {
      errors.bandwidth = "At least 0.01 MB/s, or no limit.";
    } else {
      maxMbPerSecond = rate;
    }
  }
  const hiddenVariants = view.variants.filter((v) => !form.shown[v.name]).map((v) => v.name);
  if (hiddenVariants.length === view.variants.length) errors.variants = "Show at least one variant.";
  if (Object.keys(errors).length > 0) return { input: null, errors };
  return { input: { concurrency, maxMbPerSecond, hiddenVariants }, errors };
}

/** Whether the form differs from what is in force. */
export function changed(form: SettingsForm, view: SettingsView): boolean {
  const { input } = inputOf(form, view);
  if (!input) return true;
  return (
    input.concurrency !== view.concurrency ||
    input.maxMbPerSecond !== view.maxMbPerSecond ||
    input.hiddenVariants.join("\n") !== view.hiddenVariants.join("\n")
  );
}

/** "No limit", or "2.5 MB/s (20 Mbit/s)": staff often know their line in megabits. */
export function bandwidthText(mbPerSecond: number | null): string {
  if (mbPerSecond === null) return "No limit";
  const mbit = mbPerSecond * 8;
  const shown = (n: number) => (n >= 10 ? String(Math.round(n)) : String(Math.round(n * 10) / 10));
  return `${shown(mbPerSecond)} MB/s (${shown(mbit)} Mbit/s)`;
}
