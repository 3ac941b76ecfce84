// A cluster of one process per service (frontend, history, matching, worker), as large deployments
// run it, and a restart of a single service under a running cell.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type ClusterService, type TestCluster } from '../helpers/cluster.ts';
import { shDocument } from '../helpers/documents.ts';
import { expectNoLeftovers } from '../helpers/host.ts';
import { startTestBed, waitForPhase, type TemporalTestBed } from '../helpers/temporal.ts';

let cluster: TestCluster | undefined;
let bed: TemporalTestBed | undefined;

beforeAll(async () => {
  cluster = await startTestCluster({ split: true });
  bed = await startTestBed({ address: cluster.address });
});

afterAll(async () => {
  await bed?.close();
  await cluster?.stop();
});

describe('a cluster of one process per service', () => {
  it('runs cells', async () => {
    expect((await bed!.client.run(shDocument('exit 2'))).outcome).toEqual({ kind: 'exited', code: 2 });
    await expectNoLeftovers(bed!.host);
  });

  it.each<ClusterService>(['history', 'matching'])(
    'lets a running cell finish with its true outcome across a restart of the %s service',
    async (service) => {
      const run = await bed!.client.start(shDocument(`echo ${service}; sleep 6; exit 6`));
      await waitForPhase(() => run.status(), 'running');
      expect(await cluster!.restart(service)).toMatch(new RegExp(`stopped ${service} in \\d+ ms`));
      const r = await run.result();
      expect(r.outcome).toEqual({ kind: 'exited', code: 6 });
      expect(r.stdout.tail).toBe(`${service}\n`);
      expect((await bed!.client.run(shDocument('exit 1'))).outcome).toEqual({ kind: 'exited', code: 1 });
      await expectNoLeftovers(bed!.host);
    },
  );
});
