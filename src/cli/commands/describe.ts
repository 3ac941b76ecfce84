// `cellos describe <cell-id|workflow-id> [--json]`: the latest run of a cell: the document it was
// given, its phases and their durations, its outcome, host and sandbox, and where the UI shows it.
import type { CellDescription } from '../../client/describe.ts';
import { describeOutcome } from '../../cell/outcome.ts';
import { withCellClient } from '../client.ts';
import { failure } from '../exit.ts';
import { formatMs, formatPhases, formatTime } from '../format.ts';
import { workflowUiUrl, type CliIo } from '../io.ts';
import { createProgress } from '../progress.ts';

export interface DescribeOptions {
  /** A cell id, or the workflow id of one run. */
  readonly ref: string;
  readonly json: boolean;
}

export type DescribeReport = CellDescription & { readonly uiUrl: string };

export interface DescribeOutput {
  readonly exitCode: 0;
  readonly report: DescribeReport;
}

const DEFAULT_UI = 'http://localhost:8233';

export async function describe(opts: DescribeOptions, io: CliIo): Promise<DescribeOutput> {
  return withCellClient(io, async ({ client }, target) => {
    const { namespace, address } = target.connection;
    const progress = io.stderr.isTTY ? createProgress(io.stderr) : undefined;
    progress?.set(`looking up cell ${opts.ref}`);
    const d = await client.describe(opts.ref).finally(() => progress?.finish());
    if (!d) throw failure(`no cell ${opts.ref} on ${address} (namespace ${namespace})`);
    const report: DescribeReport = {
      ...d,
      uiUrl: workflowUiUrl(target.uiBase ?? DEFAULT_UI, namespace, d.workflowId, d.runId),
    };
    io.stdout.write(`${opts.json ? JSON.stringify(report) : humanDescription(report)}\n`);
    return { exitCode: 0, report };
  });
}

function humanDescription(r: DescribeReport): string {
  const ended = r.closeTime ? Date.parse(r.closeTime) : Date.now();
  const took = formatMs(ended - Date.parse(r.startTime));
  const state = r.outcome
    ? describeOutcome(r.outcome)
    : r.failure
      ? `ended without an outcome: ${r.failure.type ? `${r.failure.type}: ` : ''}${r.failure.message}`
      : (r.phase ?? r.workflowStatus.toLowerCase());
  const rows: [string, string][] = [
    ['outcome', r.workflowStatus === 'RUNNING' ? `(running) ${r.phase ?? ''}`.trim() : state],
    ['host', r.hostId ?? '-'],
    ['sandbox', r.sandboxId ?? '-'],
    ['schedule', r.scheduleId ?? '-'],
    ['started', formatTime(r.startTime)],
    [r.closeTime ? 'ended' : 'running for', r.closeTime ? `${formatTime(r.closeTime)} (after ${took})` : took],
    ['phases', formatPhases(r.phases)],
    ['task queue', r.taskQueue],
    ['ui', r.uiUrl],
  ];
  if (r.killRequested) rows.splice(1, 0, ['kill requested', r.killRequested]);
  if (r.cleanupError) rows.push(['cleanup error', r.cleanupError]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return [
    `cell ${r.cellId}: workflow ${r.workflowId} run ${r.runId}: ${r.workflowStatus}`,
    ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
    'document:',
    JSON.stringify(r.document, null, 2),
  ].join('\n');
}
