// Typed calls into the shell. Names, arguments and results come from the generated bindings.
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import { JOB_EVENT, OPEN_PATHS_EVENT, type Commands, type CommandError, type JobEvent } from "./bindings";

export async function call<K extends keyof Commands>(
  command: K,
  args: Commands[K]["args"],
): Promise<Commands[K]["result"]> {
  return invoke<Commands[K]["result"]>(command, args);
}

export function onJobEvent(handler: (event: JobEvent) => void): Promise<UnlistenFn> {
  return listen<JobEvent>(JOB_EVENT, (e) => handler(e.payload));
}

/** Paths a later launch of the app handed to this window. */
export function onOpenPaths(handler: (paths: string[]) => void): Promise<UnlistenFn> {
  return listen<string[]>(OPEN_PATHS_EVENT, (e) => handler(e.payload));
}

/** Any rejection as a sentence: commands reject with `{code, message}`, the runtime with strings. */
export function errorMessage(error: unknown): string {
  if (typeof error === "string") return error;
  if (error && typeof error === "object" && "message" in error) {
    return String((error as CommandError).message);
  }
  return String(error);
}
