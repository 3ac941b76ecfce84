// `cellos doctor` as a user runs it (node bin/cellos.js), on this machine's runsc and cgroups, against
// the test run's Temporal dev server with a worker in this process (startTestBed) for the host the
// doctor checks; then with one setting broken at a time.
import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { CheckResult } from '../../src/doctor/result.ts';
import { hostTaskQueue } from '../../src/contract/names.ts';
import { defaultRootfs } from '../helpers/host.ts';
import { startTestBed, type TemporalTestBed } from '../helpers/temporal.ts';
import { until } from '../helpers/wait.ts';
import { buildDist, cli, hasStackTrace, type CliResult, type Env } from './cli-helpers.ts';

let bed: TemporalTestBed;
let env: Env;

beforeAll(async () => {
  await buildDist();
  bed = await startTestBed();
  // What `cellos worker` would read on the host of the bed's worker.
  env = {
    ...process.env,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_NAMESPACE: undefined,
    CELLOS_TASK_QUEUE: bed.taskQueue,
    CELLOS_HOST_ID: bed.host.config.hostId,
    CELLOS_STATE_DIR: bed.host.config.stateDir,
    CELLOS_DEFAULT_ROOTFS: defaultRootfs(),
    CELLOS_RUNSC: undefined,
    CELLOS_PLATFORM: undefined,
    CELLOS_DEBUG: undefined,
  };
});
afterAll(async () => {
  await bed?.close();
});

async function doctorJson(overrides: Env = {}): Promise<{ r: CliResult; checks: CheckResult[] }> {
  const r = await cli(['doctor', '--json'], { env: { ...env, ...overrides } });
  expect(hasStackTrace(r.stderr), r.stderr).toBe(false);
  return { r, checks: JSON.parse(r.stdout) as CheckResult[] };
}

const byName = (checks: readonly CheckResult[], name: string) => checks.find((c) => c.name === name);

/** What the doctor's probes could leave behind: probe cgroups, `runsc do` folders. */
async function doctorLeftovers(): Promise<string[]> {
  const found: string[] = [];
  for (const controller of await readdir('/sys/fs/cgroup').catch(() => [] as string[])) {
    const names = await readdir(join('/sys/fs/cgroup', controller)).catch(() => [] as string[]);
    found.push(...names.filter((n) => n.startsWith('cellos-doctor-')).map((n) => `cgroup ${controller}/${n}`));
  }
  found.push(...(await readdir(tmpdir())).filter((n) => n.startsWith('cellos-doctor-')));
  return found;
}

describe('cellos doctor', () => {
  it('finds every check ok on a host whose worker runs, and leaves nothing behind', async () => {
    // The server lists a poller once its first poll reaches the queue.
    const { r, checks } = await until(
      'the doctor to see the worker poll the host queue',
      () => doctorJson(),
      ({ checks }) => byName(checks, 'host queue')?.status === 'ok',
      { everyMs: 500 },
    );
    expect(
      checks.filter((c) => c.status !== 'ok'),
      r.stdout,
    ).toEqual([]);
    expect(r.code).toBe(0);
    expect(checks.map((c) => c.name)).toEqual([
      'config',
      'root',
      'runsc',
      'platform',
      'cgroups',
      'network',
      'default rootfs',
      'warm sandboxes',
      'state dir',
      'bundle dir',
      'image cache',
      'state hidden',
      'temporal',
      'search attributes',
      'host queue',
    ]);
    expect(byName(checks, 'host queue')?.detail).toContain(hostTaskQueue(bed.taskQueue, bed.host.config.hostId));
    expect(byName(checks, 'platform')?.detail).toMatch(/a sandbox booted and ran \/bin\/true in \d+ ms/);
    expect(await doctorLeftovers()).toEqual([]);

    const text = await cli(['doctor'], { env });
    expect(text.code).toBe(0);
    expect(text.stdout.trimEnd().split('\n').at(-1)).toBe(`cellos doctor: all ${checks.length} checks ok`);
    expect(text.stdout).toMatch(/^ok {4}config {13}host /);
  });

  it('exits 1 and names the fix when CELLOS_RUNSC points to no runsc', async () => {
    const missing = join(tmpdir(), `no-runsc-${process.pid}`, 'runsc');
    const { r, checks } = await doctorJson({ CELLOS_RUNSC: missing });
    expect(r.code).toBe(1);
    expect(byName(checks, 'runsc')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining(`${missing} does not run`),
      fix: "install Debian's package runsc, or set CELLOS_RUNSC to the path of a runsc binary",
    });
    expect(byName(checks, 'platform')?.status).toBe('skip');

    const text = await cli(['doctor'], { env: { ...env, CELLOS_RUNSC: missing } });
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^FAIL {2}runsc .*\n {2,}fix: install Debian's package runsc/m);
  });

  it('exits 1 and names the chmod when the state folder is writable by everyone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cellos-doctor-test-'));
    try {
      await chmod(dir, 0o777);
      const { r, checks } = await doctorJson({ CELLOS_STATE_DIR: dir });
      expect(r.code).toBe(1);
      expect(byName(checks, 'state dir')).toEqual({
        name: 'state dir',
        status: 'fail',
        detail: `${dir} is writable by its group and everyone (mode 0777): they could change what the worker runs`,
        fix: `chmod go-w ${dir} (the worker creates it with mode 700)`,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('exits 1 naming the setting when the environment holds a bad one', async () => {
    const { r, checks } = await doctorJson({ CELLOS_PLATFORM: 'qemu' });
    expect(r.code).toBe(1);
    expect(checks[0]).toMatchObject({
      name: 'config',
      status: 'fail',
      detail: expect.stringContaining('CELLOS_PLATFORM'),
    });
  });

  it('only warns, and exits 0, when no worker polls the host queue yet', async () => {
    const hostId = `nobody-${process.pid}`;
    const { r, checks } = await doctorJson({ CELLOS_HOST_ID: hostId });
    expect(r.code).toBe(0);
    expect(byName(checks, 'host queue')).toMatchObject({
      status: 'warn',
      detail: `no worker polls ${hostTaskQueue(bed.taskQueue, hostId)}, the queue of host ${hostId}`,
      fix: expect.stringContaining(`CELLOS_HOST_ID=${hostId}`),
    });
  });

  it('fails within seconds, naming the address, when the server accepts connections but never answers', async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = `127.0.0.1:${(silent.address() as { port: number }).port}`;
    try {
      const started = Date.now();
      const { r, checks } = await doctorJson({ TEMPORAL_ADDRESS: address });
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(r.code).toBe(1);
      expect(byName(checks, 'temporal')).toMatchObject({
        status: 'fail',
        detail: expect.stringContaining(`${address} accepts connections, but the Temporal client cannot connect`),
        fix: expect.stringContaining(address),
      });
      expect(checks.filter((c) => c.status === 'skip').map((c) => c.name)).toEqual(['search attributes', 'host queue']);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('fails naming the address when nothing listens at TEMPORAL_ADDRESS', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const address = `127.0.0.1:${(closed.address() as { port: number }).port}`;
    await new Promise((resolve) => closed.close(resolve));
    const { r, checks } = await doctorJson({ TEMPORAL_ADDRESS: address });
    expect(r.code).toBe(1);
    expect(byName(checks, 'temporal')).toMatchObject({
      status: 'fail',
      detail: `no Temporal server answers at ${address} (TEMPORAL_ADDRESS)`,
    });
  });
});
