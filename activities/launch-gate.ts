// The host's own count of running sandboxes, checked before each launch. The host queue's slots
// (one per running cell) bound the cells this worker process waits on, but not the sandboxes that
// run: a worker stopped or restarted leaves its sandboxes running until their retried run
// activities re-attach, and a second process may serve the same host. Counting from the cell
// records counts those too, so a launch waits while the host is full.
import { readdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { readKill } from '../src/host/cell-files.ts';
import type { CellHandle, CellHost } from '../src/host/cell-host.ts';

export interface LaunchGate {
  /**
   * Starts the sandbox once fewer than the host's maximum run (others than this one), unless it
   * was launched already (a re-attach). Launches in this process go one at a time, each until its
   * supervisor shows up, so that the next one counts it.
   */
  launch(handle: CellHandle, opts: LaunchGateWaitOptions): Promise<void>;
}

export interface LaunchGateWaitOptions {
  readonly signal: AbortSignal;
  /** Called about every second while the host is full (the run activity heartbeats here). */
  readonly onWait: (running: number) => void;
}

/** How long a launch waits for its supervisor to show up before the next launch may count. */
const SUPERVISOR_SHOW_UP_MS = 3000;
const POLL_MS = 200;

export function createLaunchGate(host: CellHost, maxCells: number | undefined): LaunchGate {
  // Launches of this process, in order: each waits for the one before it to finish (or give up).
  let last: Promise<void> = Promise.resolve();
  return {
    async launch(handle, { signal, onWait }) {
      if ((await host.state(handle)) !== 'prepared') return; // started by an earlier attempt
      if (maxCells === undefined) {
        await host.start(handle);
        return;
      }
      const before = last;
      let done!: () => void;
      last = new Promise((resolve) => (done = resolve));
      try {
        await abortable(before, signal);
        let lastBeat = 0;
        for (;;) {
          signal.throwIfAborted();
          // Killed while it waits (its deadline passed): start() records it as never started at once.
          if (await readKill(handle.cellDir)) break;
          const running = await runningSandboxes(host, handle.sandboxId);
          if (running < maxCells) break;
          if (Date.now() - lastBeat >= 1000) {
            lastBeat = Date.now();
            onWait(running);
          }
          await sleep(POLL_MS, undefined, { signal });
        }
        await host.start(handle);
        const until = Date.now() + SUPERVISOR_SHOW_UP_MS;
        while ((await host.state(handle)) === 'prepared' && Date.now() < until) await sleep(10);
      } finally {
        // The next launch goes only after this one, even when this one gave up waiting for its turn.
        void before.then(done);
      }
    },
  };
}

/** Sandboxes of this host whose supervisor runs, but `except`. */
async function runningSandboxes(host: CellHost, except: string): Promise<number> {
  const ids = (await readdir(host.config.cellsDir).catch(() => [] as string[])).filter((id) => id !== except);
  const states = await Promise.all(
    ids.map(async (id) => {
      const handle = await host.attach(id);
      return handle ? host.state(handle) : undefined;
    }),
  );
  return states.filter((s) => s === 'running').length;
}

function abortable(p: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    void p.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}
