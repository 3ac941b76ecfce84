// Starting supervisors through one small long-lived shell instead of a Node spawn per cell:
// forking the worker (hundreds of MiB, many threads) cost ~15 ms of event-loop time per cell;
// forking a tiny sh costs well under one. Each supervisor is started with `setsid -f`, so it
// leads its own session and process group and is not a child of anything that can die with
// the worker.
import { spawn, type ChildProcess } from 'node:child_process';
import { SUPERVISOR_SCRIPT } from './supervisor.ts';

const SPAWNER_SCRIPT = `while IFS=' ' read -r id dir; do
  setsid -f /bin/sh -c "$1" "cellos-supervisor:$id" "$dir" </dev/null >/dev/null 2>&1
done`;

export interface Spawner {
  /** Asks for the supervisor of `sandboxId` to be started on `cellDir` (its launch.env says how). */
  launch(sandboxId: string, cellDir: string): void;
  close(): void;
}

export function createSpawner(): Spawner {
  let child: ChildProcess | undefined;
  const ensure = (): ChildProcess => {
    if (child && child.exitCode === null && !child.killed && child.stdin?.writable) return child;
    const c = spawn('/bin/sh', ['-c', SPAWNER_SCRIPT, 'cellos-spawner', SUPERVISOR_SCRIPT], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    c.unref();
    // Let the process exit while the spawner idles; an unref'd pipe does not hold the loop.
    (c.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    c.stdin?.on('error', () => undefined);
    c.once('exit', () => {
      if (child === c) child = undefined;
    });
    child = c;
    return c;
  };
  return {
    launch(sandboxId, cellDir) {
      if (/\s/.test(sandboxId) || /[\n\r]/.test(cellDir))
        throw new Error(`cannot launch ${sandboxId}: unsafe id or path`);
      ensure().stdin!.write(`${sandboxId} ${cellDir}\n`);
    },
    close() {
      child?.stdin?.end();
      child = undefined;
    },
  };
}
