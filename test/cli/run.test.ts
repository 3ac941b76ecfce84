// `cellos run`, `status` and `kill` against the test run's Temporal dev server, with a worker in this
// process (startTestBed) on its own task queue, which the CLI gets through CELLOS_TASK_QUEUE.
import { describe, expect, it } from 'vitest';
import type { CellResult } from '../../src/contract/index.ts';
import { createCellHost } from '../../src/host/cell-host.ts';
import { leftovers } from '../helpers/host.ts';
import type { TemporalTestBed } from '../helpers/temporal.ts';
import { cliDocument, cli, hasStackTrace, startCli, type CliSandbox, type Env, useCliTestBed } from './cli-helpers.ts';

let box: CliSandbox;
let bed: TemporalTestBed;
let env: Env;
useCliTestBed((made) => ({ box, bed, env } = made));

/** `cellos status <id> --json` until its cell reports `phase` (20 s at most). */
async function waitForPhase(cellId: string, phase: string): Promise<Record<string, unknown>> {
  const until = Date.now() + 20_000;
  let last = '';
  for (;;) {
    const r = await cli(['status', cellId, '--json'], { env });
    last = `${r.code} ${r.stdout} ${r.stderr}`;
    if (r.code === 0) {
      const report = JSON.parse(r.stdout) as { status?: { phase: string } };
      if (report.status?.phase === phase) return report;
    }
    if (Date.now() > until) throw new Error(`cell ${cellId} never reached ${phase}; last status: ${last}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

describe('cellos run', () => {
  it("prints the phases, the cell's output and a summary, and exits with the cell's code", async () => {
    const doc = cliDocument('echo hi; echo oops >&2; exit 3');
    const r = await cli(['run', await box.doc('run-3.json', doc)], { env });
    expect(r.stdout).toBe('hi\n');
    expect(r.stderr).toMatch(/\[\d+\.\d\ds\] running on host \S+ \(sandbox \S+\)/);
    expect(r.stderr).toContain('oops\n');
    expect(r.stderr).toMatch(new RegExp(`cell ${doc.spec.id} exited 3 after \\d+\\.\\d\\ds`));
    expect(r.code).toBe(3);
  });

  it('prints exactly the CellResult as JSON with --json', async () => {
    const doc = cliDocument('echo hello');
    const r = await cli(['run', await box.doc('run-json.json', doc), '--json'], { env });
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as CellResult;
    expect(result).toMatchObject({
      cellId: doc.spec.id,
      workflowId: `cell-${doc.spec.id}`,
      hostId: bed.host.config.hostId,
      outcome: { kind: 'exited', code: 0 },
      exitCode: 0,
      stdout: { tail: 'hello\n' },
    });
    // The same result the workflow returned.
    expect(result).toEqual(JSON.parse(JSON.stringify(await bed.client.getHandle(doc.spec.id, result.runId).result())));
  });

  it('exits 3 listing every problem of an invalid document, and starts no workflow', async () => {
    const bad = { ...cliDocument('true', { id: 'cli-invalid-run', spec: { lifetime: {} } }), kind: 'Cell' };
    const r = await cli(['run', await box.doc('run-bad.json', bad)], { env });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('kind: must be "ExecutionCell"');
    expect(r.stderr).toContain('spec.lifetime.ttlSeconds: is required');
    expect(hasStackTrace(r.stderr)).toBe(false);
    await expect(bed.client.temporal.workflow.getHandle('cell-cli-invalid-run').describe()).rejects.toThrow(
      /not found/i,
    );
  });

  it('exits 3 when the host refuses the document (CellRejectedByHost)', async () => {
    const doc = cliDocument('true', { run: { mounts: [{ source: '/etc', destination: '/mnt' }] } });
    const r = await cli(['run', await box.doc('run-mount.json', doc)], { env });
    expect(r.stderr).toContain('CellRejectedByHost');
    expect(r.code).toBe(3);
  });

  it('exits 2 when the cell id is already running', async () => {
    const doc = cliDocument('sleep 30', { run: { limits: { gracefulShutdownSeconds: 1 } } });
    const file = await box.doc('run-twice.json', doc);
    const first = await cli(['run', file, '--no-wait', '--json'], { env });
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ cellId: doc.spec.id, workflowId: `cell-${doc.spec.id}` });

    const again = await cli(['run', file], { env });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`cell ${doc.spec.id} is already running`);

    expect((await cli(['kill', doc.spec.id], { env })).code).toBe(0);
    const result = await bed.client.getHandle(doc.spec.id).result();
    expect(result.outcome).toMatchObject({ kind: 'killed', reason: 'requested with cellos kill' });
  });
});

describe('Ctrl-C during cellos run', () => {
  it('kills the cell with reason "interrupted", waits for its outcome and exits 130', async () => {
    const doc = cliDocument('sleep 30', { run: { limits: { gracefulShutdownSeconds: 1 } } });
    const run = startCli(['run', await box.doc('run-int.json', doc), '--json'], { env });
    await waitForPhase(doc.spec.id, 'running');
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('interrupted: killing cell');
    expect(JSON.parse(r.stdout)).toMatchObject({ outcome: { kind: 'killed', reason: 'interrupted' } });
  });
});

describe('cellos worker', () => {
  it('runs cells from its task queue and stops cleanly with exit 0 on SIGTERM', async () => {
    const hostId = `${box.hostId}-w`;
    const taskQueue = `cli-worker-${hostId}`;
    const worker = startCli(['worker', '--task-queue', taskQueue, '--host-id', hostId, '--max-cells', '2'], {
      env,
      timeoutMs: 60_000,
    });
    try {
      const doc = cliDocument('echo from the worker command');
      const r = await cli(['run', await box.doc('run-worker.json', doc), '--json'], {
        env: { ...env, CELLOS_TASK_QUEUE: taskQueue },
      });
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ hostId, stdout: { tail: 'from the worker command\n' } });
      expect(worker.stderrSoFar()).toContain(`task queues ${taskQueue} and ${taskQueue}@${hostId}, up to 2 cells`);
    } finally {
      worker.child.kill('SIGTERM');
    }
    const w = await worker.done;
    expect(w.code).toBe(0);
    expect(w.stderr).toContain('SIGTERM: stopping the worker');
    const host = await createCellHost({ hostId, stateDir: box.stateDir, defaultRootfs: box.env.CELLOS_DEFAULT_ROOTFS });
    expect(await leftovers(host)).toEqual([]);
  });
});

describe('cellos status and kill', () => {
  it('shows a running cell, kills it with a reason, and then shows its outcome', async () => {
    const doc = cliDocument('echo started; sleep 30', { run: { limits: { gracefulShutdownSeconds: 1 } } });
    const run = startCli(['run', await box.doc('run-kill.json', doc)], { env });

    const report = await waitForPhase(doc.spec.id, 'running');
    expect(report).toMatchObject({
      cellId: doc.spec.id,
      workflowId: `cell-${doc.spec.id}`,
      workflowStatus: 'RUNNING',
      status: { hostId: bed.host.config.hostId },
    });
    const human = await cli(['status', doc.spec.id], { env });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(
      new RegExp(`cell ${doc.spec.id}: running on host ${bed.host.config.hostId} \\(sandbox `),
    );

    const kill = await cli(['kill', doc.spec.id, '--reason', 'from the test'], { env });
    expect(kill.code).toBe(0);
    expect(kill.stderr).toContain('kill sent');

    const r = await run.done;
    expect(r.code).toBe(130);
    expect(r.stdout).toBe('started\n');
    expect(r.stderr).toContain('killed by SIGTERM on request: from the test');

    const after = await cli(['status', doc.spec.id], { env });
    expect(after.code).toBe(0);
    expect(after.stdout).toContain('killed by SIGTERM on request: from the test');
    expect(after.stdout).toContain('COMPLETED');
    const afterJson = JSON.parse((await cli(['status', doc.spec.id, '--json'], { env })).stdout) as {
      result: CellResult;
    };
    expect(afterJson.result.outcome).toMatchObject({ kind: 'killed', reason: 'from the test' });

    const again = await cli(['kill', doc.spec.id], { env });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('is not running');
  });

  it('exits 2 for a cell that never ran', async () => {
    const r = await cli(['status', 'cli-never-ran'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no cell cli-never-ran');
  });

  it('exits 2 with a clear message when no Temporal server listens', async () => {
    const nowhere = { ...env, TEMPORAL_ADDRESS: '127.0.0.1:1' };
    for (const args of [
      ['status', 'x'],
      ['kill', 'x'],
    ]) {
      const r = await cli(args, { env: nowhere });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('no Temporal server at 127.0.0.1:1');
      expect(hasStackTrace(r.stderr)).toBe(false);
    }
  });
});
