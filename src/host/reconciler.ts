// The host's sweep for what a crash, a terminated workflow or a lost host left behind. Temporal
// cleans up nothing on a host (a terminated workflow skips its cleanup; a killed worker stops
// mid-activity), so each worker looks at its own host now and then: every sandbox id it finds in
// its cell records, bundles, runsc containers, cgroups, processes and runsc lock files is either
// a cell whose workflow still runs (left alone: its activity re-attaches), a cell whose workflow
// is over (killed and removed), or something without a record (removed once it is older than the
// grace, since a prepare may be under way). Only this host's folders, runsc root, cgroup parent
// and processes are looked at: several hosts may share a machine.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isSandboxId } from '../bundle/ids.ts';
import { listStateFiles, staleLocks } from '../runsc/state-dir.ts';
import { cellFile, readRecord, type CellRecord } from './cell-files.ts';
import type { CellHost } from './cell-host.ts';
import { listCellCgroupDirs } from './cgroups.ts';
import { findHostProcesses } from './processes.ts';
import { isWarmSandboxId } from './warm-pool.ts';

/** Where a cell's workflow run stands: the reconciler removes the sandbox of a run that is over. */
export type CellRunState = 'running' | 'closed' | 'not-found';

export interface ReconcilerOptions {
  readonly host: CellHost;
  /** The state of the workflow run that owns a cell record (cell id and run key, as in the record). */
  readonly isCellRunning: (cellId: string, runKey: string) => Promise<CellRunState>;
  /** Lines about a sandbox carry its sandboxId, its cellId when known, hostId and phase `reconcile`. */
  readonly log?: ((message: string, fields: Record<string, unknown>) => void) | undefined;
  /** Things without a cell record are left alone until they are this old (a prepare may be under way). */
  readonly orphanGraceMs?: number | undefined;
  /** Counts each removal (e.g. the worker's cellos_reconciler_actions); nothing by default. */
  readonly metrics?: ReconcilerMetrics | undefined;
}

export interface ReconcilerMetrics {
  reconcilerAction(action: ReconcileActionKind, result: 'removed' | 'failed'): void;
}

export type ReconcileActionKind =
  /** A cell record whose workflow run is over: its sandbox is killed and everything removed. */
  | 'remove'
  /** A bundle, cgroup, container, process or lock file whose sandbox has no cell record. */
  | 'remove-orphan';

export interface ReconcileAction {
  readonly sandboxId: string;
  readonly cellId?: string | undefined;
  readonly action: ReconcileActionKind;
  readonly why: string;
  /** Set when the removal failed: the next round tries again. */
  readonly error?: string | undefined;
}

export interface Reconciler {
  /**
   * One round: finds, decides, removes, and returns what it did. Never throws for one sandbox's
   * failure (it is logged and in the action's `error`). A round asked for while one runs joins it.
   */
  reconcile(opts?: { signal?: AbortSignal | undefined }): Promise<ReconcileAction[]>;
}

export const DEFAULT_ORPHAN_GRACE_MS = 60_000;

/** One trace of a sandbox on this host. */
interface Piece {
  readonly what: string;
  readonly ageMs: number;
  readonly cellId?: string | undefined;
}

interface Traces {
  record?: CellRecord;
  readonly pieces: Piece[];
}

export function createReconciler(opts: ReconcilerOptions): Reconciler {
  const { host, isCellRunning, log = () => undefined, orphanGraceMs = DEFAULT_ORPHAN_GRACE_MS, metrics } = opts;
  if (!Number.isFinite(orphanGraceMs) || orphanGraceMs < 0) {
    throw new RangeError(`orphanGraceMs ${orphanGraceMs} must be a number of milliseconds >= 0`);
  }
  const { config } = host;
  let current: Promise<ReconcileAction[]> | undefined;

  async function round(signal: AbortSignal | undefined): Promise<ReconcileAction[]> {
    const found = await findTraces();
    const actions: ReconcileAction[] = [];
    for (const [sandboxId, traces] of [...found].sort(([a], [b]) => a.localeCompare(b))) {
      if (signal?.aborted) break;
      // Its files exist before its record: this process is writing them right now.
      if (host.isPreparing(sandboxId)) continue;
      const planned = traces.record
        ? await decideRecorded(sandboxId, traces.record, traces)
        : decideOrphan(sandboxId, traces);
      if (!planned) continue;
      // A warm sandbox given to a cell after the records were read: its record names it now.
      if (planned.action === 'remove-orphan' && isWarmSandboxId(sandboxId) && (await givenToACell(sandboxId))) continue;
      // Its traces were read a while ago: a prepare may have taken up the folder since (a run
      // arriving after a crash left it without a record) and may be running the cell by now.
      if (planned.action === 'remove-orphan' && (await preparedSince(sandboxId))) continue;
      const fields = { ...planned, hostId: config.hostId, phase: 'reconcile' };
      log('reconcile: removing sandbox', fields);
      try {
        await host.removeById(sandboxId);
        metrics?.reconcilerAction(planned.action, 'removed');
        actions.push(planned);
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        metrics?.reconcilerAction(planned.action, 'failed');
        log('reconcile: removal failed; the next round tries again', { ...fields, error });
        actions.push({ ...planned, error });
      }
    }
    await sweepArtifacts();
    return actions;
  }

  /** Artifacts past CELLOS_ARTIFACTS_RETENTION_SECONDS leave the host's folder store. */
  async function sweepArtifacts(): Promise<void> {
    if (!host.folderStore) return;
    try {
      const swept = await host.folderStore.sweep();
      if (swept.blobs.length > 0 || swept.temps > 0) {
        log('reconcile: expired artifacts removed', {
          hostId: config.hostId,
          phase: 'reconcile',
          artifacts: swept.blobs.length,
          bytesFreed: swept.bytesFreed,
        });
      }
    } catch (err) {
      log('reconcile: sweeping the artifact store failed; the next round tries again', {
        hostId: config.hostId,
        phase: 'reconcile',
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }

  async function decideRecorded(
    sandboxId: string,
    record: CellRecord,
    traces: Traces,
  ): Promise<ReconcileAction | undefined> {
    const cellId = record.cellId;
    if (record.hostId !== config.hostId) {
      // Its cgroups live under another host's parent: not ours to judge.
      log('reconcile: leaving alone a cell record written for another host id', {
        sandboxId,
        cellId,
        hostId: config.hostId,
        phase: 'reconcile',
        recordHostId: record.hostId,
      });
      return undefined;
    }
    let state: CellRunState;
    try {
      state = await isCellRunning(cellId, record.runKey);
    } catch (err) {
      log('reconcile: could not look up the cell workflow; leaving the cell alone this round', {
        sandboxId,
        cellId,
        hostId: config.hostId,
        phase: 'reconcile',
        runKey: record.runKey,
        error: err instanceof Error ? err.message : String(err),
      });
      return undefined;
    }
    if (state === 'running') return undefined;
    // "Not found" is weaker than "closed" (a lookup may lag a run that just started): give it the grace.
    if (state === 'not-found' && Date.now() - record.createdAtMs < orphanGraceMs) return undefined;
    const run =
      state === 'closed'
        ? `its workflow run ${record.runKey} is closed (terminated, or it ended without its cleanup)`
        : `its workflow run ${record.runKey} does not exist (its history is gone)`;
    const live = traces.pieces.filter((p) => p.what !== 'cell record').map((p) => p.what);
    return {
      sandboxId,
      cellId,
      action: 'remove',
      why: `${run}${live.length ? `; found: ${live.join(', ')}` : ''}`,
    };
  }

  function decideOrphan(sandboxId: string, traces: Traces): ReconcileAction | undefined {
    const youngestMs = Math.min(...traces.pieces.map((p) => p.ageMs));
    if (!(youngestMs >= orphanGraceMs)) return undefined;
    const cellId = traces.pieces.find((p) => p.cellId)?.cellId;
    return {
      sandboxId,
      ...(cellId ? { cellId } : {}),
      action: 'remove-orphan',
      why: `no cell record; found: ${traces.pieces.map((p) => p.what).join(', ')} (the youngest ${Math.round(youngestMs / 1000)} s old)`,
    };
  }

  /** Whether a sandbox found without a record has one now, or is being prepared. */
  async function preparedSince(sandboxId: string): Promise<boolean> {
    if (host.isPreparing(sandboxId)) return true;
    return (await readRecord(join(config.cellsDir, sandboxId)))?.sandboxId === sandboxId;
  }

  /** Whether a cell record names `runscId` as the warm sandbox it runs in. */
  async function givenToACell(runscId: string): Promise<boolean> {
    for (const name of await readdirIfAny(config.cellsDir)) {
      if (!isSandboxId(name) || name === runscId) continue;
      if ((await readRecord(join(config.cellsDir, name)))?.runscId === runscId) return true;
    }
    return false;
  }

  /** Every sandbox id with a trace on this host, and its traces. */
  async function findTraces(): Promise<Map<string, Traces>> {
    const found = new Map<string, Traces>();
    // A warm sandbox given to a cell carries its own id: its traces are the cell's.
    const owner = new Map<string, string>();
    const add = (id: string, piece: Piece) => {
      if (!isSandboxId(id)) return;
      const sandboxId = owner.get(id) ?? id;
      let t = found.get(sandboxId);
      if (!t) found.set(sandboxId, (t = { pieces: [] }));
      t.pieces.push(piece);
    };
    const now = Date.now();
    const age = (mtimeMs: number) => Math.max(0, now - mtimeMs);
    const sweep = async (what: string, fn: () => Promise<void>) => {
      try {
        await fn();
      } catch (err) {
        log(`reconcile: could not list ${what}`, {
          hostId: config.hostId,
          phase: 'reconcile',
          error: err instanceof Error ? err.message : String(err),
        });
      }
    };

    // The records first: they say which warm sandboxes belong to which cell.
    const unrecorded: string[] = [];
    await sweep(`cell records in ${config.cellsDir}`, async () => {
      for (const name of await readdirIfAny(config.cellsDir)) {
        if (!isSandboxId(name)) continue;
        const record = await readRecord(join(config.cellsDir, name));
        if (record && record.sandboxId === name) {
          add(name, { what: 'cell record', ageMs: age(record.createdAtMs), cellId: record.cellId });
          found.get(name)!.record = record;
          if (record.runscId !== undefined && record.runscId !== name) owner.set(record.runscId, name);
        } else {
          unrecorded.push(name);
        }
      }
    });
    await Promise.all([
      sweep(`cell folders in ${config.cellsDir}`, async () => {
        for (const name of unrecorded) {
          const dir = join(config.cellsDir, name);
          const st = await stat(dir).catch(() => undefined);
          const pooled = await stat(join(dir, cellFile.pool)).then(
            () => true,
            () => false,
          );
          if (st)
            add(name, { what: pooled ? 'unused warm sandbox' : 'cell dir without a record', ageMs: age(st.mtimeMs) });
        }
      }),
      sweep(`bundles in ${config.bundleDir}`, async () => {
        for (const name of await readdirIfAny(config.bundleDir)) {
          if (!isSandboxId(name)) continue;
          const dir = join(config.bundleDir, name);
          const bundle = await readBundleConfig(dir);
          // A bundle folder may be shared: one made for another host points at that host's cgroups.
          if (bundle.cgroupsPath !== undefined && !bundle.cgroupsPath.startsWith(`/${config.cgroupParent}/`)) continue;
          const st = await stat(dir).catch(() => undefined);
          if (st) add(name, { what: 'bundle', ageMs: age(st.mtimeMs), cellId: bundle.cellId });
        }
      }),
      sweep(`runsc containers in ${config.runscRoot}`, async () => {
        const [containers, files] = await Promise.all([host.runsc.list(), listStateFiles(config.runscRoot)]);
        for (const c of containers) {
          const stateFile = files.find((f) => f.kind === 'state' && f.containerId === c.id);
          const st = stateFile ? await stat(join(config.runscRoot, stateFile.name)).catch(() => undefined) : undefined;
          add(c.id, {
            what: `runsc container (${c.status})`,
            // The state file changes with the status: its mtime is never older than the container.
            ageMs: st ? age(st.mtimeMs) : 0,
            cellId: c.annotations?.['io.cellos.cell-id'],
          });
        }
      }),
      sweep(`runsc lock files in ${config.runscRoot}`, async () => {
        for (const lock of staleLocks(await listStateFiles(config.runscRoot))) {
          const st = await stat(join(config.runscRoot, lock.name)).catch(() => undefined);
          if (st) add(lock.containerId, { what: 'runsc lock file without state', ageMs: age(st.mtimeMs) });
        }
      }),
      sweep(`cgroups under ${config.cgroupParent}`, async () => {
        for (const dir of await listCellCgroupDirs(host.cgroupMode, config.cgroupParent)) {
          add(dir.sandboxId, { what: `cgroup ${dir.path}`, ageMs: age(dir.mtimeMs) });
        }
      }),
      sweep('processes', async () => {
        for (const p of await findHostProcesses(config)) {
          // A supervisor's subshells share its argument vector: name the group leader only.
          if (p.kind === 'supervisor' && p.pid !== p.pgid) continue;
          const what = p.kind === 'supervisor' ? `supervisor pid ${p.pid}` : `${p.command.split(' ')[0]} pid ${p.pid}`;
          add(p.sandboxId, { what, ageMs: age(p.startedAtMs) });
        }
      }),
    ]);
    return found;
  }

  return {
    reconcile(o = {}) {
      current ??= round(o.signal).finally(() => {
        current = undefined;
      });
      return current;
    },
  };
}

async function readdirIfAny(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** The bits of a bundle's config.json that tie it to a host and a cell; empty while it is written. */
async function readBundleConfig(dir: string): Promise<{ cgroupsPath?: string; cellId?: string }> {
  try {
    const cfg = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as {
      linux?: { cgroupsPath?: unknown };
      annotations?: Record<string, unknown>;
    };
    const cgroupsPath = cfg.linux?.cgroupsPath;
    const cellId = cfg.annotations?.['io.cellos.cell-id'];
    return {
      ...(typeof cgroupsPath === 'string' ? { cgroupsPath } : {}),
      ...(typeof cellId === 'string' ? { cellId } : {}),
    };
  } catch {
    return {};
  }
}
