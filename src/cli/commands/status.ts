// `cellos status <cell-id> [--json]`: the latest run of a cell: its live status while it runs, its
// outcome once it has ended.
import type { CellResult, CellStatus } from '../../contract/index.ts';
import { describeOutcome } from '../../cell/outcome.ts';
import { findCellRun, withCellClient } from '../client.ts';
import { describeStatus, formatSeconds } from '../format.ts';
import type { CliIo } from '../io.ts';

export interface StatusOptions {
  readonly cellId: string;
  readonly json: boolean;
}

export interface StatusReport {
  readonly cellId: string;
  readonly workflowId: string;
  readonly runId: string;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, TERMINATED, ... */
  readonly workflowStatus: string;
  readonly startTime: string;
  readonly closeTime: string | undefined;
  /** While it runs, when a worker answered the status query. */
  readonly status?: CellStatus;
  /** Once it completed. */
  readonly result?: CellResult;
  /** When it ended without a result. */
  readonly failure?: { readonly type: string | undefined; readonly message: string };
}

export interface StatusOutput {
  readonly exitCode: 0;
  readonly report: StatusReport;
}

const QUERY_DEADLINE_MS = 5000;

export async function status(opts: StatusOptions, io: CliIo): Promise<StatusOutput> {
  return withCellClient(io, async (open, target) => {
    const found = await findCellRun(open.client, target, opts.cellId);
    const desc = found.description;
    const workflowId = desc.workflowId;
    const base = {
      cellId: opts.cellId,
      workflowId,
      runId: desc.runId,
      workflowStatus: desc.status.name,
      startTime: desc.startTime.toISOString(),
      closeTime: desc.closeTime?.toISOString(),
    };
    const run = found.run;
    let report: StatusReport;
    let note: string | undefined;
    if (desc.status.name === 'RUNNING') {
      const live = await open
        .withDeadline(QUERY_DEADLINE_MS, () => run.status())
        .catch((err: unknown) => {
          note = `no worker answered the status query (${(err as Error).message.split('\n')[0]}): is a worker running on task queue ${open.client.taskQueue}?`;
          return undefined;
        });
      report = { ...base, ...(live ? { status: live } : {}) };
    } else {
      report = await run.result().then(
        (result): StatusReport => ({ ...base, result }),
        (err: unknown): StatusReport => ({
          ...base,
          failure: { type: (err as { type?: string }).type, message: (err as Error).message },
        }),
      );
    }

    if (opts.json) {
      io.stdout.write(`${JSON.stringify(report)}\n`);
    } else {
      io.stdout.write(`${humanStatus(report)}\n`);
    }
    if (note) io.stderr.write(`cellos: ${note}\n`);
    return { exitCode: 0, report };
  });
}

function humanStatus(r: StatusReport): string {
  const run = `workflow ${r.workflowId} run ${r.runId}: ${r.workflowStatus}`;
  if (r.workflowStatus === 'RUNNING') {
    const since = `started ${formatSeconds(Date.now() - Date.parse(r.startTime))} ago`;
    const kill = r.status?.killRequested !== undefined ? `\nkill requested: ${r.status.killRequested}` : '';
    return `cell ${r.cellId}: ${r.status ? describeStatus(r.status) : 'running'}\n${run}, ${since}${kill}`;
  }
  if (r.result) {
    const took = formatSeconds(Date.parse(r.result.endedAt) - Date.parse(r.result.startedAt));
    const host = r.result.hostId ? ` on host ${r.result.hostId}` : '';
    return `cell ${r.cellId}: ${describeOutcome(r.result.outcome)} after ${took}${host}\n${run} at ${r.closeTime ?? '?'}`;
  }
  const why = r.failure ? `${r.failure.type ? `${r.failure.type}: ` : ''}${r.failure.message}` : 'no result';
  return `cell ${r.cellId}: ended without an outcome: ${why}\n${run} at ${r.closeTime ?? '?'}`;
}
