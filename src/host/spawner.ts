// Starting supervisors through one small long-lived shell (spawner.sh) instead of a Node spawn per
// cell: forking the worker (hundreds of MiB, many threads) cost ~15 ms of event-loop time per cell;
// forking a tiny sh costs well under one.
import { sourceAsset } from '../source-asset.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';

export interface Spawner {
  /** Asks for the supervisor of `sandboxId` to be started on `cellDir` (its launch.env says how). */
  launch(sandboxId: string, cellDir: string): void;
  close(): void;
}

/** A sh program of this folder (see sourceAsset: read from src/ also when running from dist/). */
async function readScript(name: 'spawner.sh' | 'supervisor.sh'): Promise<string> {
  const url = sourceAsset(import.meta.url, name);
  return readFile(url, 'utf8').catch((err: Error) => {
    throw new Error(`cannot read the cell ${name.slice(0, -'.sh'.length)} program ${url.pathname}: ${err.message}`, {
      cause: err,
    });
  });
}

/**
 * Reads both sh programs now, so that a missing one fails the host's creation, not a cell. `env` is
 * the whole environment of the spawner and the supervisors it starts (see childEnv).
 */
export async function createSpawner(env: Readonly<Record<string, string>>): Promise<Spawner> {
  const [spawnerScript, supervisorScript] = await Promise.all([readScript('spawner.sh'), readScript('supervisor.sh')]);
  let child: ChildProcess | undefined;
  const ensure = (): ChildProcess => {
    if (child && child.exitCode === null && !child.killed && child.stdin?.writable) return child;
    const c = spawn('/bin/sh', ['-c', spawnerScript, 'cellos-spawner', supervisorScript], {
      env,
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
