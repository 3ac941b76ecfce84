// Any Temporal client starts a cell: here the Temporal CLI, with nothing but the CellOS document
// (wrapped or bare), against a real worker: the cell runs to its exit code, search attributes and
// host timeout come from the worker, a bad input fails at once, and signals and queries work.
import { describe, expect, it } from 'vitest';
import { CELL_WORKFLOW_TYPE } from '../../src/contract/index.ts';
import { rawDocument } from '../helpers/documents.ts';
import { expectMatchesSchema } from '../helpers/contract-schemas.ts';
import { temporalCli } from '../helpers/temporal-cli.ts';
import { useTestBed } from '../helpers/temporal.ts';
import { until } from '../helpers/wait.ts';

const bed = useTestBed();

const temporal = (args: string[]) => temporalCli('workflow', args);

/** `temporal workflow <verb>` of cellWorkflow on the bed's task queue, with `input` as JSON text. */
function cellCommand(verb: 'execute' | 'start', workflowId: string, input: string, ...more: string[]) {
  return temporal([
    verb,
    '--type',
    CELL_WORKFLOW_TYPE,
    '--task-queue',
    bed.taskQueue,
    '--workflow-id',
    workflowId,
    '--input',
    input,
    ...more,
  ]);
}

const sh = (script: string) => rawDocument(['/bin/sh', '-c', script], { prefix: 'anyclient' });

/** The workflow's result as `temporal workflow execute -o json` prints it. */
function resultOf(stdout: string): {
  outcome: { kind: string; code?: number };
  stdout: { tail: string };
  cellId: string;
} {
  return (JSON.parse(stdout) as { result: ReturnType<typeof resultOf> }).result;
}

describe('a cell started by the Temporal CLI', () => {
  it('runs from {"document": ...} alone to its exit code, with the search attributes the worker found', async () => {
    const doc = sh('echo from-cli; exit 3');
    const out = await cellCommand(
      'execute',
      `cell-${doc.spec.id}`,
      JSON.stringify({ document: doc }),
      '--output',
      'json',
    );
    expect(out.stderr).toBe('');
    const result = resultOf(out.stdout);
    // The payload as stored (the CLI's own printout shows empty arrays as null) is what schemas/ promises.
    expectMatchesSchema('result', await bed.client.temporal.workflow.getHandle(`cell-${doc.spec.id}`).result());
    expect(result.outcome).toEqual({ kind: 'exited', code: 3 });
    expect(result.stdout.tail).toBe('from-cli\n');
    // The namespace has the attributes: the worker said so, so the cell is findable by its outcome.
    const found = await until(
      'the cell listed by outcome',
      () => bed.client.list({ cellId: doc.spec.id, outcome: 'exited', exitCode: 3 }),
      (f) => f.length === 1,
    );
    expect(found[0]).toMatchObject({ phase: 'done', hostId: bed.host.config.hostId });
  });

  it('runs from the bare document too', async () => {
    const doc = sh('exit 0');
    const out = await cellCommand('execute', `cell-${doc.spec.id}`, JSON.stringify(doc), '--output', 'json');
    expect(resultOf(out.stdout).outcome).toEqual({ kind: 'exited', code: 0 });
  });

  it('fails at once, naming the problem, on an input that is no document', async () => {
    for (const [input, says] of [
      ['42', 'the input is number'],
      ['{"hello":1}', 'the input has no "document" and is not a CellOS document'],
      [JSON.stringify({ document: sh('true'), taskQueue: 7 }), 'input.taskQueue must be a non-empty string'],
    ] as const) {
      const t0 = Date.now();
      const workflowId = `bad-input-${process.pid}-${Date.now()}`;
      const out = await cellCommand('execute', workflowId, input);
      expect(out.code).not.toBe(0);
      expect(`${out.stdout}${out.stderr}`).toContain(says);
      const failure = await bed.client.temporal.workflow
        .getHandle(workflowId)
        .result()
        .then(
          () => undefined,
          (err: { cause?: { type?: string } }) => err.cause,
        );
      expect(failure?.type).toBe('InvalidCellDocument');
      expect(Date.now() - t0).toBeLessThan(15_000);
    }
  });

  it('answers the status query and obeys the kill signal from the CLI', async () => {
    const doc = sh('sleep 30');
    const workflowId = `cell-${doc.spec.id}`;
    const started = await cellCommand('start', workflowId, JSON.stringify({ document: doc }));
    expect(started.code).toBe(0);
    await until(
      'the status query saying running',
      () => temporal(['query', '--workflow-id', workflowId, '--type', 'status', '--output', 'json']),
      (q) => q.code === 0 && q.stdout.includes('"phase": "running"'),
    );
    const signalled = await temporal([
      'signal',
      '--workflow-id',
      workflowId,
      '--name',
      'kill',
      '--input',
      '{"reason":"from the cli"}',
    ]);
    expect(signalled.code).toBe(0);
    const result = await bed.client.temporal.workflow.getHandle(workflowId).result();
    expect(result.outcome).toMatchObject({ kind: 'killed', reason: 'from the cli' });
  });
});
