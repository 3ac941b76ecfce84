// `cellos hosts [--json]`: the hosts of the cluster, their labels, room, running cells, drain state
// and last poll; `cellos drain <host> [--undo]`: stop (or resume) giving a host new cells.
import type { HostRow } from '../../client/hosts.ts';
import { withCellClient } from '../client.ts';
import { failure } from '../exit.ts';
import { formatTable, formatTime } from '../format.ts';
import type { CliIo } from '../io.ts';

export interface HostsOptions {
  readonly json: boolean;
}

export interface HostsOutput {
  readonly exitCode: 0;
  readonly hosts: readonly HostRow[];
}

export async function hosts(opts: HostsOptions, io: CliIo): Promise<HostsOutput> {
  return withCellClient(io, async (open) => {
    const { describeHosts } = await import('../../client/hosts.ts');
    const rows = await describeHosts(open.client.temporal, open.client.taskQueue);
    if (opts.json) io.stdout.write(`${JSON.stringify(rows)}\n`);
    else if (rows.length === 0) {
      io.stdout.write(`no host polls task queue ${open.client.taskQueue} (start one with cellos worker)\n`);
    } else io.stdout.write(`${hostTable(rows)}\n`);
    return { exitCode: 0, hosts: rows };
  });
}

export interface DrainOptions {
  readonly hostId: string;
  readonly undo: boolean;
  readonly reason: string | undefined;
}

export async function drain(opts: DrainOptions, io: CliIo): Promise<HostsOutput> {
  return withCellClient(io, async (open) => {
    const { describeHosts } = await import('../../client/hosts.ts');
    const rows = await describeHosts(open.client.temporal, open.client.taskQueue, {
      hostIds: [opts.hostId],
      setDraining: { draining: !opts.undo, reason: opts.reason },
    });
    const row = rows[0]!;
    if (!row.status) {
      throw failure(
        `host ${opts.hostId} did not answer on task queue ${open.client.taskQueue}: ${row.error ?? 'no answer'} (is its worker running? cellos hosts lists the hosts)`,
      );
    }
    const s = row.status;
    io.stdout.write(
      opts.undo
        ? `host ${s.hostId}: taking new cells again (${s.cells}/${s.maxCells} cells running)\n`
        : `host ${s.hostId}: draining since ${formatTime(s.draining?.since)}: no new cells; ${s.cells} running cell(s) finish there (cellos drain --undo ${s.hostId} ends it)\n`,
    );
    return { exitCode: 0, hosts: rows };
  });
}

const GiB = 1024 ** 3;

function hostTable(rows: readonly HostRow[]): string {
  return formatTable(
    ['HOST', 'LABELS', 'STATE', 'CELLS', 'MEMORY GiB', 'MOST', 'LAST SEEN', 'PROCESS'],
    rows.map((r) => {
      const s = r.status;
      const labels = Object.entries(s?.labels ?? r.seen?.labels ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      const state = !s
        ? `no answer${r.error ? `: ${r.error}` : ''}`
        : s.stopping
          ? 'stopping'
          : s.draining
            ? `draining (${s.draining.reason})`
            : 'ready';
      return [
        r.hostId,
        labels || '-',
        state,
        s ? `${s.cells}/${s.maxCells}` : '-',
        s ? `${(s.memoryInUseBytes / GiB).toFixed(1)}/${(s.memoryBudgetBytes / GiB).toFixed(1)}` : '-',
        s ? String(s.mostCells) : '-',
        formatTime(r.seen?.lastSeen),
        s?.process ?? '-',
      ];
    }),
  );
}
