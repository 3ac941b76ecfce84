// The cell events as built for the wire: CloudEvents 1.0 attributes, CellOS's types, stable ids,
// and the destroyed event's reading of each outcome.
import { describe, expect, it } from 'vitest';
import type { CellResultOutcome } from '../../src/cell/outcome.ts';
import {
  cellEvent,
  cellEventId,
  cellEventSource,
  cellEventTypes,
  destroyedData,
  type LifecycleDestroyedData,
} from '../../src/events/cloudevents.ts';

const head = { id: 'run-1:0', source: '/cellos/hosts/h1', time: '2030-01-02T03:04:05.678Z' };

describe('cellEvent', () => {
  it('builds a CloudEvents 1.0 event whose subject is the cell id and whose data is what was given', () => {
    const data = { cellId: 'c1', runId: 'run-1', argv: ['/bin/sh', '-c', 'exit 3'], exitCode: 3, durationMs: 1200 };
    expect(cellEvent(cellEventTypes.commandCompleted, head, data)).toEqual({
      specversion: '1.0',
      id: 'run-1:0',
      source: '/cellos/hosts/h1',
      type: 'dev.cellos.events.cell.command.v1.completed',
      subject: 'c1',
      time: '2030-01-02T03:04:05.678Z',
      datacontenttype: 'application/json',
      data,
    });
  });

  it('leaves out undefined data fields, so that the event equals its JSON round trip', () => {
    const event = cellEvent(cellEventTypes.started, head, {
      cellId: 'c1',
      runId: 'run-1',
      hostId: 'h1',
      sandboxId: undefined,
      correlationId: undefined,
    });
    expect(Object.keys(event.data)).toEqual(['cellId', 'runId', 'hostId']);
    expect(JSON.parse(JSON.stringify(event))).toStrictEqual(event);
  });

  it('uses exactly the CellOS type names', () => {
    expect(Object.values(cellEventTypes).sort()).toEqual([
      'dev.cellos.events.cell.command.v1.completed',
      'dev.cellos.events.cell.lifecycle.v1.destroyed',
      'dev.cellos.events.cell.lifecycle.v1.failed',
      'dev.cellos.events.cell.lifecycle.v1.started',
    ]);
  });

  it.each(['1893553445678', '2030-01-02 03:04:05', 'yesterday', ''])('refuses the time %j (not RFC 3339)', (time) => {
    expect(() =>
      cellEvent(cellEventTypes.failed, { ...head, time }, { cellId: 'c1', runId: 'r', reason: 'x' }),
    ).toThrow(/time .* is not RFC 3339/);
  });

  it('takes an ISO time with an offset', () => {
    const time = '2030-01-02T03:04:05+02:00';
    expect(cellEvent(cellEventTypes.failed, { ...head, time }, { cellId: 'c1', runId: 'r', reason: 'x' }).time).toBe(
      time,
    );
  });

  it('refuses an empty id, source or cell id', () => {
    const data = { cellId: 'c1', runId: 'r', reason: 'x' };
    expect(() => cellEvent(cellEventTypes.failed, { ...head, id: '' }, data)).toThrow(/id is empty/);
    expect(() => cellEvent(cellEventTypes.failed, { ...head, source: '' }, data)).toThrow(/source is empty/);
    expect(() => cellEvent(cellEventTypes.failed, head, { ...data, cellId: '' })).toThrow(/data.cellId is empty/);
  });
});

describe('cellEventId', () => {
  it('gives the same id for the same run and sequence number, and a different one otherwise', () => {
    expect(cellEventId('run-1', 2)).toBe(cellEventId('run-1', 2));
    const ids = new Set([cellEventId('run-1', 0), cellEventId('run-1', 1), cellEventId('run-2', 0)]);
    expect(ids.size).toBe(3);
  });

  it.each([-1, 1.5, Number.NaN])('refuses the sequence number %s', (seq) => {
    expect(() => cellEventId('run-1', seq)).toThrow(/not a whole number/);
  });

  it('refuses an empty run id', () => {
    expect(() => cellEventId('', 0)).toThrow(/runId is empty/);
  });
});

describe('cellEventSource', () => {
  it('names the host, or the queue while no host has the cell, as a URI-reference', () => {
    expect(cellEventSource({ hostId: 'h1' })).toBe('/cellos/hosts/h1');
    const queued = cellEventSource({ taskQueue: 'cellos/launch/zone=a' });
    expect(queued).toBe('/cellos/queues/cellos%2Flaunch%2Fzone%3Da');
    // A path of its own: the queue's slashes do not add segments.
    expect(new URL(queued, 'http://x').pathname.split('/')).toHaveLength(4);
  });

  it('refuses an empty host id', () => {
    expect(() => cellEventSource({ hostId: '' })).toThrow(/hostId is empty/);
  });
});

describe('destroyedData', () => {
  const cases: [CellResultOutcome, Pick<LifecycleDestroyedData, 'outcome' | 'terminalState' | 'reason'>][] = [
    [
      { kind: 'exited', code: 0 },
      { outcome: 'succeeded', terminalState: 'clean' },
    ],
    [
      { kind: 'exited', code: 3 },
      { outcome: 'succeeded', terminalState: 'clean' },
    ],
    [
      { kind: 'signaled', signal: 'SIGSEGV', signalNumber: 11 },
      { outcome: 'failed', terminalState: 'clean', reason: 'signal_killed' },
    ],
    [
      { kind: 'oom', memoryMaxBytes: 1 },
      { outcome: 'failed', terminalState: 'clean', reason: 'oom' },
    ],
    [
      { kind: 'deadline', signal: 'SIGTERM', exitCode: 0 },
      { outcome: 'failed', terminalState: 'clean', reason: 'ttl_exceeded' },
    ],
    [
      { kind: 'deadline', signal: 'SIGKILL' },
      { outcome: 'failed', terminalState: 'forced', reason: 'ttl_exceeded' },
    ],
    [
      { kind: 'killed', reason: 'operator: stop', signal: 'SIGKILL' },
      { outcome: 'failed', terminalState: 'forced', reason: 'operator: stop' },
    ],
    [
      { kind: 'failed', error: 'runsc exited 128' },
      { outcome: 'failed', terminalState: 'forced', reason: 'vmm_crashed' },
    ],
    [
      { kind: 'lost', reason: 'no record' },
      { outcome: 'failed', terminalState: 'forced', reason: 'no record' },
    ],
    [
      { kind: 'cancelled', reason: '' },
      { outcome: 'failed', terminalState: 'forced', reason: 'cancelled' },
    ],
    [
      { kind: 'host-lost', reason: 'h1 gone' },
      { outcome: 'failed', terminalState: 'forced', reason: 'h1 gone' },
    ],
  ];

  it.each(cases)('reads %j as %j', (outcome, expected) => {
    expect(destroyedData('c1', 'run-1', outcome)).toEqual({
      cellId: 'c1',
      runId: 'run-1',
      outcomeKind: outcome.kind,
      ...expected,
    });
  });

  it('never carries an exit code (it belongs to command.completed)', () => {
    const data = destroyedData('c1', 'run-1', { kind: 'deadline', signal: 'SIGTERM', exitCode: 143 });
    expect(JSON.stringify(data)).not.toMatch(/exitCode|143/);
  });
});
