// Artifacts of a cell that did not end by itself, through Temporal: CellOS exports after the run on
// every outcome where the files exist, so a cell killed by a request or at its deadline still hands
// back what it wrote before the kill (the host-level tests cover the deadline without Temporal).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { rawDocument } from '../helpers/documents.ts';
import { expectNoLeftovers } from '../helpers/host.ts';
import { startRunningCell, useTestBed } from '../helpers/temporal.ts';

const bed = useTestBed();

const WRITES =
  "mkdir -p /out/logs; echo partial > /out/report.txt; echo a > /out/logs/1; echo WROTE; trap '' TERM; while true; do sleep 0.1; done";
const doc = (ttlSeconds: number) =>
  rawDocument(['/bin/sh', '-c', WRITES], {
    prefix: 'killx',
    ttlSeconds,
    run: { limits: { gracefulShutdownSeconds: 1 } },
    spec: {
      export: {
        artifacts: [
          { name: 'report', path: '/out/report.txt' },
          { name: 'logs', path: '/out/logs' },
        ],
      },
    },
  });

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('artifacts of a killed cell', () => {
  it('exports what a cell killed by a request wrote, and leaves nothing on the host', async () => {
    const { run } = await startRunningCell(bed, doc(60), { output: 'WROTE' });
    await run.kill('enough');
    const r = await run.result();
    expect(r.outcome).toEqual({ kind: 'killed', reason: 'enough', signal: 'SIGKILL' });
    expect(r.refusedArtifacts).toEqual([]);
    expect(r.artifacts.map((a) => [a.name, a.kind])).toEqual([
      ['report', 'file'],
      ['logs', 'directory'],
    ]);
    expect(r.artifacts[0]).toMatchObject({ bytes: 8, sha256: sha('partial\n') });
    const stored = await bed.host.artifactStore.read(r.artifacts[0]!.location, 0, 8);
    expect(Buffer.from(stored).toString()).toBe('partial\n');
    await expectNoLeftovers(bed.host);
  });

  it('exports what a cell killed at its deadline wrote', async () => {
    const { run } = await startRunningCell(bed, doc(2), { output: 'WROTE' });
    const r = await run.result();
    expect(r.outcome).toEqual({ kind: 'deadline', signal: 'SIGKILL' });
    expect(r.artifacts.map((a) => a.name)).toEqual(['report', 'logs']);
    expect(r.artifacts[0]).toMatchObject({ bytes: 8, sha256: sha('partial\n') });
  });
});
