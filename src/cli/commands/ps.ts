// `cellos ps [--outcome O] [--host H] [--schedule S] [--correlation C] [--running] [--limit N] [--json]`: running cells
// first, then the most recently closed, from Temporal's visibility (the search attributes the cell
// workflow keeps current; a namespace without them gets what its own attributes can say).
import type { CellSummary } from '../../client/visibility.ts';
import { withCellClient } from '../client.ts';
import { formatMs, formatTable, formatTime, printable } from '../format.ts';
import type { CliIo } from '../io.ts';

export interface PsOptions {
  readonly outcome: string | undefined;
  readonly hostId: string | undefined;
  readonly scheduleId: string | undefined;
  readonly correlationId?: string | undefined;
  readonly running: boolean;
  readonly limit: number;
  readonly json: boolean;
}

export interface PsOutput {
  readonly exitCode: 0;
  readonly cells: readonly CellSummary[];
}

export async function ps(opts: PsOptions, io: CliIo): Promise<PsOutput> {
  return withCellClient(io, async ({ client }, target) => {
    const indexed = await client.hasSearchAttributes();
    const cells = await client.list({
      outcome: opts.outcome,
      hostId: opts.hostId,
      scheduleId: opts.scheduleId,
      correlationId: opts.correlationId,
      running: opts.running,
      limit: opts.limit,
    });
    if (opts.json) {
      io.stdout.write(`${JSON.stringify(cells)}\n`);
    } else {
      io.stdout.write(`${psTable(cells)}\n`);
      if (!indexed) {
        io.stderr.write(
          `cellos: namespace ${target.connection.namespace} has no cell search attributes: phase, outcome, host and correlation id are not shown\n`,
        );
      }
    }
    return { exitCode: 0, cells };
  });
}

export function psTable(cells: readonly CellSummary[], now = Date.now()): string {
  return formatTable(
    ['CELL ID', 'PHASE', 'OUTCOME', 'EXIT', 'HOST', 'SCHEDULE', 'CORRELATION', 'STARTED', 'DURATION'],
    cells.map((c) => [
      c.cellId,
      phaseOf(c),
      c.outcome ?? '-',
      c.exitCode === undefined ? '-' : String(c.exitCode),
      c.hostId ?? '-',
      c.scheduleId ?? '-',
      c.correlationId === undefined ? '-' : printable(c.correlationId),
      formatTime(c.startTime),
      formatMs((c.closeTime?.getTime() ?? now) - c.startTime.getTime()) + (c.closeTime ? '' : '+'),
    ]),
  );
}

/** The phase the workflow last recorded; for a workflow that ended without finishing (terminated,
 * timed out, failed early), how it ended. */
function phaseOf(c: CellSummary): string {
  if (c.status === 'RUNNING') return c.phase ?? 'running';
  if (c.status === 'COMPLETED' || c.phase === 'done') return c.phase ?? 'done';
  return c.status.toLowerCase().replace(/_/g, '-');
}
