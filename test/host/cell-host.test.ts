// The edge against real runsc: exact outcomes, limits, deadline kills, crash survival, no leftovers.
// Every test runs twice: cells that boot their own sandbox (cold), and cells run in one of the
// host's warm sandboxes (warmOnly makes sure each fitting cell gets one).
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepareCellCgroup, removeCellCgroup } from '../../src/host/cgroups.ts';
import { runCell } from '../../src/host/run-cell.ts';
import { findHostProcesses } from '../../src/host/processes.ts';
import { createReconciler } from '../../src/host/reconciler.ts';
import {
  cellDoc,
  expectNoLeftovers,
  leftovers,
  makeTestHost,
  repoRoot,
  useTestHost,
  warmOnly,
} from '../helpers/host.ts';
import { until } from '../helpers/wait.ts';

const sh = (script: string, run: Record<string, unknown> = {}, spec: Record<string, unknown> = {}) =>
  cellDoc(['/bin/sh', '-c', script], run, spec);

describe.each([
  ['cold', 0],
  ['warm', 4],
] as const)('%s sandboxes', (path, warmPoolSize) => {
  const host = useTestHost({ warmPoolSize });

  describe('outcomes', () => {
    it('reports exit 0 and the workload output', async () => {
      const exit = await runCell(host, sh('echo hello; echo oops >&2'));
      expect(exit.outcome).toEqual({ kind: 'exited', code: 0 });
      expect(exit.stdout.tail).toBe('hello\n');
      expect(exit.stderr.tail).toBe('oops\n');
      expect(exit.endedAtMs).toBeGreaterThanOrEqual(exit.startedAtMs);
    });

    it('reports a non-zero exit code exactly', async () => {
      expect((await runCell(host, sh('exit 3'))).outcome).toEqual({ kind: 'exited', code: 3 });
    });

    it('reports an instant exit of true', async () => {
      expect((await runCell(host, cellDoc(['/bin/true']))).outcome).toEqual({ kind: 'exited', code: 0 });
    });

    it('tells exit 137 apart from death by SIGKILL, and 128 from a runsc failure', async () => {
      expect((await runCell(host, sh('exit 137'))).outcome).toEqual({ kind: 'exited', code: 137 });
      expect((await runCell(host, sh('exit 128'))).outcome).toEqual({ kind: 'exited', code: 128 });
      expect((await runCell(host, sh('kill -KILL $$'))).outcome).toEqual({
        kind: 'signaled',
        signal: 'SIGKILL',
        signalNumber: 9,
      });
      expect((await runCell(host, sh('kill -SEGV $$'))).outcome).toMatchObject({ kind: 'signaled', signal: 'SIGSEGV' });
    });

    it('reports a program that does not exist as a failure with the reason', async () => {
      const exit = await runCell(host, cellDoc(['/no/such/program']));
      expect(exit.outcome.kind).toBe('failed');
      expect(JSON.stringify(exit.outcome)).toMatch(/no such file|not found|/i);
    });

    it('caps captured output and counts what was dropped', async () => {
      const exit = await runCell(
        host,
        sh('head -c 100000 /dev/zero | tr "\\0" x', { output: { maxStdoutBytes: 1000 } }),
      );
      expect(exit.stdout.bytes).toBe(1000);
      expect(exit.stdout.droppedBytes).toBeGreaterThan(0);
      expect(exit.outcome).toEqual({ kind: 'exited', code: 0 });
    });
  });

  describe('limits and isolation', () => {
    it('kills a memory hog over its limit and reports oom', async () => {
      const exit = await runCell(
        host,
        sh('x=a; while true; do x="$x$x"; done', { limits: { memoryMaxBytes: 64 * 1024 * 1024 } }),
      );
      expect(exit.outcome).toEqual({ kind: 'oom', memoryMaxBytes: 64 * 1024 * 1024 });
    });

    it('stops a fork bomb at the process limit (RLIMIT_NPROC)', async () => {
      const started = Date.now();
      const exit = await runCell(
        host,
        sh('i=0; while [ $i -lt 50 ]; do sleep 5 & i=$((i+1)); echo $i; done', { rlimits: { processes: 20 } }),
      );
      // busybox sh gives up (exit 2) when fork fails: the bomb ends instead of eating the host.
      expect(exit.outcome).toEqual({ kind: 'exited', code: 2 });
      expect(exit.stderr.tail).toMatch(/can't fork: Resource temporarily unavailable/);
      const forked = exit.stdout.tail.trim().split('\n').length;
      expect(forked).toBeGreaterThan(5);
      expect(forked).toBeLessThan(20);
      expect(Date.now() - started).toBeLessThan(10_000);
    });

    it('keeps the root read-only', async () => {
      // As root inside the sandbox (on a host whose operator allows it), so that only the read-only
      // mount can refuse the write.
      const made = await makeTestHost({ allowRootUser: true, warmPoolSize });
      const rootHost = warmPoolSize > 0 ? warmOnly(made) : made;
      try {
        const exit = await runCell(rootHost, sh('touch /bin/x 2>&1; echo rc=$?', { user: { uid: 0, gid: 0 } }));
        expect(exit.stdout.tail).toMatch(/Read-only file system/);
        expect(exit.stdout.tail).toMatch(/rc=1/);
        await expectNoLeftovers(rootHost);
      } finally {
        await made.cleanupDir();
      }
    });

    it('gives a writable /tmp tmpfs', async () => {
      const exit = await runCell(host, sh('echo hi > /tmp/f && cat /tmp/f'));
      expect(exit.stdout.tail).toBe('hi\n');
    });

    it('has no network interface but loopback under network none', async () => {
      const exit = await runCell(host, sh('ls /sys/class/net; cat /proc/net/dev'));
      const ifaces = exit.stdout.tail
        .split('\n')
        .filter((l) => /^\s*\w+:/.test(l))
        .map((l) => l.trim().split(':')[0]);
      expect(ifaces).toEqual(['lo']);
    });

    it('runs as the non-root user 65534 by default and as the user asked for', async () => {
      expect((await runCell(host, sh('id -u; id -g'))).stdout.tail).toBe('65534\n65534\n');
      expect((await runCell(host, sh('id -u; id -g', { user: { uid: 1234, gid: 4321 } }))).stdout.tail).toBe(
        '1234\n4321\n',
      );
    });

    it('passes env, working directory and hostname (the cell id)', async () => {
      const doc = sh('echo $GREETING; pwd; hostname', { env: { GREETING: 'hi there' }, workingDirectory: '/tmp' });
      const exit = await runCell(host, doc);
      expect(exit.stdout.tail).toBe(`hi there\n/tmp\n${doc.spec.id}\n`);
      expect(exit.warmSandbox !== undefined).toBe(path === 'warm');
    });
  });

  describe('deadline', () => {
    it('kills a TERM-trapping workload with SIGTERM within its grace and says it was the deadline', async () => {
      const doc = sh(
        "trap 'echo got-term; exit 7' TERM; while true; do sleep 0.1; done",
        { limits: { gracefulShutdownSeconds: 5 } },
        { lifetime: { ttlSeconds: 2 } },
      );
      const started = Date.now();
      const exit = await runCell(host, doc);
      expect(exit.outcome).toEqual({ kind: 'deadline', signal: 'SIGTERM', exitCode: 7 });
      expect(exit.stdout.tail).toContain('got-term');
      expect(Date.now() - started).toBeLessThan(2000 + 4000);
    });

    it('kills a TERM-ignoring workload with SIGKILL after the grace', async () => {
      const doc = sh(
        "trap '' TERM; while true; do sleep 0.1; done",
        { limits: { gracefulShutdownSeconds: 2 } },
        { lifetime: { ttlSeconds: 1 } },
      );
      const started = Date.now();
      const exit = await runCell(host, doc);
      const took = Date.now() - started;
      expect(exit.outcome).toEqual({ kind: 'deadline', signal: 'SIGKILL' });
      expect(took).toBeGreaterThanOrEqual(1000 + 2000);
      expect(took).toBeLessThan(1000 + 2000 + 3000);
    });

    it('gives SIGTERM and its grace to a cell whose kill lands while it is being started', async () => {
      // A kill that found the cell prepared used to leave it to the start, which had already looked
      // for a kill and launched: SIGTERM never went out, and SIGKILL came after the grace (chaos: a
      // TERM-trapping cell ended SIGKILL, its start delayed into its deadline by worker crashes).
      const doc = sh("trap 'exit 7' TERM; while true; do sleep 0.1; done", { limits: { gracefulShutdownSeconds: 8 } });
      const allowed = [
        { kind: 'deadline', signal: 'SIGTERM', exitCode: 7 },
        // Killed before it ran, or before its shell set the trap.
        { kind: 'deadline', signal: 'SIGTERM' },
      ];
      for (let i = 0; i < 6; i++) {
        const handle = await host.prepare(doc, `startkill-${i}-${Date.now()}`);
        try {
          const started = Date.now();
          await Promise.all([
            host.start(handle),
            (async () => {
              await new Promise((r) => setTimeout(r, i % 3));
              await host.kill(handle, { reason: 'deadline', message: 'ttl passed' });
            })(),
          ]);
          const exit = await host.wait(handle);
          expect(allowed).toContainEqual(exit.outcome);
          expect(Date.now() - started).toBeLessThan(8000);
        } finally {
          await host.remove(handle);
        }
      }
    });

    it('goes on from the SIGKILL a kill asked for again had already sent, and the outcome keeps it', async () => {
      // The kill of a crashed worker got as far as recording SIGKILL; its retry must not restart the
      // grace with SIGTERM, nor rewrite the record so that the outcome says SIGTERM.
      const doc = sh("trap '' TERM; while true; do sleep 0.1; done", { limits: { gracefulShutdownSeconds: 30 } });
      const handle = await host.launch(doc, `rekill-${Date.now()}`);
      try {
        await until(
          'the sandbox runs',
          () => host.state(handle),
          (s) => s === 'running',
        );
        await writeFile(
          join(handle.cellDir, 'kill.json'),
          JSON.stringify({ reason: 'deadline', message: 'ttl passed', signals: ['SIGTERM', 'SIGKILL'] }),
        );
        const started = Date.now();
        await host.kill(handle, { reason: 'deadline', message: 'ttl passed' });
        const exit = await host.wait(handle);
        // Well under the 30 s grace a restarted SIGTERM would grant (a SIGKILL takes ~50 ms here; CI's
        // busiest minutes once stretched it to 11.8 s).
        expect(Date.now() - started).toBeLessThan(20_000);
        expect(exit.outcome).toEqual({ kind: 'deadline', signal: 'SIGKILL' });
        expect(JSON.parse(await readFile(join(handle.cellDir, 'kill.json'), 'utf8'))).toMatchObject({
          signals: ['SIGTERM', 'SIGKILL'],
        });
      } finally {
        await host.remove(handle);
      }
    });
  });

  describe('a run retried after its removal was cut short', () => {
    it('runs the cell again in the folder the removal left, not stopped by what is left there', async () => {
      // The run removes the sandbox before it reports the exit; a worker killed in that removal left
      // the folder without its record but with the supervisor's claim on the cell (pipes/owner), and
      // the retried run's supervisor gave up on the cell it took for another's: lost (cluster chaos).
      const doc = sh('echo again; exit 2');
      const runKey = `rerun-${Date.now()}`;
      const first = await host.prepare(doc, runKey);
      await host.start(first);
      expect((await host.wait(first)).outcome).toEqual({ kind: 'exited', code: 2 });
      await host.remove(first);
      await mkdir(join(first.cellDir, 'pipes'), { recursive: true });
      await writeFile(join(first.cellDir, 'pipes', 'owner'), '');
      await writeFile(join(first.cellDir, 'supervisor.pid'), `${process.pid}\n`);
      const again = await host.prepare(doc, runKey);
      try {
        expect(again.sandboxId).toBe(first.sandboxId);
        await host.start(again);
        const exit = await host.wait(again);
        expect(exit.outcome).toEqual({ kind: 'exited', code: 2 });
        expect(exit.stdout.tail).toBe('again\n');
      } finally {
        await host.remove(again);
      }
    });
  });

  describe('signals to the supervisor', () => {
    it('runs the cell and ends it exactly however many start signals (SIGUSR1) reach its supervisor while it starts', async () => {
      for (let i = 0; i < 4; i++) {
        const handle = await host.prepare(sh('echo out; echo err >&2; exit 3'), `usr1-${i}-${Date.now()}`);
        // A retried start signals again; every signal must be harmless, whenever it lands.
        let stop = false;
        const storm = (async () => {
          while (!stop) {
            const pid = Number(await readFile(join(handle.cellDir, 'supervisor.pid'), 'utf8').catch(() => '0'));
            if (pid > 0) {
              try {
                process.kill(pid, 'SIGUSR1');
              } catch {
                // gone: the cell ended
              }
            }
            await new Promise((r) => setTimeout(r, 1));
          }
        })();
        try {
          await host.start(handle);
          const exit = await host.wait(handle, { signal: AbortSignal.timeout(20_000) });
          expect(exit.outcome).toEqual({ kind: 'exited', code: 3 });
          expect(exit.stdout.tail).toBe('out\n');
          expect(exit.stderr.tail).toBe('err\n');
        } finally {
          stop = true;
          await storm;
          await host.remove(handle);
        }
      }
    }, 120_000);
  });

  describe('crash safety of the launcher', () => {
    it('keeps the sandbox running when its launcher is SIGKILLed and still collects the outcome', async () => {
      const doc = sh('sleep 2; echo survived; exit 5');
      const runKey = `crash-${Date.now()}`;
      // A separate Node process launches the cell, then dies by SIGKILL.
      const script = `
      import { createCellHost } from ${JSON.stringify(join(repoRoot, 'src/host/cell-host.ts'))};
      const host = await createCellHost(${JSON.stringify({ ...host.config, runscRoot: undefined, cellsDir: undefined, warmPoolSize: Math.min(warmPoolSize, 1) })});
      while (host.warmPool && host.warmPool.stats().ready === 0) await new Promise((r) => setTimeout(r, 10));
      const h = await host.launch(${JSON.stringify(doc)}, ${JSON.stringify(runKey)});
      console.log('launched', h.sandboxId, h.runscId ?? 'cold');
      setInterval(() => {}, 1000);
    `;
      // Node 20 cannot run TypeScript sources directly; Deno runs the same sources as they are.
      const child = spawn(
        join(repoRoot, 'node_modules/.bin/deno'),
        ['eval', '--node-modules-dir=manual', '--ext=ts', script],
        {
          cwd: repoRoot,
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      const launched = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => (String(d).includes('launched') ? resolve(String(d)) : undefined));
        child.once('exit', (code) => reject(new Error(`launcher exited ${code}`)));
      });
      child.kill('SIGKILL');
      expect(launched.includes('cold')).toBe(path === 'cold');
      const handle = await host.attach(host.sandboxIdFor(doc.spec.id, runKey));
      expect(handle).toBeDefined();
      // The supervisor writes its pid a moment after the launch was handed over.
      const startBy = Date.now() + 3000;
      while ((await host.state(handle!)) === 'prepared' && Date.now() < startBy)
        await new Promise((r) => setTimeout(r, 20));
      expect(await host.state(handle!)).toBe('running');
      const exit = await host.wait(handle!);
      expect(exit.outcome).toEqual({ kind: 'exited', code: 5 });
      expect(exit.stdout.tail).toBe('survived\n');
      await host.remove(handle!);
      // The dead launcher's pool was booting a warm sandbox for nobody: the reconciler's to remove.
      const reconciler = createReconciler({ host, isCellRunning: async () => 'running', orphanGraceMs: 0 });
      await until(
        "the dead launcher's warm sandboxes are gone",
        async () => (await reconciler.reconcile(), await leftovers(host)),
        (found) => found.length === 0,
      );
    });

    it('runs a cell exactly once when two starts race to launch its supervisor', async () => {
      // Two supervisors of one cell, started together: one takes the cell, the other leaves. Each
      // used to create one of the two fifos, and both could leave (the cell then ended "lost").
      // A warm cell's removal takes ~1.5 s: fewer rounds there.
      for (let i = 0; i < (path === 'cold' ? 8 : 4); i++) {
        const handle = await host.prepare(sh('echo once; exit 3'), `race-${i}-${Date.now()}`);
        try {
          await Promise.all([host.start(handle), host.start(handle)]);
          const exit = await host.wait(handle, { signal: AbortSignal.timeout(20_000) });
          expect(exit.outcome).toEqual({ kind: 'exited', code: 3 });
          expect(exit.stdout.tail).toBe('once\n');
        } finally {
          await host.remove(handle);
        }
      }
    }, 120_000);

    it('re-attaches instead of launching twice when launch is repeated with the same run key', async () => {
      const doc = sh('sleep 1; echo once');
      const a = await host.launch(doc, 'same-key');
      const b = await host.launch(doc, 'same-key');
      expect(b.sandboxId).toBe(a.sandboxId);
      const exit = await host.wait(b);
      expect(exit.stdout.tail).toBe('once\n');
      await host.remove(b);
    });

    it('removes a cell at once right after its launch, while its sandbox still boots, leaving nothing', async () => {
      // Removal used to delete a container runsc run had not made yet, wait 5 s for a supervisor
      // that went on booting it, and leave it stopped in runsc's state (the leftovers check below).
      for (const delayMs of [0, 30]) {
        const handle = await host.launch(sh('sleep 20'), `early-${delayMs}`);
        await new Promise((r) => setTimeout(r, delayMs));
        const t0 = Date.now();
        await host.remove(handle);
        expect(Date.now() - t0).toBeLessThan(2500);
        expect(await leftovers(host)).toEqual([]);
      }
    });
  });

  describe('bad input on the host', () => {
    it('refuses a host mount outside the allowlist and leaves nothing behind', async () => {
      const doc = sh('true', { mounts: [{ source: '/etc', destination: '/tmp' }] });
      await expect(host.launch(doc, 'k1')).rejects.toThrow(/not under a host path this worker allows/);
    });

    it('refuses a missing rootfs directory', async () => {
      const doc = sh('true', { rootfs: { path: '/nonexistent/rootfs' } });
      await expect(host.launch(doc, 'k2')).rejects.toThrow(/nonexistent/);
    });

    it('refuses a mount point that the rootfs does not have', async () => {
      const doc = sh('true', { tmpfs: [{ path: '/nowhere', sizeBytes: 1 << 20 }] });
      await expect(host.launch(doc, 'k3')).rejects.toThrow(/mount point \/nowhere/);
    });
  });

  describe('exactness under repetition', () => {
    const repeat = async (n: number, concurrency: number, fn: () => Promise<void>) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next++ < n) await fn();
        }),
      );
    };
    for (const [name, argv, expected] of [
      ['true', ['/bin/true'], { kind: 'exited', code: 0 }],
      ['exit 3', ['/bin/sh', '-c', 'exit 3'], { kind: 'exited', code: 3 }],
      ['SIGKILL', ['/bin/sh', '-c', 'kill -KILL $$'], { kind: 'signaled', signal: 'SIGKILL', signalNumber: 9 }],
    ] as const) {
      it(`reports ${name} right 100 times out of 100`, async () => {
        const seen: string[] = [];
        await repeat(100, 4, async () => {
          seen.push(JSON.stringify((await runCell(host, cellDoc([...argv]))).outcome));
        });
        expect(seen).toEqual(Array(100).fill(JSON.stringify(expected)));
      }, 300_000);
    }
    it('reports a memory hog as oom 100 times out of 100', async () => {
      const seen: string[] = [];
      await repeat(100, 4, async () => {
        const doc = cellDoc(['/bin/sh', '-c', 'x=a; while true; do x="$x$x"; done'], {
          // 64 MiB: the least memory whose /tmp and /dev are the warm shape's.
          limits: { memoryMaxBytes: 64 * 1024 * 1024 },
        });
        seen.push((await runCell(host, doc)).outcome.kind);
      });
      expect(seen).toEqual(Array(100).fill('oom'));
    }, 600_000);
  });

  it('reads the state files of a cell as JSON', async () => {
    // The supervisor's record is plain JSON a person can read.
    const doc = sh('exit 2');
    const h = await host.launch(doc, 'json-check');
    await host.wait(h);
    try {
      const record = JSON.parse(await readFile(join(h.cellDir, 'result.json'), 'utf8'));
      // Every cell has its memory cgroup now (the host's default limit), so an OOM count of 0.
      expect(record).toEqual({ runscExitCode: 2, oomCount: 0 });
      // The exact wait status comes from runsc's own log: exit 2 is 2 << 8.
      const log = path === 'warm' ? 'runsc.exec.log' : 'runsc.run.log';
      expect(await readFile(join(h.cellDir, log), 'utf8')).toMatch(/Exiting with status: 512\b/);
    } finally {
      await host.remove(h);
    }
  });
});

describe('shutdown', () => {
  const parentFolders = async (parent: string) => {
    const bases = ['/sys/fs/cgroup', ...(await readdir('/sys/fs/cgroup')).map((c) => join('/sys/fs/cgroup', c))];
    const found = await Promise.all(
      bases.map((b) =>
        stat(join(b, parent)).then(
          () => [join(b, parent)],
          () => [],
        ),
      ),
    );
    return found.flat();
  };

  it('removes its empty cgroup folders, and keeps those that still hold a cell', async () => {
    const host = await makeTestHost();
    try {
      const first = await host.launch(sh('true'), 'first');
      await host.wait(first);
      await host.remove(first);
      const running = await host.launch(sh('sleep 30'), 'second');
      expect(await parentFolders(host.config.cgroupParent)).not.toEqual([]);
      await host.shutdown();
      // A cell still runs in it: its folders stay.
      expect(await parentFolders(host.config.cgroupParent)).not.toEqual([]);
      await host.remove(running);
      await host.shutdown();
      expect(await parentFolders(host.config.cgroupParent)).toEqual([]);
    } finally {
      await host.cleanupDir();
    }
  });
});

describe("a cell's cgroups", () => {
  it('are removed once the processes just killed in them have left, not refused while they leave', async () => {
    // A removal kills what it finds of a sandbox still booting and removes its cgroups at once;
    // rmdir refused them (EBUSY) while the killed processes were still leaving (a CI run).
    const host = await makeTestHost();
    try {
      expect(host.cgroupMode).not.toBe('none');
      const id = `cg-busy-${process.pid}`;
      await prepareCellCgroup(host.cgroupMode, host.config.cgroupParent, id, 64 << 20);
      const dir = join('/sys/fs/cgroup', host.cgroupMode === 'v1' ? 'memory' : '', host.config.cgroupParent, id);
      const child = spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
      await new Promise((r) => child.once('spawn', r));
      await writeFile(join(dir, 'cgroup.procs'), String(child.pid));
      setTimeout(() => child.kill('SIGKILL'), 200);
      const t0 = Date.now();
      await removeCellCgroup(host.cgroupMode, host.config.cgroupParent, id);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(150); // it waited for the process to leave
      await expect(stat(dir)).rejects.toThrow(/ENOENT/);
    } finally {
      await host.cleanupDir();
    }
  });
});

describe('a warm cell waiting at its gate', () => {
  const host = useTestHost({ warmPoolSize: 2 });

  it('stops, unrun, when its cell folder is removed under it', async () => {
    // Removed by hand, or with its host's state: nothing would ever open the gate, and the supervisor
    // used to wait there forever, one check a second.
    const handle = await host.prepare(sh('echo ran'), `gate-gone-${Date.now()}`);
    expect(handle.runscId).toBeDefined();
    const supervisors = async () =>
      (await findHostProcesses(host.config, handle.sandboxId)).filter((p) => p.kind === 'supervisor');
    await until('its supervisor waits at the gate', supervisors, (found) => found.length > 0);
    await rm(handle.cellDir, { recursive: true, force: true });
    await until('its supervisor is gone', supervisors, (found) => found.length === 0, { ms: 10_000 });
    // Its warm sandbox, no longer in the pool and named by no cell record, is the reconciler's.
    const reconciler = createReconciler({ host, isCellRunning: async () => 'running', orphanGraceMs: 0 });
    await until(
      'the warm sandbox it had is gone',
      async () => (await reconciler.reconcile(), await leftovers(host)),
      (found) => found.length === 0,
    );
  });
});

describe("a warm sandbox's init", () => {
  const host = useTestHost({ warmPoolSize: 1 });

  it("is out of the cell's reach: root, signals refused, stdio /dev/null, no env of the cell, the hostname fixed", async () => {
    const doc = sh(
      [
        'grep -E "^Uid:" /proc/1/status',
        'for fd in 0 1 2; do readlink /proc/1/fd/$fd; done',
        'kill -9 1 2>&1; echo kill=$?',
        'hostname other 2>&1; echo hostname=$?',
        'tr "\\0" " " < /proc/1/environ; echo',
      ].join('\n'),
      { env: { GREETING: 'cell-env' } },
    );
    const exit = await runCell(host, doc);
    expect(exit.warmSandbox).toBeDefined();
    expect(exit.outcome).toEqual({ kind: 'exited', code: 0 });
    const lines = exit.stdout.tail.split('\n');
    expect(lines.slice(0, 4)).toEqual([
      expect.stringMatching(/^Uid:\s+0\s+0\s+0\s+0$/),
      '/dev/null',
      '/dev/null',
      '/dev/null',
    ]);
    expect(exit.stdout.tail).toMatch(/not permitted\nkill=1\n/);
    expect(exit.stdout.tail).toMatch(/not permitted\nhostname=1\n/);
    // gVisor lets any process read it: it holds the host's fixed PATH, nothing of a cell.
    expect(exit.stdout.tail).toContain('PATH=/bin:/usr/bin');
    expect(exit.stdout.tail).not.toContain('cell-env');
  });
});
