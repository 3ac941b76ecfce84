// Fault injection: the host's runsc is test/fixtures/bin/runsc, a wrapper that fails the first N
// `delete` or `kill` calls and then passes through. Proves that the workflow retries what failed,
// and still leaves nothing behind.
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deadlineDocument, rawDocument, shDocument } from '../helpers/documents.ts';
import { expectNoLeftovers, repoRoot } from '../helpers/host.ts';
import {
  activityAttempts,
  fetchHistory,
  startTestBed,
  startRunningCell,
  type TemporalTestBed,
} from '../helpers/temporal.ts';

const wrapper = join(repoRoot, 'test', 'fixtures', 'bin', 'runsc');

let bed: TemporalTestBed;
let faultDir: string;

/** The wrapper's settings for the next calls; counters start again from zero. */
async function injectFaults(faults: { deleteFails?: number; killFails?: number; runFails?: number }): Promise<void> {
  await Promise.all(
    ['delete.count', 'kill.count', 'run.count', 'calls.log'].map((f) => rm(join(faultDir, f), { force: true })),
  );
  await writeFile(
    join(faultDir, 'faults.env'),
    `DELETE_FAILS=${faults.deleteFails ?? 0}\nKILL_FAILS=${faults.killFails ?? 0}\nRUN_FAILS=${faults.runFails ?? 0}\n`,
  );
}

async function counter(name: 'delete' | 'kill' | 'run'): Promise<number> {
  return Number((await readFile(join(faultDir, `${name}.count`), 'utf8').catch(() => '0')).trim());
}

/** What the wrapper saw, in order: "delete fail", "delete pass", "kill fail", ... */
async function calls(sub: string): Promise<string[]> {
  const log = await readFile(join(faultDir, 'calls.log'), 'utf8').catch(() => '');
  return log.split('\n').filter((l) => l.startsWith(`${sub} `));
}

beforeAll(async () => {
  // The wrapper takes its fault dir from the folder it is invoked from: a symlink here makes this
  // folder hold its settings and counters, with no environment variable to share with the worker.
  faultDir = await mkdtemp(join(tmpdir(), 'cellos-faults-'));
  await symlink(wrapper, join(faultDir, 'runsc'));
  await injectFaults({});
  bed = await startTestBed({ host: { runscPath: join(faultDir, 'runsc') } });
});
beforeEach(async () => {
  await injectFaults({});
});
afterEach(async () => {
  await injectFaults({});
  await expectNoLeftovers(bed.host);
});
afterAll(async () => {
  await bed?.close();
  if (faultDir) await rm(faultDir, { recursive: true, force: true });
});

const doc = (script: string, run: Record<string, unknown> = {}) => shDocument(script, { prefix: 'fault', run });

describe('runsc faults', () => {
  it('runs cells through the wrapper when it injects nothing', async () => {
    const r = await bed.client.run(doc('echo through the wrapper'));
    expect(r.outcome).toEqual({ kind: 'exited', code: 0 });
    expect(r.stdout.tail).toBe('through the wrapper\n');
  });

  it('launches again, with backoff, when runsc fails to start the sandbox, and runs the workload once', async () => {
    await injectFaults({ runFails: 2 });
    const run = await bed.client.start(doc('echo ran-once'));
    const r = await run.result();
    expect(r.outcome).toEqual({ kind: 'exited', code: 0 });
    expect(r.stdout.tail).toBe('ran-once\n');
    expect(await counter('run')).toBe(2);
    expect(await calls('run')).toEqual(['run fail', 'run fail', 'run pass']);
    const history = await fetchHistory(bed, run.workflowId, run.runId);
    // Completed attempts only leave their last attempt in the history: the third.
    expect(activityAttempts(history, 'runSandbox')).toEqual([3]);
  });

  it("keeps a missing program as the cell's own outcome instead of launching again", async () => {
    await injectFaults({});
    const r = await bed.client.run(rawDocument(['/no/such/program'], { prefix: 'fault' }));
    expect(r.outcome.kind).toBe('failed');
    expect(JSON.stringify(r.outcome)).toMatch(/failed to load \/no\/such\/program/);
    expect(await calls('run')).toEqual(['run pass']);
  });

  it('retries removeSandbox until runsc delete succeeds when a cancelled cell is still running', async () => {
    // Every kill fails, so the cell is still running when the cleanup removes it: `runsc delete --force`
    // must stop it, and it fails twice before it works. (Had a kill worked, runsc run would already have
    // removed its container and the host would skip the delete.)
    await injectFaults({ deleteFails: 2, killFails: 1_000_000 });
    const t0 = Date.now();
    const { run } = await startRunningCell(bed, doc('sleep 30', { limits: { gracefulShutdownSeconds: 1 } }));
    await bed.client.temporal.workflow.getHandle(run.workflowId, run.runId).cancel();
    const r = await run.result();
    expect(r.outcome).toEqual({ kind: 'cancelled', reason: 'the workflow was cancelled' });
    expect(r.cleanupError).toBeUndefined();
    // Stopped by the delete, not by `sleep 30` ending.
    expect(Date.now() - t0).toBeLessThan(25_000);
    expect(await counter('kill')).toBeGreaterThan(0);
    expect(await calls('kill')).not.toContain('kill pass');
    expect(await counter('delete')).toBe(2);
    expect((await calls('delete')).slice(0, 3)).toEqual(['delete fail', 'delete fail', 'delete pass']);
    // The server retried the activity: its one recorded start is attempt 3 or later. Later because the
    // runsc here (release 20221219) stops a container that `runsc run` still holds on delete --force,
    // but then fails with "stopping container: context deadline exceeded" after 5 s; the next attempt
    // finds it gone.
    const history = await fetchHistory(bed, run.workflowId, run.runId);
    const [attempt, ...more] = activityAttempts(history, 'removeSandbox');
    expect(more).toEqual([]);
    expect(attempt).toBeGreaterThanOrEqual(3);
  }, 45_000);

  it('keeps sending SIGTERM within the grace when runsc kill fails, so a deadline still ends with SIGTERM', async () => {
    await injectFaults({ killFails: 2 });
    const r = await bed.client.run(deadlineDocument(9, { ttlSeconds: 1, graceSeconds: 10 }, { prefix: 'fault' }));
    expect(r.outcome).toEqual({ kind: 'deadline', signal: 'SIGTERM', exitCode: 9 });
    expect(r.cleanupError).toBeUndefined();
    expect(await counter('kill')).toBe(2);
    expect((await calls('kill')).slice(0, 3)).toEqual(['kill fail', 'kill fail', 'kill pass']);
    // Retried inside one killSandbox activity, not by the server.
    const history = await fetchHistory(bed, r.workflowId, r.runId);
    expect(activityAttempts(history, 'killSandbox')).toEqual([1]);
  });
});
