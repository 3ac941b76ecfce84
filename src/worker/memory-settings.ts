// The process settings a long-running worker should start with. Without them its RSS climbs by
// ~80 MiB over its first ~150 cells and stays there (V8 grows its young generation to 16 MiB
// semi-spaces; glibc keeps freed memory in one arena per thread); with them it grows by ~13 MiB and
// starts ~20 MiB lower (`npm run bench`, README "Figures"). They must be in place before the
// process starts, so they live where processes are started: the shebang of bin/cellos.js, the
// Dockerfile and the bench scripts in package.json (test/worker/memory-settings.test.ts keeps
// those in step with this list).

/** glibc malloc: two arenas, return freed memory above 128 KiB, mmap allocations above 128 KiB. */
export const WORKER_MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_TRIM_THRESHOLD_: '131072',
  MALLOC_MMAP_THRESHOLD_: '131072',
};

/** V8: young generation semi-spaces of at most 2 MiB (scavenges stay short either way). */
export const WORKER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2'];

export interface MemorySettingsInEffect {
  /** The settings this process started with, as `NAME=value` and node flags. */
  readonly applied: readonly string[];
  /** Those it lacks or has with another value. */
  readonly missing: readonly string[];
}

/** Which of the worker's memory settings this process runs with. */
export function memorySettingsInEffect(
  env: Readonly<Record<string, string | undefined>>,
  execArgv: readonly string[],
): MemorySettingsInEffect {
  const applied: string[] = [];
  const missing: string[] = [];
  for (const [name, value] of Object.entries(WORKER_MALLOC_ENV)) {
    (env[name] === value ? applied : missing).push(`${name}=${value}`);
  }
  const nodeOptions = (env.NODE_OPTIONS ?? '').split(/\s+/);
  for (const flag of WORKER_NODE_FLAGS) {
    (execArgv.includes(flag) || nodeOptions.includes(flag) ? applied : missing).push(flag);
  }
  return { applied, missing };
}
