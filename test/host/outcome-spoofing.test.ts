// Issue 9, item 7: a cell cannot choose its own outcome. The exact wait status comes from runsc's
// log, whose messages carry text the document and the workload choose (the argv runsc logs as
// `EXEC: [...]`, the path of a program that fails to load), newlines included: a forged
// `Exiting with status: 0` must never turn an OOM kill, a non-zero exit or a runsc failure into
// success.
import { describe, expect, it } from 'vitest';
import { trustedWaitStatus } from '../../src/host/cell-files.ts';
import { runCell } from '../../src/host/run-cell.ts';
import { cellDoc, useTestHost } from '../helpers/host.ts';

const MiB = 1024 * 1024;
/** How many times each real-sandbox attack runs: a race would show in some of them. */
const RUNS = 5;

/** A line as runsc writes it, for the pid given. */
const line = (pid: number, at: string, message: string) => `I1201 00:19:${at}   ${pid} ${message}`;
const exitLine = (pid: number, status: number) => line(pid, '42.065304', `main.go:266] Exiting with status: ${status}`);
const header = (pid: number) => `${line(pid, '41.990979', 'main.go:216] ***************************')}\n`;
/** A boot log whose body is `body` (lines), as one string with the trailing newline. */
const bootLog = (pid: number, ...body: string[]) => [header(pid).trimEnd(), ...body].join('\n') + '\n';
const ends = (log: string) => ({ head: log.slice(0, 1024), tail: log.slice(-4096) });

/** What an attacker puts into the argv that runsc logs: a whole, well-formed exit line. */
const FORGED_LINE = `x\n${exitLine(24971, 0)}\n`;

describe('the wait status is read only from a line the cell cannot forge', () => {
  const pid = 24971;
  const genuine = (status: number) =>
    bootLog(pid, line(pid, '42.055526', 'kernel.go:791] EXEC: [/bin/sh -c exit 3]'), exitLine(pid, status));

  it("takes runsc's own last line when it agrees with runsc's exit code", () => {
    expect(trustedWaitStatus(ends(genuine(768)), 3)).toBe(768);
    expect(trustedWaitStatus(ends(genuine(9)), 137)).toBe(9);
    expect(trustedWaitStatus(ends(genuine(137 << 8)), 137)).toBe(137 << 8);
    expect(trustedWaitStatus(ends(genuine(15)), 143)).toBe(15);
  });

  it('refuses a forged line in the middle of the log (the sandbox was killed before its own)', () => {
    const log = bootLog(
      pid,
      line(pid, '42.055526', `kernel.go:791] EXEC: [/bin/sh -c hog ${FORGED_LINE}]`),
      line(pid, '42.060446', 'loader.go:689] Process should have started...'),
    );
    expect(log).toContain(`\n${exitLine(pid, 0)}\n`);
    expect(trustedWaitStatus(ends(log), 137)).toBeNull();
  });

  it("refuses a perfect forged last line that runsc run's exit code contradicts", () => {
    // Right pid, right shape, last in the file: only the exit code, which no sandbox can write, tells.
    expect(trustedWaitStatus(ends(genuine(0)), 137)).toBeNull();
    expect(trustedWaitStatus(ends(genuine(0)), 128)).toBeNull();
    expect(trustedWaitStatus(ends(genuine(768)), 0)).toBeNull();
  });

  it('refuses a last line written under another pid than the one that opened the log', () => {
    const log = bootLog(pid, line(pid, '42.055526', 'kernel.go:791] EXEC: [x]'), exitLine(pid + 1, 0));
    expect(trustedWaitStatus(ends(log), 0)).toBeNull();
  });

  it('refuses a line that only ends like the exit line, or carries anything after it', () => {
    for (const last of [
      `${exitLine(pid, 0)}]`,
      `${exitLine(pid, 0)}: no such file or directory`,
      line(pid, '42.065304', 'loader.go:181] Exiting with status: 0'),
      `W${exitLine(pid, 0).slice(1)}`,
      `Exiting with status: 0`,
      `  ${exitLine(pid, 0)}`,
    ]) {
      expect(trustedWaitStatus(ends(bootLog(pid, line(pid, '42.0', 'x.go:1] y'), last)), 0)).toBeNull();
    }
  });

  it('refuses a last "line" that is only the end of a longer line the tail cut', () => {
    // One long message with no newline in it: its last 4 KiB may start exactly at a forged prefix.
    const padding = 'A'.repeat(8192);
    const log = `${header(pid)}${line(pid, '42.0', `kernel.go:791] EXEC: [${padding}`)}${exitLine(pid, 0)}\n`;
    const tail = exitLine(pid, 0) + '\n';
    expect(trustedWaitStatus({ head: log.slice(0, 1024), tail }, 0)).toBeNull();
    expect(trustedWaitStatus(ends(log), 0)).toBeNull();
  });

  it('refuses a log without runsc header, or not ending in a whole line', () => {
    expect(trustedWaitStatus({ head: '', tail: `x\n${exitLine(pid, 0)}\n` }, 0)).toBeNull();
    expect(trustedWaitStatus({ head: `${FORGED_LINE}`, tail: `x\n${exitLine(pid, 0)}\n` }, 0)).toBeNull();
    expect(trustedWaitStatus(ends(genuine(0).trimEnd()), 0)).toBeNull();
  });
});

describe('a workload that forges its exit line in a real sandbox', () => {
  const host = useTestHost();

  // runsc logs the container's argv (`EXEC: [/bin/sh -c <script> <$0>]`): $0 carries the forgery.
  const forgeries = {
    'a path named like the line': 'Exiting with status: 0',
    'a whole forged line (newline trick)': FORGED_LINE,
  };
  const hog = 'x=a; while true; do x="$x$x"; done';

  for (const [how, forged] of Object.entries(forgeries)) {
    it(`still ends oom when it is OOM-killed after forging ${how}`, async () => {
      const seen: string[] = [];
      for (let i = 0; i < RUNS; i++) {
        const doc = cellDoc(['/bin/sh', '-c', hog, forged], { limits: { memoryMaxBytes: 32 * MiB } });
        seen.push(JSON.stringify((await runCell(host, doc)).outcome));
      }
      expect(seen).toEqual(Array(RUNS).fill(JSON.stringify({ kind: 'oom', memoryMaxBytes: 32 * MiB })));
    }, 120_000);

    it(`reports its own exit 3 after forging ${how}`, async () => {
      const seen: string[] = [];
      for (let i = 0; i < RUNS; i++) {
        const doc = cellDoc(['/bin/sh', '-c', 'echo forged; exit 3', forged]);
        seen.push(JSON.stringify((await runCell(host, doc)).outcome));
      }
      expect(seen).toEqual(Array(RUNS).fill(JSON.stringify({ kind: 'exited', code: 3 })));
    }, 120_000);

    it(`reports death by SIGKILL after forging ${how}`, async () => {
      const exit = await runCell(host, cellDoc(['/bin/sh', '-c', 'kill -KILL $$', forged]));
      expect(exit.outcome).toEqual({ kind: 'signaled', signal: 'SIGKILL', signalNumber: 9 });
    });
  }

  it('reports a program that fails to load as a failure, even when its path is a forged exit line', async () => {
    // runsc logs the path twice (boot: `Error opening <path>`, run: `failed to load <path>`) and exits 128.
    for (const path of [
      '/no/such\nExiting with status: 0',
      `/no/such${FORGED_LINE}`,
      `/x\n${exitLine(1, 128 << 8)}\n`,
    ]) {
      const exit = await runCell(host, cellDoc([path]));
      expect(exit.outcome.kind).toBe('failed');
    }
  });
});
