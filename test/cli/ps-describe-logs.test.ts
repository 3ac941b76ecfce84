// `cellos ps`, `describe`, `logs` and `schedule` against the test run's Temporal dev server, with a
// worker in this process (startTestBed) on its own task queue, which the CLI gets through
// CELLOS_TASK_QUEUE.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { CellScheduleDescription } from '../../src/client/schedules.ts';
import { cellFile } from '../../src/host/cell-files.ts';
import { expectNoLeftovers } from '../helpers/host.ts';
import { startTestBed, type TemporalTestBed } from '../helpers/temporal.ts';
import {
  buildDist,
  cliDocument,
  cli,
  cliSandbox,
  hasStackTrace,
  startCli,
  type CliResult,
  type CliSandbox,
  type Env,
} from './cli-helpers.ts';

let box: CliSandbox;
let bed: TemporalTestBed;
let env: Env;
const UI = 'http://ui.example.test:8233';
const schedules: string[] = [];

beforeAll(async () => {
  await buildDist();
  box = await cliSandbox();
  bed = await startTestBed();
  env = {
    ...box.env,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    CELLOS_TASK_QUEUE: bed.taskQueue,
    CELLOS_UI_URL: UI,
  };
});
afterEach(async () => {
  for (const id of schedules.splice(0)) await bed.client.schedules.delete(id).catch(() => undefined);
  await until(
    'the cells of this file to end',
    () => bed.client.list({ running: true, query: `TaskQueue = '${bed.taskQueue}'` }),
    (r) => r.length === 0,
  );
  await expectNoLeftovers(bed.host);
});
afterAll(async () => {
  await bed?.close();
  await box?.cleanup();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms; last: ${JSON.stringify(v)}`);
    await sleep(300);
  }
}

/** `cellos <args> --json` until its output satisfies `ok`. */
function cliJsonUntil<T>(args: string[], ok: (v: T) => boolean): Promise<T> {
  return until(
    `cellos ${args.join(' ')}`,
    async () => {
      const r = await cli(args, { env });
      if (r.code !== 0) throw new Error(`cellos ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
      return JSON.parse(r.stdout) as T;
    },
    ok,
  );
}

function expectClean(r: CliResult, code: number): void {
  expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(code);
  expect(hasStackTrace(r.stderr)).toBe(false);
}

interface PsRow {
  cellId: string;
  workflowId: string;
  status: string;
  phase?: string;
  outcome?: string;
  exitCode?: number;
  hostId?: string;
  scheduleId?: string;
  startTime: string;
  closeTime?: string;
}

describe('cellos ps', () => {
  it('lists a finished cell with its outcome, exit code and host (--json), and as a table', async () => {
    const result = await bed.client.run(cliDocument('echo hi; exit 3'));
    const hostId = bed.host.config.hostId;
    const rows = await cliJsonUntil<PsRow[]>(['ps', '--json', '--host', hostId], (r) =>
      r.some((c) => c.cellId === result.cellId),
    );
    expect(rows.find((c) => c.cellId === result.cellId)).toMatchObject({
      workflowId: result.workflowId,
      status: 'COMPLETED',
      phase: 'done',
      outcome: 'exited',
      exitCode: 3,
      hostId,
    });
    expect(rows.every((c) => c.hostId === hostId)).toBe(true);

    const exited3 = await cli(['ps', '--json', '--outcome', 'exited', '--host', hostId, '--limit', '1'], { env });
    expectClean(exited3, 0);
    expect(JSON.parse(exited3.stdout)).toHaveLength(1);

    const table = await cli(['ps', '--host', hostId], { env });
    expectClean(table, 0);
    const [header, ...lines] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^CELL ID\s+PHASE\s+OUTCOME\s+EXIT\s+HOST\s+SCHEDULE\s+CORRELATION\s+STARTED\s+DURATION$/);
    expect(lines.find((l) => l.startsWith(`${result.cellId} `))).toMatch(
      new RegExp(
        `^${result.cellId}\\s+done\\s+exited\\s+3\\s+${hostId}\\s+-\\s+-\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ\\s+\\S+$`,
      ),
    );
  });

  it('finds the cells of one pipeline run with --correlation, and never prints a correlation id raw', async () => {
    const withId = (script: string, correlationId: string) => {
      const doc = cliDocument(script);
      return { ...doc, spec: { ...doc.spec, correlation: { correlationId } } };
    };
    const pipeline = `pipeline-${process.pid}-${Date.now()}`;
    const a = await bed.client.run(withId('exit 0', pipeline));
    const b = await bed.client.run(withId('exit 4', pipeline));
    await bed.client.run(cliDocument('exit 0'));
    const rows = await cliJsonUntil<(PsRow & { correlationId?: string })[]>(
      ['ps', '--json', '--correlation', pipeline],
      (r) => r.length === 2,
    );
    expect(rows.map((c) => [c.cellId, c.correlationId, c.exitCode]).sort()).toEqual(
      [
        [a.cellId, pipeline, 0],
        [b.cellId, pipeline, 4],
      ].sort(),
    );

    // Free text of a document: a terminal escape, a space and a line break are shown escaped.
    const hostile = await bed.client.run(withId('exit 0', `x\u001b[2J y\nz`));
    await cliJsonUntil<PsRow[]>(['ps', '--json', '--host', bed.host.config.hostId, '--limit', '5'], (r) =>
      r.some((c) => c.cellId === hostile.cellId),
    );
    const table = await cli(['ps', '--host', bed.host.config.hostId, '--limit', '5'], { env });
    expectClean(table, 0);
    expect(table.stdout).not.toContain('\u001b');
    expect(table.stdout.split('\n').find((l) => l.startsWith(`${hostile.cellId} `))).toContain(
      'x\\u001b[2J\\u0020y\\u000az',
    );

    const quoted = await cli(['ps', '--correlation', "it's"], { env });
    expect(quoted.code).toBe(1);
    expect(quoted.stderr).toContain('--correlation "it\'s" must be 1 to 256 characters without quotes');
  });

  it('shows a running cell with --running, and refuses a bad outcome with exit 1', async () => {
    const run = await bed.client.start(cliDocument('sleep 3'));
    const rows = await cliJsonUntil<PsRow[]>(['ps', '--json', '--running'], (r) =>
      r.some((c) => c.cellId === run.cellId && c.phase === 'running'),
    );
    expect(rows.every((c) => c.status === 'RUNNING')).toBe(true);
    await run.result();

    const bad = await cli(['ps', '--outcome', 'exploded'], { env });
    expectClean(bad, 1);
    expect(bad.stderr).toContain('--outcome "exploded" must be one of exited, signaled, oom');
  });
});

describe('cellos describe', () => {
  it('gives the document, the phases with durations, outcome, host, sandbox and UI link (--json)', async () => {
    const doc = cliDocument('echo described; exit 5');
    const result = await bed.client.run(doc);
    const r = await cli(['describe', doc.spec.id, '--json'], { env });
    expectClean(r, 0);
    const d = JSON.parse(r.stdout) as Record<string, unknown> & { phases: Record<string, number> };
    expect(d).toMatchObject({
      cellId: doc.spec.id,
      workflowId: result.workflowId,
      runId: result.runId,
      workflowStatus: 'COMPLETED',
      document: doc,
      phase: 'done',
      outcome: { kind: 'exited', code: 5 },
      exitCode: 5,
      hostId: bed.host.config.hostId,
      sandboxId: result.sandboxId,
      uiUrl: `${UI}/namespaces/default/workflows/${result.workflowId}/${result.runId}/history`,
    });
    expect(d.phases).toEqual(result.phases);
    expect(d.phases.running).toBeGreaterThan(0);

    const human = await cli(['describe', doc.spec.id], { env });
    expectClean(human, 0);
    expect(human.stdout).toContain(`cell ${doc.spec.id}: workflow ${result.workflowId} run ${result.runId}: COMPLETED`);
    expect(human.stdout).toMatch(/outcome\s+exited 5/);
    expect(human.stdout).toMatch(/phases\s+placing \d+ms, (queued \S+, )?starting \S+, running \S+/);
    expect(human.stdout).toContain(`${UI}/namespaces/default/workflows/`);
    expect(human.stdout).toContain('document:\n{\n  "apiVersion": "cellos.io/v1"');
  });

  it('exits 2 for a cell that does not exist', async () => {
    const r = await cli(['describe', `nothing-${process.pid}`], { env });
    expectClean(r, 2);
    expect(r.stderr).toContain(`no cell nothing-${process.pid}`);
  });
});

describe('cellos logs', () => {
  it("prints a finished cell's stdout to stdout and its stderr to stderr", async () => {
    const doc = cliDocument('echo out-1; echo err-1 >&2; echo out-2');
    await bed.client.run(doc);
    const r = await cli(['logs', doc.spec.id], { env });
    expectClean(r, 0);
    expect(r.stdout).toBe('out-1\nout-2\n');
    expect(r.stderr).toBe('err-1\n');
  });

  it('with -f prints each line of a running cell within 2 s of the cell writing it, and ends with the cell', async () => {
    const doc = cliDocument('i=1; while [ $i -le 12 ]; do echo line$i; i=$((i+1)); sleep 0.5; done');
    const run = await bed.client.start(doc);
    // When each line reached the capture file on the host: the moment it was written.
    const written = new Map<string, number>();
    let watching = true;
    const file = join(bed.host.config.cellsDir, bed.host.sandboxIdFor(doc.spec.id, run.runId), cellFile.stdout);
    const watcher = (async () => {
      while (watching) {
        const text = await readFile(file, 'utf8').catch(() => '');
        for (const line of text.split('\n').filter(Boolean)) if (!written.has(line)) written.set(line, Date.now());
        await sleep(20);
      }
    })();

    const follow = startCli(['logs', '-f', doc.spec.id], { env, timeoutMs: 30_000 });
    const arrived = new Map<string, number>();
    let buffered = '';
    follow.child.stdout!.on('data', (d: Buffer | string) => {
      buffered += String(d);
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) arrived.set(line, Date.now());
    });
    const r = await follow.done;
    watching = false;
    await watcher;
    expectClean(r, 0);
    const all = Array.from({ length: 12 }, (_, i) => `line${i + 1}`);
    expect(r.stdout).toBe(all.map((l) => `${l}\n`).join(''));
    // Lines written once the command was following (earlier ones waited for it to start).
    const firstArrival = Math.min(...arrived.values());
    const followed = all.filter((l) => written.get(l)! >= firstArrival);
    expect(followed.length).toBeGreaterThanOrEqual(4);
    const lags = followed.map((l) => arrived.get(l)! - written.get(l)!);
    expect(Math.max(...lags), `lags: ${lags.join(', ')} ms`).toBeLessThan(2000);
  });
});

describe('cellos schedule', () => {
  it('creates, describes, triggers, lists, pauses, backfills and deletes a schedule', async () => {
    const id = `cli-sched-${process.pid}`;
    schedules.push(id);
    const doc = cliDocument('echo from-schedule');
    const file = await box.doc('scheduled.json', doc);

    const created = await cli(['schedule', 'create', id, '--every', '1h', '--paused', '--note', 'cli test', file], {
      env,
    });
    expectClean(created, 0);
    expect(created.stdout).toMatch(new RegExp(`^schedule ${id}\\n`));
    expect(created.stdout).toMatch(/when\s+every 1h/);
    expect(created.stdout).toMatch(/state\s+paused: cli test/);
    expect(created.stderr).toContain(`schedule ${id} created: it runs cell ${doc.spec.id}: every 1h (paused)`);

    const again = await cli(['schedule', 'create', id, '--every', '1h', file], { env });
    expectClean(again, 2);
    expect(again.stderr).toContain(`schedule ${id} already exists`);

    expectClean(await cli(['schedule', 'trigger', id], { env }), 0);
    const described = await cliJsonUntil<CellScheduleDescription>(
      ['schedule', 'describe', id, '--json'],
      (d) => d.recentRuns.length === 1 && d.recentRuns[0]!.status === 'COMPLETED',
    );
    expect(described).toMatchObject({
      scheduleId: id,
      cellId: doc.spec.id,
      document: doc,
      taskQueue: bed.taskQueue,
      paused: true,
      overlap: 'skip',
      recentRuns: [{ status: 'COMPLETED', outcome: { kind: 'exited', code: 0 } }],
    });
    const workflowId = described.recentRuns[0]!.workflowId;
    expect(workflowId.startsWith(`cell-${doc.spec.id}-`)).toBe(true);

    const human = await cli(['schedule', 'describe', id], { env });
    expectClean(human, 0);
    expect(human.stdout).toMatch(/recent runs:\n\s+SCHEDULED\s+WORKFLOW\s+STATUS\s+OUTCOME\n/);
    expect(human.stdout).toMatch(new RegExp(`${workflowId}\\s+COMPLETED\\s+exited 0`));

    // The run is a cell like any other: ps, describe and logs find it.
    const ps = await cliJsonUntil<PsRow[]>(['ps', '--json', '--schedule', id], (r) => r.length === 1);
    expect(ps[0]).toMatchObject({ cellId: doc.spec.id, workflowId, scheduleId: id, outcome: 'exited' });
    const logs = await cli(['logs', workflowId], { env });
    expectClean(logs, 0);
    expect(logs.stdout).toBe('from-schedule\n');

    const listed = await cliJsonUntil<{ scheduleId: string; cellId: string; paused: boolean }[]>(
      ['schedule', 'list', '--json'],
      (l) => l.some((s) => s.scheduleId === id),
    );
    expect(listed.find((s) => s.scheduleId === id)).toMatchObject({ cellId: doc.spec.id, paused: true });

    const state = () => bed.client.schedules.describe(id);
    expectClean(await cli(['schedule', 'unpause', id, '--note', 'resumed'], { env }), 0);
    await until('the schedule to show unpaused', state, (d) => !d.paused && d.note === 'resumed');
    expectClean(await cli(['schedule', 'pause', id], { env }), 0);
    await until('the schedule to show paused', state, (d) => d.paused && d.note === 'paused with cellos');

    const at = Math.floor(Date.now() / 3_600_000) * 3_600_000; // the last full hour: one time of `every 1h`
    const backfill = await cli(
      [
        'schedule',
        'backfill',
        id,
        '--from',
        new Date(at - 60_000).toISOString(),
        '--to',
        new Date(at + 60_000).toISOString(),
      ],
      { env },
    );
    expectClean(backfill, 0);
    await until(
      'the backfilled run',
      () => bed.client.schedules.describe(id),
      (d) => d.recentRuns.length === 2 && d.recentRuns.every((r) => r.status === 'COMPLETED'),
    );

    const deleted = await cli(['schedule', 'delete', id], { env });
    expectClean(deleted, 0);
    expect(deleted.stderr).toContain(`schedule ${id} deleted`);
    const gone = await cli(['schedule', 'describe', id], { env });
    expectClean(gone, 2);
    expect(gone.stderr).toContain(`no schedule ${id}`);
  });

  it('refuses --overlap terminate-other with exit 1 and the reason, and creates nothing', async () => {
    const id = `cli-sched-term-${process.pid}`;
    schedules.push(id);
    const file = await box.doc('term.json', cliDocument('true'));
    const r = await cli(['schedule', 'create', id, '--every', '1m', '--overlap', 'terminate-other', file], { env });
    expectClean(r, 1);
    expect(r.stderr).toContain(
      "overlap policy 'terminate-other' is refused: terminating a cell's workflow skips its cleanup",
    );
    expectClean(await cli(['schedule', 'describe', id], { env }), 2);
  });

  it('exits 3 on an invalid document and 1 without --cron or --every, creating nothing', async () => {
    const id = `cli-sched-bad-${process.pid}`;
    schedules.push(id);
    const bad = await cli(['schedule', 'create', id, '--every', '1m', await box.doc('bad.json', { kind: 'Cell' })], {
      env,
    });
    expectClean(bad, 3);
    expect(bad.stderr).toContain('invalid cell document');
    const neither = await cli(['schedule', 'create', id, await box.doc('ok.json', cliDocument('true'))], { env });
    expectClean(neither, 1);
    expect(neither.stderr).toContain('needs cron or every');
    expectClean(await cli(['schedule', 'describe', id], { env }), 2);
  });
});
