// npm run bench:timeline [-- --cells=20 --series=temporal-warm]
//
// Where a cell's time goes through Temporal, step by step, from the cells' own histories: the
// median time of each event after the workflow's start (the server's clock), and the client's
// start-to-result time. Same rig as `npm run bench`; prints a table, asserts nothing.
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { startRig } from './rig.ts';
import { settle } from './settle.ts';
import { summarize } from './stats.ts';
import { renderTable } from './table.ts';

const EventType = proto.temporal.api.enums.v1.EventType;

async function main() {
  const { values } = parseArgs({
    options: { cells: { type: 'string', default: '20' }, series: { type: 'string', default: 'temporal-warm' } },
  });
  const cells = Number(values.cells);
  const series = values.series === 'temporal-cold' ? 'temporal-cold' : 'temporal-warm';
  const progress = (line: string) => process.stderr.write(`timeline: ${line}\n`);
  const { rig, close } = await startRig({ poolSize: 4, rawInFlight: 1, progress });
  const connection = await Connection.connect({ address: rig.server.address });
  try {
    const client = new Client({ connection });
    const since = new Date();
    const total: number[] = [];
    for (let i = 0; i < cells + 3; i++) {
      await settle(rig.hosts, rig.pool, 10_000, 30_000);
      const t0 = performance.now();
      await rig.runCell(series);
      if (i >= 3) total.push(performance.now() - t0);
    }
    const at = new Map<string, number[]>();
    let n = 0;
    for await (const wf of client.workflow.list({ query: `StartTime >= "${since.toISOString()}"` })) {
      const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      const events = history.events ?? [];
      const t = (e: (typeof events)[number]) => Number(e.eventTime!.seconds) * 1000 + e.eventTime!.nanos! / 1e6;
      const start = t(events[0]!);
      const seen = new Map<string, number>();
      for (const e of events) {
        const name = EventType[e.eventType!]!.replace(/^EVENT_TYPE_/, '').toLowerCase();
        const activity = e.activityTaskScheduledEventAttributes?.activityType?.name;
        const k = (seen.get(name) ?? 0) + 1;
        seen.set(name, k);
        const label = `${name} #${k}${activity ? ` (${activity})` : ''}`;
        at.set(label, [...(at.get(label) ?? []), t(e) - start]);
      }
      n++;
    }
    const rows = [...at.entries()]
      .map(([label, ms]) => ({ label, p50: summarize(ms).p50, count: ms.length }))
      .sort((a, b) => a.p50 - b.p50)
      .map((r) => [r.label, r.p50.toFixed(1), String(r.count)]);
    console.log(`${n} workflows (${series}); client start to result p50 ${summarize(total).p50.toFixed(1)} ms`);
    console.log(renderTable(['event (n-th of its type)', 'p50 ms after start', 'cells'], rows));
  } finally {
    await connection.close();
    await close();
  }
}

await main();
