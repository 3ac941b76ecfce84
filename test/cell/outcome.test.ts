// How a supervisor's record becomes an outcome, for the cases where runsc gives no wait status.
import { describe, expect, test } from 'vitest';
import { outcomeOf, type KillRecord, type SupervisorRecord } from '../../src/cell/outcome.ts';

const record = (
  runscExitCode: number,
  oomCount: number | null,
  waitStatus: number | null = null,
): SupervisorRecord => ({
  runscExitCode,
  waitStatus,
  oomCount,
  startedAtMs: 1,
  endedAtMs: 2,
  stdoutDropped: 0,
  stderrDropped: 0,
});
const deadlineKill: KillRecord = { reason: 'deadline', message: 'ttl passed', signals: ['SIGTERM', 'SIGKILL'] };

describe('a cell in a warm sandbox (runsc exec loses its sandbox with 128 and no status)', () => {
  test('is out of memory when the memory cgroup was hit and nobody else killed it', () => {
    expect(outcomeOf(record(128, 3), undefined, { warm: true, memoryMaxBytes: 64 })).toEqual({
      kind: 'oom',
      memoryMaxBytes: 64,
    });
  });

  test('was killed by us when we had sent SIGKILL (before its process even started)', () => {
    expect(outcomeOf(record(128, 0), deadlineKill, { warm: true })).toEqual({ kind: 'deadline', signal: 'SIGKILL' });
    expect(outcomeOf(record(128, 2), deadlineKill, { warm: true })).toEqual({ kind: 'deadline', signal: 'SIGKILL' });
  });

  test('failed otherwise, with runsc error', () => {
    expect(outcomeOf(record(128, 0), undefined, { warm: true, runscError: 'boom' })).toEqual({
      kind: 'failed',
      error: 'boom',
    });
  });

  test('exited 128 by itself when runsc logged that status', () => {
    expect(outcomeOf(record(128, 0, 128 << 8), undefined, { warm: true })).toEqual({ kind: 'exited', code: 128 });
  });
});

describe('a cold cell', () => {
  test('is not taken for killed or out of memory on a 128 without status', () => {
    expect(outcomeOf(record(128, 3), undefined, { runscError: 'boom' })).toEqual({ kind: 'failed', error: 'boom' });
    expect(outcomeOf(record(128, 0), deadlineKill, { runscError: 'boom' })).toEqual({ kind: 'failed', error: 'boom' });
  });
});
