// The cell workflow end to end: real dev server, real worker, real runsc; cells that boot their own
// sandbox (cold) and cells run in the host's warm sandboxes (warm: every cell here fits the shape).
import { describe, expect, it } from 'vitest';
import { CellAlreadyRunningError, CellFailedError } from '../../src/client/cell-client.ts';
import { CellDocumentError } from '../../src/document/errors.ts';
import { deadlineDocument, loopScript, rawDocument, shDocument, TRAPPED } from '../helpers/documents.ts';
import { startRunningCell, useTestBed, waitForStatus } from '../helpers/temporal.ts';

const doc = (script: string, run: Record<string, unknown> = {}) => shDocument(script, { prefix: 'wf', run });

describe.each([
  ['cold', 0],
  ['warm', 2],
] as const)('%s sandboxes', (path, warmPoolSize) => {
  const bed = useTestBed({ host: { warmPoolSize }, warmOnly: warmPoolSize > 0 });

  describe('cell workflow', () => {
    it('runs a cell to success and returns its output and phases', async () => {
      const r = await bed.client.run(doc('echo hello'));
      expect(r.outcome).toEqual({ kind: 'exited', code: 0 });
      expect(r.exitCode).toBe(0);
      expect(r.stdout.tail).toBe('hello\n');
      expect(r.hostId).toBe(bed.host.config.hostId);
      expect(r.warmSandbox !== undefined).toBe(path === 'warm');
      expect(r.workflowId).toBe(`cell-${r.cellId}`);
      expect(r.phases.running).toBeGreaterThan(0);
      // The run activity removed the sandbox itself: no separate cleanup step was needed.
      expect(r.phases.cleanup).toBeUndefined();
      expect(r.cleanupError).toBeUndefined();
      expect(Date.parse(r.sandboxEndedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(r.sandboxStartedAt ?? ''));
    });

    it('completes with a non-zero exit as an outcome, not a failure', async () => {
      const r = await bed.client.run(doc('echo bad >&2; exit 3'));
      expect(r.outcome).toEqual({ kind: 'exited', code: 3 });
      expect(r.stderr.tail).toBe('bad\n');
    });

    it('handles an instant exit', async () => {
      const r = await bed.client.run(rawDocument(['/bin/true'], { prefix: 'wf' }));
      expect(r.outcome).toEqual({ kind: 'exited', code: 0 });
    });

    it('kills a TERM-trapping cell at its deadline with SIGTERM', async () => {
      const t0 = Date.now();
      const r = await bed.client.run(deadlineDocument(9, { ttlSeconds: 2, graceSeconds: 5 }, { prefix: 'wf' }));
      expect(r.outcome).toEqual({ kind: 'deadline', signal: 'SIGTERM', exitCode: 9 });
      expect(Date.now() - t0).toBeLessThan(2000 + 3000);
    });

    it('kills a TERM-ignoring cell at its deadline with SIGKILL after the grace', async () => {
      const t0 = Date.now();
      const r = await bed.client.run(deadlineDocument('ignore', { ttlSeconds: 1, graceSeconds: 2 }, { prefix: 'wf' }));
      const took = Date.now() - t0;
      expect(r.outcome).toEqual({ kind: 'deadline', signal: 'SIGKILL' });
      expect(r.phases.killing).toBeGreaterThanOrEqual(2000);
      expect(r.phases.killing).toBeLessThan(3000);
      expect(took).toBeLessThan(1000 + 2000 + 3000);
    });

    it('kills a running cell on request with the reason', async () => {
      const { run } = await startRunningCell(bed, doc(loopScript(4)), { output: TRAPPED });
      await run.kill('operator says stop');
      const r = await run.result();
      expect(r.outcome).toEqual({ kind: 'killed', reason: 'operator says stop', signal: 'SIGTERM' });
    });

    it('cleans up when the workflow is cancelled mid-run', async () => {
      const run = await bed.client.start(doc('sleep 30'));
      await waitForRunning(run.status);
      await bed.client.temporal.workflow.getHandle(run.workflowId).cancel();
      const r = await run.result();
      expect(r.outcome.kind).toBe('cancelled');
      expect(r.cleanupError).toBeUndefined();
    });

    it('answers a status query while the cell runs', async () => {
      const run = await bed.client.start(doc('sleep 1'));
      const status = await waitForRunning(run.status);
      expect(status.hostId).toBe(bed.host.config.hostId);
      expect(status.sandboxId).toMatch(/^wf-/);
      expect(Date.parse(status.sandboxStartedAt ?? '')).toBeGreaterThan(0);
      await run.result();
    });

    it('refuses an invalid document in the client before anything starts', async () => {
      await expect(bed.client.start(doc('true', { workingDirectory: 'relative' }))).rejects.toThrow(CellDocumentError);
    });

    it('fails the workflow with InvalidCellDocument when it is started directly with a bad document', async () => {
      const handle = await bed.client.temporal.workflow.start('cellWorkflow', {
        taskQueue: bed.taskQueue,
        workflowId: `bad-${Date.now()}`,
        args: [
          {
            document: { apiVersion: 'cellos.io/v1', kind: 'ExecutionCell', spec: { id: 'x' } },
            taskQueue: bed.taskQueue,
          },
        ],
      });
      const err = await handle.result().catch((e: unknown) => e);
      expect((err as { cause?: { type?: string } }).cause?.type).toBe('InvalidCellDocument');
      expect(String((err as { cause?: Error }).cause?.message)).toMatch(/spec\.run: is required/);
    });

    it('fails with CellRejectedByHost when the host refuses the document, leaving nothing behind', async () => {
      const err = await bed.client
        .run(doc('true', { mounts: [{ source: '/etc', destination: '/tmp' }] }))
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CellFailedError);
      expect((err as CellFailedError).type).toBe('CellRejectedByHost');
      expect((err as Error).message).toMatch(/not under a host path this worker allows/);
    });

    it('refuses to start a cell whose id is already running, and runs it again once finished', async () => {
      const d = doc('sleep 1');
      const first = await bed.client.start(d);
      await expect(bed.client.start(d)).rejects.toThrow(CellAlreadyRunningError);
      await first.result();
      const again = await bed.client.run(d);
      expect(again.outcome).toEqual({ kind: 'exited', code: 0 });
    });
  });

  describe('logs', () => {
    it('follows the output of a running cell within 2 s, then ends with the cell', async () => {
      const run = await bed.client.start(doc('i=1; while [ $i -le 6 ]; do echo line$i; i=$((i+1)); sleep 0.5; done'));
      const seen: { text: string; at: number }[] = [];
      for await (const chunk of bed.client.logs(run.cellId, { follow: true, pollMs: 200 })) {
        seen.push({ text: chunk.text, at: Date.now() });
      }
      const result = await run.result();
      const all = seen.map((c) => c.text).join('');
      expect(all).toBe('line1\nline2\nline3\nline4\nline5\nline6\n');
      // line1 was written right after the sandbox started; it arrived while the cell still ran.
      const firstAt = seen.find((c) => c.text.includes('line1'))!.at;
      expect(firstAt - Date.parse(result.sandboxStartedAt!)).toBeLessThan(2000);
      expect(firstAt).toBeLessThan(Date.parse(result.sandboxEndedAt!));
    });

    it('shows the captured output of a finished cell', async () => {
      const r = await bed.client.run(doc('echo done-out; echo done-err >&2'));
      const chunks = [];
      for await (const c of bed.client.logs(r.cellId)) chunks.push(c);
      expect(chunks).toEqual([
        { stream: 'stdout', text: 'done-out\n' },
        { stream: 'stderr', text: 'done-err\n' },
      ]);
    });
  });

  /** Running, with its sandbox started (so that signals reach the workload). */
});

const waitForRunning = <T extends { phase: string; sandboxStartedAt?: string | undefined }>(status: () => Promise<T>) =>
  waitForStatus(
    status,
    'running with its sandbox started',
    (s) => s.phase === 'running' && s.sandboxStartedAt !== undefined,
  );
