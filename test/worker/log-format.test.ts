// The worker's log lines: JSON for log shippers, key=value for people, the cell's keys first.
import { describe, expect, it } from 'vitest';
import { formatLogLine } from '../../src/worker/log-format.ts';

const at = BigInt(Date.parse('2030-01-02T03:04:05.678Z')) * 1_000_000n;

describe('formatLogLine', () => {
  it('writes one JSON object per line with time, level and msg, then cellId, hostId and phase', () => {
    const line = formatLogLine(
      {
        level: 'INFO',
        message: 'sandbox exited',
        timestampNanos: at,
        meta: { outcome: 'exited', phase: 'run', sandboxId: 's1', cellId: 'c1' },
      },
      { json: true, fields: { hostId: 'h1' } },
    );
    expect(line.endsWith('\n')).toBe(true);
    expect(line.trimEnd()).not.toContain('\n');
    const parsed = JSON.parse(line) as Record<string, unknown>;
    expect(parsed).toEqual({
      time: '2030-01-02T03:04:05.678Z',
      level: 'INFO',
      msg: 'sandbox exited',
      cellId: 'c1',
      hostId: 'h1',
      phase: 'run',
      outcome: 'exited',
      sandboxId: 's1',
    });
    expect(Object.keys(parsed)).toEqual(['time', 'level', 'msg', 'cellId', 'hostId', 'phase', 'outcome', 'sandboxId']);
  });

  it("lets an entry's own fields win over the worker's, and never prints a task token", () => {
    const parsed = JSON.parse(
      formatLogLine(
        {
          level: 'WARN',
          message: 'Activity failed',
          timestampNanos: at,
          meta: { hostId: 'other', taskToken: 'c2VjcmV0' },
        },
        { json: true, fields: { hostId: 'h1' } },
      ),
    ) as Record<string, unknown>;
    expect(parsed.hostId).toBe('other');
    expect(parsed).not.toHaveProperty('taskToken');
  });

  it('keeps errors (with their cause), bigints and cycles on one JSON line', () => {
    const cause = new Error('runsc exited 128');
    const error = Object.assign(new Error('removal failed', { cause }), { type: 'CellInfrastructureFailure' });
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const line = formatLogLine(
      { level: 'ERROR', message: 'boom', timestampNanos: at, meta: { error, n: 5n, cyclic } },
      { json: true },
    );
    expect(line.trimEnd()).not.toContain('\n');
    const parsed = JSON.parse(line) as {
      error: { name: string; message: string; type: string; stack: string; cause: { message: string } };
      n: string;
      cyclic: { self: string };
    };
    expect(parsed.error).toMatchObject({ name: 'Error', message: 'removal failed', type: 'CellInfrastructureFailure' });
    expect(parsed.error.stack).toContain('removal failed');
    expect(parsed.error.cause.message).toBe('runsc exited 128');
    expect(parsed.n).toBe('5');
    expect(parsed.cyclic.self).toBe('[Circular]');
  });

  it('writes a human line on a terminal: time, level, message, then key=value', () => {
    const line = formatLogLine(
      {
        level: 'INFO',
        message: 'killing sandbox',
        timestampNanos: at,
        meta: { reason: 'ttl of 1s passed', phase: 'kill', cellId: 'c1', attempt: 2, extra: { a: 1 } },
      },
      { json: false, fields: { hostId: 'h1' } },
    );
    expect(line).toBe(
      '2030-01-02T03:04:05.678Z [INFO] killing sandbox cellId=c1 hostId=h1 phase=kill reason="ttl of 1s passed" attempt=2 extra={"a":1}\n',
    );
    const warn = formatLogLine(
      { level: 'WARN', message: 'Activity failed', timestampNanos: at, meta: { error: new TypeError('bad') } },
      { json: false, colors: true },
    );
    expect(warn).toBe('2030-01-02T03:04:05.678Z [\u001b[33mWARN\u001b[39m] Activity failed error="TypeError: bad"\n');
  });
});
