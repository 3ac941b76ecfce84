// `cellos worker` with CELLOS_METRICS_ADDRESS, as an operator runs it: a real worker process (from
// dist/) against the test run's dev server. Its Prometheus endpoint serves our metrics beside
// Temporal's, and its stderr is JSON lines naming the cell, the host and the phase.
import { mkdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { CellClient } from '../../src/client/cell-client.ts';
import { sandboxIdFor } from '../../src/bundle/ids.ts';
import { createCellHost } from '../../src/host/cell-host.ts';
import { metricNames } from '../../src/worker/metrics.ts';
import { buildDist, cliSandbox, startCli, type CliProcess, type CliSandbox } from '../cli/cli-helpers.ts';
import { closeTestClient, connectTestClient } from '../helpers/client.ts';
import { shDocument } from '../helpers/documents.ts';
import { leftovers } from '../helpers/host.ts';
import { freePort } from '../helpers/ports.ts';
import { until } from '../helpers/wait.ts';

let box: CliSandbox;
let worker: CliProcess;
let client: CellClient;
let metricsUrl: string;
const taskQueue = `metrics-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

beforeAll(async () => {
  await buildDist();
  box = await cliSandbox();
  // A bundle without a cell record, older than the grace: the reconciler's round at start removes it.
  const orphan = join(box.stateDir, 'bundles', sandboxIdFor(`orphan-${process.pid}`, 'run'));
  await mkdir(orphan, { recursive: true });
  const old = new Date(Date.now() - 120_000);
  await utimes(orphan, old, old);
  const port = await freePort();
  metricsUrl = `http://127.0.0.1:${port}/metrics`;
  worker = startCli(['worker'], {
    env: {
      ...box.env,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      CELLOS_TASK_QUEUE: taskQueue,
      CELLOS_METRICS_ADDRESS: `127.0.0.1:${port}`,
      CELLOS_ORPHAN_GRACE_SECONDS: '1',
    },
    timeoutMs: 180_000,
  });
  await untilStderr('the worker coming up', (stderr) => stderr.includes('cellos: worker for host'), 60_000);
  client = await connectTestClient({ taskQueue });
});

afterAll(async () => {
  if (worker?.child.exitCode === null) worker.child.kill('SIGKILL');
  await closeTestClient(client);
  await box?.cleanup();
});

describe('cellos worker with CELLOS_METRICS_ADDRESS', () => {
  it('counts started and finished cells by outcome, running cells and phase durations on /metrics', async () => {
    const sh = (script: string, run: Record<string, unknown> = {}, spec: Record<string, unknown> = {}) =>
      shDocument(script, { run, spec });
    const results = await Promise.all([
      client.run(sh('echo ok')),
      client.run(sh('exit 3')),
      client.run(sh('sleep 30', { limits: { gracefulShutdownSeconds: 1 } }, { lifetime: { ttlSeconds: 1 } })),
    ]);
    expect(results.map((r) => r.outcome)).toEqual([
      { kind: 'exited', code: 0 },
      { kind: 'exited', code: 3 },
      expect.objectContaining({ kind: 'deadline' }),
    ]);

    const host = { host: box.hostId };
    // A warm sandbox is removed after its result is out (~1.5 s): its removal is counted then.
    const m = await until(
      'three removals counted',
      scrape,
      (scraped) => (value(scraped, `${metricNames.phaseDuration}_count`, { ...host, phase: 'remove' }) ?? 0) >= 3,
    );
    expect(value(m, metricNames.cellsStarted, host)).toBeGreaterThanOrEqual(3);
    expect(value(m, metricNames.cellsFinished, { ...host, outcome: 'exited' })).toBeGreaterThanOrEqual(2);
    expect(value(m, metricNames.cellsFinished, { ...host, outcome: 'deadline' })).toBeGreaterThanOrEqual(1);
    expect(value(m, metricNames.cellsRunning, host)).toBe(0);
    for (const phase of ['prepare', 'run', 'remove']) {
      expect(value(m, `${metricNames.phaseDuration}_count`, { ...host, phase })).toBeGreaterThanOrEqual(3);
    }
    expect(value(m, metricNames.reconcilerActions, { ...host, action: 'remove-orphan', result: 'removed' })).toBe(1);
    expect(value(m, metricNames.reconcilerActions, { ...host, action: 'remove', result: 'failed' })).toBe(0);
    // Our buckets (ms, up to 4 h), not the exporter's default ones (up to 10 s).
    expect(value(m, `${metricNames.phaseDuration}_bucket`, { ...host, phase: 'run', le: '14400000' })).toBe(3);
    // The names as documented: no `temporal_` prefix, no `_total` suffix on ours.
    expect(m.map((s) => s.name).filter((n) => n.includes('cellos_') && !n.startsWith('cellos_'))).toEqual([]);
    expect(m.some((s) => s.name.startsWith('cellos_') && s.name.endsWith('_total'))).toBe(false);

    // Temporal's own worker metrics, from the same endpoint.
    expect(
      value(m, 'temporal_activity_execution_latency_count', {
        activity_type: 'runSandbox',
        task_queue: `${taskQueue}@${box.hostId}`,
      }),
    ).toBeGreaterThanOrEqual(3);
    expect(m.some((s) => s.name === 'temporal_worker_task_slots_available')).toBe(true);
  });

  it('writes JSON lines that name the cell, the host and the phase', async () => {
    // Lines pass through the Runtime's logger, which holds them about 100 ms to order them with Core's.
    await untilStderr(
      'three "sandbox removed" lines',
      (stderr) => (stderr.match(/"msg":"sandbox removed"/g) ?? []).length >= 3,
      5000,
    );
    const lines = worker
      .stderrSoFar()
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('cellos: '));
    expect(lines.length).toBeGreaterThan(0);
    const entries = lines.map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        throw new Error(`not a JSON line: ${l}`);
      }
    });
    for (const e of entries) {
      expect(e).toMatchObject({ time: expect.any(String), level: expect.any(String), msg: expect.any(String) });
      expect(e.hostId).toBe(box.hostId);
      expect(e).not.toHaveProperty('taskToken');
    }
    expect(entries).toContainEqual(
      expect.objectContaining({
        msg: 'reconcile: removing sandbox',
        hostId: box.hostId,
        phase: 'reconcile',
        action: 'remove-orphan',
      }),
    );
    const cellLines = entries.filter((e) => /^sandbox |^killing sandbox/.test(String(e.msg)));
    expect(cellLines.map((e) => e.msg)).toEqual(
      expect.arrayContaining(['sandbox started', 'sandbox exited', 'killing sandbox', 'sandbox removed']),
    );
    for (const e of cellLines) {
      expect(e).toMatchObject({ cellId: expect.any(String), hostId: box.hostId, phase: expect.any(String) });
      expect(Object.keys(e).slice(0, 6)).toEqual(['time', 'level', 'msg', 'cellId', 'hostId', 'phase']);
    }
    expect(cellLines.filter((e) => e.msg === 'sandbox exited').map((e) => e.outcome)).toEqual(
      expect.arrayContaining(['exited', 'exited', 'deadline']),
    );
  });

  it('stops on SIGTERM with exit 0 within 15 s and leaves nothing on the host', async () => {
    const t0 = Date.now();
    worker.child.kill('SIGTERM');
    const exited = await Promise.race([
      worker.done,
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 15_000)),
    ]);
    expect(exited, `the worker did not exit within 15 s:\n${worker.stderrSoFar()}`).toBeDefined();
    expect(exited!.code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(15_000);
    const host = await createCellHost({
      hostId: box.hostId,
      stateDir: box.stateDir,
      defaultRootfs: box.env.CELLOS_DEFAULT_ROOTFS,
    });
    try {
      expect(await leftovers(host)).toEqual([]);
    } finally {
      host.close();
    }
  });
});

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The endpoint's samples (Prometheus text format: `name{label="value",...} number`). */
async function scrape(): Promise<Sample[]> {
  const res = await fetch(metricsUrl);
  expect(res.status).toBe(200);
  const samples: Sample[] = [];
  for (const line of (await res.text()).split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** The sum over the samples of `name` whose labels include `labels` (undefined: no such sample). */
function value(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  const matching = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  return matching.length ? matching.reduce((sum, s) => sum + s.value, 0) : undefined;
}

/** Waits until the worker's stderr so far satisfies `ok`; fails at once if the worker exits first. */
async function untilStderr(what: string, ok: (stderr: string) => boolean, ms: number): Promise<void> {
  const stderr = await until(
    what,
    () => worker.stderrSoFar(),
    (e) => ok(e) || worker.child.exitCode !== null,
    {
      ms,
      everyMs: 100,
    },
  );
  if (!ok(stderr)) throw new Error(`cellos worker exited before ${what}:\n${stderr}`);
}
