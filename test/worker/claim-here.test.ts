// Claims at admission: when admission takes a cell for its own host, and what the host's claim
// checks. Unit tests: a fake host (no runsc), a real room; the real path runs in
// test/temporal/host-capacity.test.ts.
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it, vi } from 'vitest';
import { createAdmissionActivities } from '../../activities/admission.ts';
import { createClaimHere, HOST_FULL, type ClaimDeps, type ClaimHere } from '../../activities/claim.ts';
import { failureTypes, type Admission } from '../../src/contract/index.ts';
import type { CellHost } from '../../src/host/cell-host.ts';
import type { DrainState, HostDrain } from '../../src/host/drain.ts';
import { createHostRoom } from '../../src/host/room.ts';
import { cellDocument } from '../helpers/documents.ts';

const MiB = 1024 * 1024;
const RUN_ID = 'run-1';

async function admit(claimHere: ClaimHere | undefined, claim: boolean, document: unknown): Promise<Admission> {
  const env = new MockActivityEnvironment({
    workflowExecution: { workflowId: 'cell-x', runId: RUN_ID },
  } as never);
  const { admitCell } = createAdmissionActivities({ hostId: 'h1', claimHere });
  return (await env.run(admitCell, { document, claim })) as Admission;
}

describe('admission', () => {
  const document = cellDocument(['/bin/true'], { id: 'c1' });

  it("names this worker's host as the claimer when asked to claim and the host takes the cell", async () => {
    const claimHere = vi.fn<ClaimHere>(() => undefined);
    const a = await admit(claimHere, true, document);
    expect(a.claimedBy).toBe('h1');
    expect(claimHere).toHaveBeenCalledTimes(1);
    expect(claimHere.mock.calls[0]![0].spec.id).toBe('c1');
    expect(claimHere.mock.calls[0]![1]).toBe(RUN_ID);
  });

  it('does not try when the workflow says not to (a kill came first, another queue family)', async () => {
    const claimHere = vi.fn<ClaimHere>(() => undefined);
    const a = await admit(claimHere, false, document);
    expect(a.claimedBy).toBeUndefined();
    expect(claimHere).not.toHaveBeenCalled();
  });

  it('leaves the cell to the launch queue when the host refuses or its claim throws', async () => {
    expect((await admit(() => ({ message: 'full', type: HOST_FULL }), true, document)).claimedBy).toBeUndefined();
    const throwing = () => {
      throw new Error('boom');
    };
    const a = await admit(throwing, true, document);
    expect(a.claimedBy).toBeUndefined();
    expect(a.cellId).toBe('c1');
  });
});

describe("a host's claim", () => {
  const drainOf = (state: DrainState | undefined): HostDrain => ({
    current: () => state,
    set: () => Promise.resolve(state),
    onChange: () => () => undefined,
  });
  const setup = (over: Partial<ClaimDeps> = {}) => {
    const prepare = vi.fn(() => Promise.resolve({}));
    const host = {
      config: { hostId: 'h1', memory: { defaultBytes: 64 * MiB, maxBytes: 512 * MiB } },
      sandboxIdFor: (cellId: string, runKey: string) => `${cellId}-${runKey}`,
      prepare,
    } as unknown as CellHost;
    const room = createHostRoom({ maxCells: 1, memoryBudgetBytes: 256 * MiB, defaultCellMemoryBytes: 64 * MiB });
    const claimHere = createClaimHere({ host, room, drain: drainOf(undefined), labels: { zone: 'a' }, ...over });
    return { claimHere, prepare, room };
  };
  const doc = (run: Record<string, unknown> = {}, spec: Record<string, unknown> = {}) =>
    cellDocument(['/bin/true'], { id: 'c1', run, spec });

  it('takes room and starts the preparation once; a second cell finds no room', () => {
    const { claimHere, prepare, room } = setup();
    expect(claimHere(doc(), 'r1')).toBeUndefined();
    expect(prepare).toHaveBeenCalledTimes(1);
    expect(room.use().cells).toBe(1);
    expect(claimHere(doc(), 'r2')).toEqual({ message: expect.stringMatching(/no room/), type: HOST_FULL });
    expect(prepare).toHaveBeenCalledTimes(1);
  });

  it.each([
    ['labels it lacks', {}, { placement: { labels: { zone: 'b' } } }, /lacks the labels/, HOST_FULL],
    [
      'more memory than its whole budget',
      { limits: { memoryMaxBytes: 512 * MiB } },
      {},
      /whole memory budget/,
      failureTypes.rejected,
    ],
  ] as const)('refuses a cell with %s', (_what, run, spec, message, type) => {
    const { claimHere, prepare } = setup();
    expect(claimHere(doc(run, spec), 'r1')).toEqual({ message: expect.stringMatching(message), type });
    expect(prepare).not.toHaveBeenCalled();
  });

  it('takes nothing while draining or stopping', () => {
    const draining = setup({ drain: drainOf({ reason: 'maintenance', since: '2026-12-01T00:00:00Z' }) });
    expect(draining.claimHere(doc(), 'r1')).toEqual({ message: expect.stringMatching(/draining/), type: HOST_FULL });
    const stopping = setup({ accepting: () => false });
    expect(stopping.claimHere(doc(), 'r1')).toEqual({ message: expect.stringMatching(/stopping/), type: HOST_FULL });
    expect(draining.prepare).not.toHaveBeenCalled();
    expect(stopping.prepare).not.toHaveBeenCalled();
  });
});
