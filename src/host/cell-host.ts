// One host's cells: prepare a bundle, start its supervisor, wait for the recorded outcome,
// kill on a deadline or request, remove everything. Every step is idempotent and keyed by
// the sandbox id, so a restarted process re-attaches instead of launching twice.
import { mkdir, readFile, readdir, readlink, realpath, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateBundleConfig, isAllowedHostPath, serializeBundleConfig } from '../bundle/config.ts';
import { BundleConfigError } from '../bundle/errors.ts';
import { sandboxIdFor } from '../bundle/ids.ts';
import { outcomeOf, type CellOutcome, type KillReason, type KillRecord } from '../cell/outcome.ts';
import type { CellDocument } from '../document/schema.ts';
import { EMPTY_OUTPUT, type OutputTail } from '../cell/output.ts';
import { resolveRootfs } from '../rootfs/index.ts';
import { createRunscDriver, type RunscDriver, type RunscPlatform } from '../runsc/driver.ts';
import { UnsupportedPlatformError } from '../runsc/errors.ts';
import { detectPlatform, runscVersion } from '../runsc/platform.ts';
import { cellCgroupPath, detectCgroupMode, prepareCellCgroup, removeCellCgroup, type CgroupMode } from './cgroups.ts';
import {
  cellFile,
  isSupervisorAlive,
  readKill,
  readRecord,
  readResult,
  readSupervisorRecord,
  readSupervisorPid,
  readTail,
  writeJsonAtomic,
  type CellRecord,
} from './cell-files.ts';
import { HostConfigError, normalizeHostConfig, type HostConfig, type HostConfigInput } from './config.ts';
import { findHostProcesses, killGroup, killPid } from './processes.ts';
import { createSpawner } from './spawner.ts';
import { launchEnv } from './supervisor.ts';
import { watchDir, type DirWatch } from './watch.ts';

export interface CellHandle extends CellRecord {
  readonly cellDir: string;
}

export interface CellExit {
  readonly cellId: string;
  readonly sandboxId: string;
  readonly hostId: string;
  readonly outcome: CellOutcome;
  readonly startedAtMs: number;
  readonly endedAtMs: number;
  readonly stdout: OutputTail;
  readonly stderr: OutputTail;
}

export type CellState = 'prepared' | 'running' | 'exited' | 'lost';

export interface WaitOptions {
  readonly signal?: AbortSignal | undefined;
  /** Called about every `tickMs` while the cell runs (activities heartbeat here). */
  readonly onTick?: (() => void) | undefined;
  readonly tickMs?: number | undefined;
}

export interface KillOptions {
  readonly reason: KillReason;
  readonly message?: string | undefined;
  /** SIGTERM-to-SIGKILL grace; the document's gracefulShutdownSeconds by default. */
  readonly graceSeconds?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface CellHost {
  readonly config: HostConfig;
  readonly platform: RunscPlatform;
  readonly cgroupMode: CgroupMode;
  readonly runsc: RunscDriver;
  sandboxIdFor(cellId: string, runKey: string): string;
  /** Writes the bundle and the cell record. Idempotent for one (cell, run key). */
  prepare(doc: CellDocument, runKey: string): Promise<CellHandle>;
  /** Starts the supervisor unless it was started already. */
  start(handle: CellHandle): Promise<{ supervisorPid: number | undefined }>;
  launch(doc: CellDocument, runKey: string): Promise<CellHandle>;
  attach(sandboxId: string): Promise<CellHandle | undefined>;
  state(handle: CellHandle): Promise<CellState>;
  wait(handle: CellHandle, opts?: WaitOptions): Promise<CellExit>;
  kill(handle: CellHandle, opts: KillOptions): Promise<void>;
  /** Deletes the sandbox, its cgroups, bundle and record. Idempotent. */
  remove(handle: CellHandle): Promise<void>;
  /** remove() for a sandbox that may have no record (its start was interrupted). */
  removeById(sandboxId: string): Promise<void>;
  /** The captured output so far, as tails of at most `maxBytes` each. */
  readOutput(handle: CellHandle, maxBytes: number): Promise<{ stdout: OutputTail; stderr: OutputTail }>;
  /** Sandbox ids with a record on this host. */
  listSandboxIds(): Promise<string[]>;
  /** Whether the sandbox got as far as starting the workload (runsc's boot log says so). */
  workloadStarted(handle: CellHandle): Promise<boolean>;
  /** Lets the supervisor launcher go (running cells are not affected). */
  close(): void;
  /** Whether this process is preparing the sandbox now (its files exist before its record does). */
  isPreparing(sandboxId: string): boolean;
}

const LOST_AFTER_MS = 3000;
/** Marks that a supervisor launch was asked for: a retry then waits for it instead of launching again. */
const LAUNCH_REQUESTED = 'launch.requested';

export async function createCellHost(
  input: HostConfigInput,
  env: Readonly<Record<string, string | undefined>> = {},
): Promise<CellHost> {
  if (process.platform !== 'linux') throw new UnsupportedPlatformError(process.platform);
  const config = normalizeHostConfig(input, env);
  if (config.defaultRootfs === '') {
    throw new HostConfigError(
      'no default rootfs configured: set CELLOS_DEFAULT_ROOTFS (run scripts/setup.sh to build one)',
    );
  }
  await runscVersion(config.runscPath).catch((err: Error) => {
    throw new HostConfigError(
      `runsc not usable at ${JSON.stringify(config.runscPath)} (install Debian's package runsc or set CELLOS_RUNSC): ${err.message.split('\n')[0]}`,
    );
  });
  if (config.allowSandboxNetwork && (await inRootNetworkNamespace())) {
    throw new HostConfigError(
      'sandbox networking is allowed in the configuration, but this host cannot provide it: runsc refuses "network enabled in root network namespace" here. Unset CELLOS_ALLOW_SANDBOX_NETWORK or run the worker in its own network namespace.',
    );
  }
  const platform = config.platform ?? (await detectPlatform(config.runscPath));
  const cgroupMode = await detectCgroupMode();
  await Promise.all(
    [config.runscRoot, config.cellsDir, config.bundleDir].map((d) => mkdir(d, { recursive: true, mode: 0o700 })),
  );
  const runsc = createRunscDriver({ runscPath: config.runscPath, root: config.runscRoot, platform });
  const spawner = createSpawner();
  /** Sandboxes whose prepare() runs in this process: files without a record yet, not leftovers. */
  const preparing = new Map<string, number>();

  const dirOf = (sandboxId: string) => join(config.cellsDir, sandboxId);
  const handleOf = (record: CellRecord): CellHandle => ({ ...record, cellDir: dirOf(record.sandboxId) });

  async function prepare(doc: CellDocument, runKey: string): Promise<CellHandle> {
    const sandboxId = sandboxIdFor(doc.spec.id, runKey);
    preparing.set(sandboxId, (preparing.get(sandboxId) ?? 0) + 1);
    try {
      return await prepareOnce(doc, runKey, sandboxId);
    } finally {
      const n = (preparing.get(sandboxId) ?? 1) - 1;
      if (n > 0) preparing.set(sandboxId, n);
      else preparing.delete(sandboxId);
    }
  }

  async function prepareOnce(doc: CellDocument, runKey: string, sandboxId: string): Promise<CellHandle> {
    const cellDir = dirOf(sandboxId);
    const existing = await readRecord(cellDir);
    if (existing) return handleOf(existing);
    const record: CellRecord = {
      cellId: doc.spec.id,
      sandboxId,
      runKey,
      hostId: config.hostId,
      network: doc.spec.run.network,
      bundleDir: join(config.bundleDir, sandboxId),
      gracefulShutdownSeconds: doc.spec.run.limits.gracefulShutdownSeconds,
      memoryMaxBytes: doc.spec.run.limits.memoryMaxBytes,
      createdAtMs: Date.now(),
    };
    const handle = handleOf(record);
    try {
      await mkdir(join(cellDir, 'pipes'), { recursive: true, mode: 0o700 });
      const rootfs = await resolveRootfs(doc.spec.run.rootfs, {
        defaultRootfs: config.defaultRootfs,
        imageCacheDir: config.imageCacheDir,
      });
      // Pure checks first (allowlist, secrets, network), so a refused document touches nothing else.
      const ociConfig = generateBundleConfig(doc, {
        sandboxId,
        rootfsPath: rootfs.path,
        cgroupsPath: cellCgroupPath(config.cgroupParent, sandboxId),
        secretEnv: config.secrets,
        allowedMounts: config.allowedMounts,
        allowSandboxNetwork: config.allowSandboxNetwork,
      });
      await checkMountPoints(doc, rootfs.path, config.allowedMounts);
      const cgroup = await prepareCellCgroup(cgroupMode, config.cgroupParent, sandboxId, record.memoryMaxBytes);
      await mkdir(record.bundleDir, { recursive: true, mode: 0o700 });
      await writeFile(join(record.bundleDir, 'config.json'), serializeBundleConfig(ociConfig), { mode: 0o600 });
      await writeJsonAtomic(join(cellDir, 'launch.json'), {
        stdoutCap: doc.spec.run.output.maxStdoutBytes,
        stderrCap: doc.spec.run.output.maxStderrBytes,
        oomProbe: cgroup.oomProbe ?? '',
      });
      // The record last: its presence means "prepared", which is what re-attach trusts.
      await writeJsonAtomic(join(cellDir, cellFile.record), record);
      return handle;
    } catch (err) {
      await removeFiles(handle);
      throw err;
    }
  }

  async function start(handle: CellHandle): Promise<{ supervisorPid: number | undefined }> {
    const known = await readSupervisorPid(handle.cellDir);
    if (known !== undefined) return { supervisorPid: known };
    if (await readKill(handle.cellDir)) {
      // Killed before it started: record an outcome without launching anything.
      await Promise.all(['started', 'ended'].map((f) => writeFile(join(handle.cellDir, f), '')));
      await writeJsonAtomic(join(handle.cellDir, cellFile.result), { runscExitCode: -1, oomCount: null });
      return { supervisorPid: undefined };
    }
    // An earlier attempt asked for the launch and died before the supervisor wrote its pid:
    // give that launch time to show up rather than start a second sandbox with the same id.
    if (await exists(join(handle.cellDir, LAUNCH_REQUESTED))) {
      const pid = await waitForPid(handle, 3000);
      if (pid !== undefined) return { supervisorPid: pid };
    }
    const launch = JSON.parse(await readFile(join(handle.cellDir, 'launch.json'), 'utf8')) as {
      stdoutCap: number;
      stderrCap: number;
      oomProbe: string;
    };
    await writeFile(
      join(handle.cellDir, 'launch.env'),
      launchEnv({
        bundleDir: handle.bundleDir,
        sandboxId: handle.sandboxId,
        maxStdoutBytes: launch.stdoutCap,
        maxStderrBytes: launch.stderrCap,
        oomProbe: launch.oomProbe || undefined,
        runscPath: config.runscPath,
        globalFlags: runsc.globalFlags(handle.network),
      }),
      { mode: 0o600 },
    );
    await writeFile(join(handle.cellDir, LAUNCH_REQUESTED), '');
    spawner.launch(handle.sandboxId, handle.cellDir);
    // The supervisor writes supervisor.pid as its first act (well under a millisecond later).
    return { supervisorPid: undefined };
  }

  async function waitForPid(handle: CellHandle, ms: number): Promise<number | undefined> {
    const until = Date.now() + ms;
    for (;;) {
      const pid = await readSupervisorPid(handle.cellDir);
      if (pid !== undefined || Date.now() > until) return pid;
      await sleep(20);
    }
  }

  async function state(handle: CellHandle): Promise<CellState> {
    if (await readResult(handle.cellDir)) return 'exited';
    const pid = await readSupervisorPid(handle.cellDir);
    if (pid === undefined) return 'prepared';
    if (await isSupervisorAlive(pid, handle.sandboxId)) return 'running';
    // It may have finished between the two reads.
    return (await readResult(handle.cellDir)) ? 'exited' : 'lost';
  }

  async function collect(handle: CellHandle): Promise<CellExit | undefined> {
    const result = await readResult(handle.cellDir);
    if (!result) return undefined;
    const [record, kill] = await Promise.all([readSupervisorRecord(handle.cellDir, result), readKill(handle.cellDir)]);
    let runscError: string | undefined;
    if (record.waitStatus === null) runscError = await runscFailure(handle, record.runscExitCode);
    const [stdout, stderr] = await Promise.all([
      readTail(join(handle.cellDir, cellFile.stdout), config.outputTailBytes),
      readTail(join(handle.cellDir, cellFile.stderr), config.outputTailBytes),
    ]);
    return {
      cellId: handle.cellId,
      sandboxId: handle.sandboxId,
      hostId: handle.hostId,
      outcome: outcomeOf(record, kill, { runscError, memoryMaxBytes: handle.memoryMaxBytes }),
      startedAtMs: record.startedAtMs,
      endedAtMs: record.endedAtMs,
      stdout: { tail: stdout.text, bytes: stdout.bytes, droppedBytes: record.stdoutDropped },
      stderr: { tail: stderr.text, bytes: stderr.bytes, droppedBytes: record.stderrDropped },
    };
  }

  async function runscFailure(handle: CellHandle, code: number): Promise<string> {
    const log = await readTail(join(handle.cellDir, cellFile.runscRunLog), 64 * 1024);
    const errors = log.text
      .split('\n')
      .filter((l) => /^[EFW]\d{4}|FATAL|error/i.test(l))
      .slice(-5)
      .join('\n');
    const stderr = await readTail(join(handle.cellDir, cellFile.stderr), 2000);
    return `runsc run exited ${code} for cell ${handle.cellId} (sandbox ${handle.sandboxId})${errors ? `:\n${errors}` : ''}${stderr.text ? `\nstderr: ${stderr.text.trim()}` : ''}`;
  }

  async function wait(handle: CellHandle, opts: WaitOptions = {}): Promise<CellExit> {
    const changes = watchDir(handle.cellDir, cellFile.result);
    try {
      return await waitWatching(handle, opts, changes);
    } finally {
      changes.close();
    }
  }

  async function waitWatching(handle: CellHandle, opts: WaitOptions, changes: DirWatch): Promise<CellExit> {
    const tickMs = opts.tickMs ?? 1000;
    let lastTick = Date.now();
    let missingSince: number | undefined;
    for (;;) {
      opts.signal?.throwIfAborted();
      const exit = await collect(handle);
      if (exit) return exit;
      const st = await state(handle);
      if (st === 'lost' || st === 'prepared') {
        // 'prepared' too long means the supervisor never started (its launcher died first).
        missingSince ??= Date.now();
        if (Date.now() - missingSince > LOST_AFTER_MS) {
          const again = await collect(handle);
          if (again) return again;
          return lostExit(
            handle,
            st === 'lost'
              ? 'its supervisor exited without a record (host restarted or process killed)'
              : 'its supervisor was never started',
          );
        }
      } else {
        missingSince = undefined;
      }
      if (Date.now() - lastTick >= tickMs) {
        lastTick = Date.now();
        opts.onTick?.();
      }
      // The result file appears: inotify wakes us at once; the timeout covers a missed event.
      await changes.next(250, opts.signal);
    }
  }

  function lostExit(handle: CellHandle, reason: string): CellExit {
    const now = Date.now();
    return {
      cellId: handle.cellId,
      sandboxId: handle.sandboxId,
      hostId: handle.hostId,
      outcome: { kind: 'lost', reason },
      startedAtMs: handle.createdAtMs,
      endedAtMs: now,
      stdout: EMPTY_OUTPUT,
      stderr: EMPTY_OUTPUT,
    };
  }

  async function kill(handle: CellHandle, opts: KillOptions): Promise<void> {
    const graceMs = (opts.graceSeconds ?? handle.gracefulShutdownSeconds) * 1000;
    const signals: ('SIGTERM' | 'SIGKILL')[] = [];
    // Finished, or already removed by the process that collected its outcome.
    const finished = async () => (await isGoneOrExited(handle)) || (await state(handle)) === 'lost';
    const record = async () => {
      await writeJsonAtomic(join(handle.cellDir, cellFile.kill), {
        reason: opts.reason,
        message: opts.message ?? opts.reason,
        signals,
      } satisfies KillRecord).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err; // the cell was removed meanwhile: nothing to kill
      });
    };
    /** Sends `signal` until runsc takes it or the cell is over; a sandbox still booting cannot take one yet. */
    const send = async (signal: 'SIGTERM' | 'SIGKILL', until: number) => {
      signals.push(signal);
      await record();
      while (Date.now() < until) {
        opts.signal?.throwIfAborted();
        const st = await state(handle);
        if (st === 'exited' || st === 'lost') return;
        if (st === 'running') {
          const sent = await runsc
            .kill(handle.sandboxId, signal, { all: signal === 'SIGKILL', network: handle.network })
            .catch(() => 'not-running' as const);
          if (sent === 'sent') return;
        }
        // 'prepared': start() sees the kill record and does not launch.
        if (st === 'prepared' || !(await readRecord(handle.cellDir))) return;
        await sleep(100);
      }
    };
    if (await finished()) return;
    const termDeadline = Date.now() + graceMs;
    await send('SIGTERM', termDeadline);
    while (Date.now() < termDeadline) {
      if (await finished()) return;
      await sleep(50);
    }
    if (await finished()) return;
    await send('SIGKILL', Date.now() + 5000);
  }

  async function isGoneOrExited(handle: CellHandle): Promise<boolean> {
    if (await readResult(handle.cellDir)) return true;
    return !(await readRecord(handle.cellDir));
  }

  async function remove(handle: CellHandle): Promise<void> {
    const id = handle.sandboxId;
    const pid = await readSupervisorPid(handle.cellDir);
    let result = await readResult(handle.cellDir);
    // Without a pid file (the record is gone) or a result (killed, lost, never finished), look for
    // what may still run in /proc too: the normal path, a cell that exited, needs no scan.
    const searched = pid === undefined || !result;
    let supervisors = await liveSupervisors(id, pid, searched);
    if (supervisors.length > 0) {
      // SIGKILL lets `runsc run` return and remove its own container; `delete --force` of a container
      // that runsc run still holds stops it but then fails here ("context deadline exceeded").
      const sent = await runsc
        .kill(id, 'SIGKILL', { all: true, network: handle.network })
        .catch(() => 'not-running' as const);
      if (sent === 'sent') supervisors = await waitGone(supervisors, id, 5000);
      result = await readResult(handle.cellDir);
    }
    // runsc run removes its container when it returns; delete it ourselves when it did not.
    if (supervisors.length > 0 || !result || (await runscHasState(id))) {
      await runsc.delete(id, { network: handle.network });
    }
    if (supervisors.length > 0) {
      // With its sandbox gone the supervisor finishes on its own; make sure of it.
      for (const p of await waitGone(supervisors, id, 5000)) killGroup(p);
    }
    if (searched) {
      // A sandbox runsc has no state for (a create that failed part-way, a reused id) survives delete.
      for (const p of await findHostProcesses(config, id)) {
        if (p.kind === 'supervisor') killGroup(p.pgid);
        else killPid(p.pid);
      }
    }
    await removeStaleLocks(id);
    await removeFiles(handle);
  }

  /** Supervisor pids of a sandbox that still run: the one in its pid file, and (searched) any in /proc. */
  async function liveSupervisors(sandboxId: string, pid: number | undefined, search: boolean): Promise<number[]> {
    const pids = new Set<number>();
    if (pid !== undefined && (await isSupervisorAlive(pid, sandboxId))) pids.add(pid);
    if (search) {
      // Group leaders only: the supervisor's subshells share its argument vector.
      for (const p of await findHostProcesses(config, sandboxId)) {
        if (p.kind === 'supervisor' && p.pid === p.pgid) pids.add(p.pid);
      }
    }
    return [...pids];
  }

  async function removeFiles(handle: CellHandle): Promise<void> {
    await removeCellCgroup(cgroupMode, config.cgroupParent, handle.sandboxId);
    await rm(handle.bundleDir, { recursive: true, force: true });
    // The supervisor's fifos first: Deno's recursive rm opens a fifo and blocks on it.
    await Promise.all(['pipes/out', 'pipes/err'].map((f) => unlink(join(handle.cellDir, f)).catch(() => undefined)));
    await rm(handle.cellDir, { recursive: true, force: true });
  }

  async function runscHasState(sandboxId: string): Promise<boolean> {
    const entries = await readdir(config.runscRoot).catch(() => [] as string[]);
    return entries.some((e) => e.includes(sandboxId));
  }

  /** A `.lock` without its `.state` (a create killed part-way) blocks nothing but is a leftover. */
  async function removeStaleLocks(sandboxId: string): Promise<void> {
    const entries = (await readdir(config.runscRoot).catch(() => [] as string[])).filter((e) => e.includes(sandboxId));
    for (const lock of entries.filter((e) => e.endsWith('.lock'))) {
      if (!entries.includes(`${lock.slice(0, -'.lock'.length)}.state`)) {
        await rm(join(config.runscRoot, lock), { force: true });
      }
    }
  }

  /** Waits up to `ms` for the supervisors to exit; returns those still alive. */
  async function waitGone(pids: readonly number[], sandboxId: string, ms: number): Promise<number[]> {
    const until = Date.now() + ms;
    let alive = [...pids];
    for (;;) {
      const checks = await Promise.all(alive.map((p) => isSupervisorAlive(p, sandboxId)));
      alive = alive.filter((_, i) => checks[i]);
      if (alive.length === 0 || Date.now() >= until) return alive;
      await sleep(50);
    }
  }

  return {
    config,
    platform,
    cgroupMode,
    runsc,
    sandboxIdFor,
    prepare,
    start,
    async launch(doc, runKey) {
      const handle = await prepare(doc, runKey);
      await start(handle);
      return handle;
    },
    async attach(sandboxId) {
      const record = await readRecord(dirOf(sandboxId));
      return record ? handleOf(record) : undefined;
    },
    state,
    wait,
    kill,
    remove,
    async removeById(sandboxId) {
      const record = await readRecord(dirOf(sandboxId));
      await remove(
        record
          ? handleOf(record)
          : handleOf({
              cellId: '',
              sandboxId,
              runKey: '',
              hostId: config.hostId,
              network: 'none',
              bundleDir: join(config.bundleDir, sandboxId),
              gracefulShutdownSeconds: 0,
              createdAtMs: 0,
            }),
      );
    },
    async readOutput(handle, maxBytes) {
      const [out, err] = await Promise.all([
        readTail(join(handle.cellDir, cellFile.stdout), maxBytes),
        readTail(join(handle.cellDir, cellFile.stderr), maxBytes),
      ]);
      return {
        stdout: { tail: out.text, bytes: out.bytes, droppedBytes: 0 },
        stderr: { tail: err.text, bytes: err.bytes, droppedBytes: 0 },
      };
    },
    close() {
      spawner.close();
    },
    async workloadStarted(handle) {
      const boot = await readFile(join(handle.cellDir, cellFile.runscBootLog), 'utf8').catch(() => '');
      return boot.includes('Process should have started');
    },
    async listSandboxIds() {
      return readdir(config.cellsDir).catch(() => []);
    },
    isPreparing(sandboxId) {
      return preparing.has(sandboxId);
    },
  };
}

/** runsc creates missing mount points inside the rootfs even when it is read-only: refuse instead. */
async function checkMountPoints(doc: CellDocument, rootfs: string, allowed: readonly string[]): Promise<void> {
  const targets = [
    { path: '/tmp', field: 'the rootfs' },
    ...doc.spec.run.tmpfs.map((t, i) => ({ path: t.path, field: `spec.run.tmpfs[${i}].path` })),
    ...doc.spec.run.mounts.map((m, i) => ({ path: m.destination, field: `spec.run.mounts[${i}].destination` })),
  ];
  for (const t of targets) {
    const st = await stat(join(rootfs, t.path)).catch(() => undefined);
    if (!st?.isDirectory()) {
      throw new BundleConfigError(
        'RootfsUnavailable',
        `${t.field}: mount point ${t.path} is not a directory in the rootfs ${rootfs}; add it to the image (runsc would otherwise create it in the shared rootfs)`,
      );
    }
  }
  for (const [i, m] of doc.spec.run.mounts.entries()) {
    const real = await realpath(m.source).catch(() => {
      throw new BundleConfigError(
        'MountNotAllowed',
        `spec.run.mounts[${i}].source: ${m.source} does not exist on this host`,
      );
    });
    // A symlink inside an allowed folder must not lead outside it.
    if (!isAllowedHostPath(real, allowed)) {
      throw new BundleConfigError(
        'MountNotAllowed',
        `spec.run.mounts[${i}].source: ${m.source} resolves to ${real}, which is not under a host path this worker allows`,
      );
    }
  }
}

async function inRootNetworkNamespace(): Promise<boolean> {
  const [mine, init] = await Promise.all([readlink('/proc/self/ns/net'), readlink('/proc/1/ns/net').catch(() => '')]);
  return mine === init;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
