// Runs one cell to its end on this host without Temporal: launch, enforce the deadline
// (SIGTERM, grace, SIGKILL), wait, remove. Used by `cellos exec` and the Deno suite.
import type { CellDocument } from '../document/schema.ts';
import type { CellExit, CellHost, ExportedArtifacts } from './cell-host.ts';

export interface RunCellOptions {
  /** Unique per run; a fresh random one by default. */
  readonly runKey?: string;
  readonly signal?: AbortSignal;
  readonly onStarted?: (sandboxId: string) => void;
}

export async function runCell(host: CellHost, doc: CellDocument, opts: RunCellOptions = {}): Promise<CellExit> {
  const runKey = opts.runKey ?? crypto.randomUUID();
  const handle = await host.prepare(doc, runKey);
  let deadline: ReturnType<typeof setTimeout> | undefined;
  let killing: Promise<void> | undefined;
  const onAbort = () => {
    killing ??= host.kill(handle, { reason: 'request', message: 'interrupted' }).catch(() => undefined);
  };
  try {
    await host.start(handle);
    opts.onStarted?.(handle.sandboxId);
    deadline = setTimeout(() => {
      killing ??= host
        .kill(handle, { reason: 'deadline', message: `ttl ${doc.spec.lifetime.ttlSeconds}s passed` })
        .catch(() => undefined);
    }, doc.spec.lifetime.ttlSeconds * 1000);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) onAbort();
    const exit = await host.wait(handle);
    return withArtifacts(exit, await host.exportArtifacts(handle, exit));
  } finally {
    clearTimeout(deadline);
    opts.signal?.removeEventListener('abort', onAbort);
    await killing;
    // A warm sandbox's deletion (~1.5 s) need not hold up the result: see removeLater.
    if (handle.runscId !== undefined) host.removeLater(handle);
    else await host.remove(handle);
  }
}

/** The exit with its exported artifacts, when the document declares any. */
export function withArtifacts(exit: CellExit, exported: ExportedArtifacts): CellExit {
  if (exported.artifacts.length === 0 && exported.refused.length === 0) return exit;
  return { ...exit, artifacts: exported.artifacts, refusedArtifacts: exported.refused };
}
